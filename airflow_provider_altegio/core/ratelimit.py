"""Client-side rate limiting: one account's budget (5 requests a second, 200 a minute), shared.

:class:`RateLimiter` keeps a sliding-window log, so no server window sees more than the budget,
and hands out delays (it never sleeps). Tasks, the triggerer and workers share the log through a
:class:`BudgetStore`: a file under an OS lock (the default), Redis across machines, or memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import heapq
import itertools
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    import redis

R = TypeVar("R")
Clock = Callable[[], float]

#: An in-flight request older than this ended at its grant time (its process was killed, say).
STALE_IN_FLIGHT = 120.0
#: The longest window; finished requests older than this can never matter again.
_LONGEST_SPAN = 60.0
#: Log entries further ahead than this come from a clock that went back (a reboot): dropped.
_FUTURE_LIMIT = 3600.0


@dataclass
class _Entry:
    """One request in the log: its id, when it counts, and whether that time is final."""

    id: str
    at: float
    done: bool = False

    def over(self, now: float) -> bool:
        """Whether its time is final: it finished, or it went stale in flight."""
        return self.done or now - self.at > STALE_IN_FLIGHT

    def counted(self, now: float) -> float:
        """When the server may count this request: its logged time once it is over, else ``now``."""
        return self.at if self.over(now) else max(self.at, now)


@dataclass
class Ledger:
    """The shared state of one budget: the request log, the pause, the latest grant."""

    entries: list[_Entry] = field(default_factory=list)
    not_before: float = -math.inf
    last: float = -math.inf

    def prune(self, now: float) -> None:
        """Forget what can no longer matter, and what a clock that went back left behind."""
        horizon, future = now - _LONGEST_SPAN, now + _FUTURE_LIMIT
        self.entries = [e for e in self.entries if e.at <= future and (e.at > horizon or not e.over(now))]
        if self.not_before > future:
            self.not_before = -math.inf
        if self.last > future:
            self.last = -math.inf

    def find(self, entry_id: str) -> _Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def dumps(self) -> str:
        return json.dumps(
            {
                "entries": [[e.id, e.at, e.done] for e in self.entries],
                "not_before": self.not_before if math.isfinite(self.not_before) else None,
                "last": self.last if math.isfinite(self.last) else None,
            }
        )

    @classmethod
    def loads(cls, text: str | bytes | None) -> Ledger:
        """The ledger in ``text``; an empty or damaged one (a write cut short) reads as empty."""
        try:
            raw = json.loads(text or "{}")
            entries = [_Entry(str(i), float(at), bool(done)) for i, at, done in raw.get("entries", [])]
            not_before, last = raw.get("not_before"), raw.get("last")
        except (ValueError, TypeError, AttributeError):
            return cls()
        return cls(
            entries,
            -math.inf if not_before is None else float(not_before),
            -math.inf if last is None else float(last),
        )


def _digest(key: str) -> str:
    """What names a budget's file or Redis key: the key's hash, never the key itself."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class BudgetStore(Protocol):
    """Where a budget's :class:`Ledger` lives; every sharer of the budget uses the same store."""

    def transact(self, change: Callable[[Ledger, float], R]) -> R:
        """Run ``change(ledger, now)`` alone and keep its changes; ``now`` is the store's clock."""


class MemoryStore:
    """The budget of this process only (threads and the event loop share it)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ledger = Ledger()

    def __repr__(self) -> str:
        return "MemoryStore()"

    def transact(self, change: Callable[[Ledger, float], R]) -> R:
        with self._lock:
            now = self._clock()
            self._ledger.prune(now)
            return change(self._ledger, now)


class FileStore:
    """A budget shared by every process on this machine: a small JSON file under ``flock``,
    replaced atomically, so a process killed at any moment leaves a usable budget.

    :param directory: created if missing (mode 0700).
    :param key: names the budget; only its hash appears in the file name.
    """

    def __init__(self, directory: str | os.PathLike[str], key: str, clock: Clock = time.time) -> None:
        self.directory = Path(directory)
        name = _digest(key)
        self._data = self.directory / f"{name}.json"
        self._lock_path = self.directory / f"{name}.lock"
        self._clock = clock

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"

    def transact(self, change: Callable[[Ledger, float], R]) -> R:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            ledger = Ledger.loads(self._data.read_bytes() if self._data.exists() else None)
            now = self._clock()
            ledger.prune(now)
            result = change(ledger, now)
            scratch = self._data.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(ledger.dumps())
            os.replace(scratch, self._data)
            return result
        finally:
            os.close(fd)  # closing drops the lock


class RedisStore:
    """A budget shared across machines through Redis: optimistic transactions (no lock a killed
    process could leave), the Redis server's clock; the ledger expires two minutes after use.

    :param url: ``redis://``, ``rediss://`` or ``unix://``; its password is a secret.
    :raises ImportError: the ``redis`` package is not installed (extra ``redis``).
    """

    _clients: ClassVar[dict[str, redis.Redis]] = {}
    _clients_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, key: str) -> None:
        import redis as redis_lib

        with self._clients_lock:
            client = self._clients.get(url)
            if client is None:
                client = self._clients[url] = redis_lib.Redis.from_url(url, socket_timeout=5)
        self._client = client
        self._key = f"airflow-provider-altegio:budget:{_digest(key)}"
        host = client.connection_pool.connection_kwargs.get("host", "unix socket")
        self._where = f"redis at {host}"

    def __repr__(self) -> str:
        return f"RedisStore({self._where!r})"

    def transact(self, change: Callable[[Ledger, float], R]) -> R:
        results: list[R] = []

        def attempt(pipe: redis.client.Pipeline) -> None:
            # Watching: reads run at once; a change by another sharer before EXEC starts over.
            raw = pipe.get(self._key)
            seconds, micros = pipe.time()
            now = seconds + micros / 1e6
            ledger = Ledger.loads(raw)
            ledger.prune(now)
            results[:] = [change(ledger, now)]
            pipe.multi()
            pipe.set(self._key, ledger.dumps(), px=int(2 * _LONGEST_SPAN * 1000))

        self._client.transaction(attempt, self._key)
        return results[0]


def default_budget_directory() -> Path:
    """Where file budgets live by default: one directory per OS user."""
    return Path(tempfile.gettempdir()) / f"airflow-provider-altegio-{os.getuid()}"


def open_store(where: str | None, key: str) -> BudgetStore:
    """The store a connection's ``rate_limit_store`` extra names: empty (a file in
    :func:`default_budget_directory`), ``memory``, a ``redis://``, ``rediss://`` or ``unix://``
    URL, or a directory path."""
    text = (where or "").strip()
    if not text:
        return FileStore(default_budget_directory(), key)
    if text.lower() == "memory":
        return MemoryStore()
    if text.lower().startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(text, key)
    return FileStore(Path(text).expanduser(), key)


@dataclass(frozen=True)
class _Window:
    """One budget: at most ``limit`` requests in any span of ``span`` seconds."""

    limit: int
    span: float

    def earliest(self, times: list[float], at: float) -> float:
        """Earliest time from ``at`` on when one more request keeps the budget, given ``times``."""
        recent = [t for t in times if t > at - self.span]
        if len(recent) < self.limit:
            return at
        # The request ``limit`` places back must have left the window: t >= its time + span.
        return max(at, heapq.nlargest(self.limit, recent)[-1] + self.span)


def _window(rate: float | None, span: float, name: str) -> _Window | None:
    """Turn "``rate`` per ``span`` seconds" into a window (``None`` or 0: no limit); a fraction
    rounds down, a rate below one becomes one request per ``span / rate`` seconds."""
    if rate is None or rate == 0:
        return None
    if rate < 0 or math.isnan(rate) or math.isinf(rate):
        raise ValueError(f"{name}: must be a positive number, 0 or None (got {rate!r})")
    if rate < 1:
        return _Window(1, span / rate)
    return _Window(math.floor(rate), span)


@dataclass(slots=True)
class Reservation:
    """A slot booked with :meth:`RateLimiter.acquire`.

    :ivar at: the moment granted, on the store's clock.
    :ivar delay: seconds to wait before sending.
    """

    _limiter: RateLimiter = field(repr=False)
    _id: str
    at: float
    delay: float

    def confirm(self) -> float:
        """Call when :attr:`delay` has passed, just before sending: the seconds still to wait
        (0: send now), since a request in flight at booking may have reached the server since."""
        return self._limiter._confirm(self._id)

    def finish(self) -> None:
        """The request is over (answered or failed): log it at this moment. Idempotent."""
        self._limiter._finish(self._id)


class RateLimiter:
    """Keeps a per-second and a per-minute request budget for everyone who shares its store.

    :param per_second: requests allowed in any one-second window (``None`` or 0: unlimited).
    :param per_minute: requests allowed in any sixty-second window (``None`` or 0: unlimited).
    :param store: where the budget's log lives (default: this process's memory).
    :param clock: the clock of the default memory store; tests inject a fake one.
    :raises ValueError: for a negative, NaN or infinite rate.
    """

    _registry: ClassVar[dict[str, RateLimiter]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        per_second: float | None = 5,
        per_minute: float | None = 200,
        *,
        store: BudgetStore | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.store: BudgetStore = store if store is not None else MemoryStore(clock)
        self._set_limits(per_second, per_minute)
        self._id_prefix = f"{os.getpid()}.{os.urandom(4).hex()}"
        self._id_numbers = itertools.count()  # next() on it is atomic: no lock needed

    def _set_limits(self, per_second: float | None, per_minute: float | None) -> None:
        windows = (
            _window(per_second, 1.0, "requests_per_second"),
            _window(per_minute, 60.0, "requests_per_minute"),
        )
        self._windows = [w for w in windows if w is not None]
        self._per_second, self._per_minute = per_second, per_minute

    @property
    def per_second(self) -> float | None:
        """The per-second budget (``None``: unlimited)."""
        return self._per_second

    @property
    def per_minute(self) -> float | None:
        """The per-minute budget (``None``: unlimited)."""
        return self._per_minute

    def __repr__(self) -> str:
        return (
            f"RateLimiter(per_second={self._per_second!r}, per_minute={self._per_minute!r}, "
            f"store={self.store!r})"
        )

    def acquire(self) -> Reservation:
        """Book the earliest send time every budget allows; the caller waits
        :attr:`Reservation.delay`, sends, then calls :meth:`Reservation.finish`.

        A server counts a request when it arrives, so until ``finish`` the request counts as
        happening "now", and is then logged at that moment, by which time it has surely arrived.
        """
        entry_id = f"{self._id_prefix}.{next(self._id_numbers)}"

        def book(ledger: Ledger, now: float) -> tuple[float, float]:
            # Grants are handed out in order (never before an earlier grant).
            at = max(now, ledger.not_before, ledger.last)
            times = [e.counted(now) for e in ledger.entries]
            # Each window's earliest time only grows with ``at``; repeat until all agree.
            while (later := max([at, *(w.earliest(times, at) for w in self._windows)])) != at:
                at = later
            ledger.entries.append(_Entry(entry_id, at))
            ledger.last = at
            return at, max(0.0, at - now)

        return Reservation(self, entry_id, *self.store.transact(book))

    def _confirm(self, entry_id: str) -> float:
        def check(ledger: Ledger, now: float) -> float:
            entry = ledger.find(entry_id)
            if entry is None or entry.done:
                return 0.0
            # The check is for the granted moment even if the caller woke early (a fake sleep).
            moment = max(now, entry.at)
            # Requests granted later are not sent yet: they check against this one in turn.
            times = [e.counted(moment) for e in ledger.entries if e is not entry and e.at <= moment]
            at = max([moment, ledger.not_before, *(w.earliest(times, moment) for w in self._windows)])
            if at <= moment:
                return 0.0
            entry.at = at
            ledger.last = max(ledger.last, at)  # later bookings still come after this one
            return at - now

        return self.store.transact(check)

    def _finish(self, entry_id: str) -> None:
        def log(ledger: Ledger, now: float) -> None:
            entry = ledger.find(entry_id)
            if entry is not None and not entry.done:
                entry.at = max(entry.at, now)
                entry.done = True

        self.store.transact(log)

    def pause(self, seconds: float) -> None:
        """Grant nothing to any sharer for ``seconds`` from now (the server said ``Retry-After``)."""
        if seconds > 0:

            def hold(ledger: Ledger, now: float) -> None:
                ledger.not_before = max(ledger.not_before, now + seconds)

            self.store.transact(hold)

    @classmethod
    def shared(
        cls, key: str, per_second: float | None, per_minute: float | None, where: str | None = "memory"
    ) -> RateLimiter:
        """This process's limiter for ``key`` (the API, its base URL and a *hash* of the
        credentials), created on first use in the store ``where`` names (see :func:`open_store`).
        Asked for different budgets under one key, it keeps the stricter of each."""
        registry_key = f"{key}|{where or ''}"
        with cls._registry_lock:
            limiter = cls._registry.get(registry_key)
            if limiter is None:
                store = open_store(where, key)
                limiter = cls._registry[registry_key] = cls(per_second, per_minute, store=store)
            else:
                limiter._tighten(per_second, per_minute)
            return limiter

    @classmethod
    def clear_shared(cls) -> None:
        """Forget every shared limiter (tests use this to start from an empty budget)."""
        with cls._registry_lock:
            cls._registry.clear()

    def _tighten(self, per_second: float | None, per_minute: float | None) -> None:
        # The log is kept apart from the limits, so tightening never opens a burst.
        self._set_limits(_stricter(self._per_second, per_second), _stricter(self._per_minute, per_minute))


def _stricter(a: float | None, b: float | None) -> float | None:
    """The tighter of two rates, where ``None`` and 0 mean unlimited."""
    limits = [rate for rate in (a, b) if rate]
    return min(limits) if limits else None
