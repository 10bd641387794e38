"""Client-side rate limiting: a per-second and a per-minute budget kept at the same time.

Altegio allows 5 requests a second and 200 a minute; :class:`RateLimiter` keeps a sliding-window
log of both, so no window, wherever a server puts its edges, sees more than the budget. It never
sleeps: callers wait the delay it hands out, sync or async.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import ClassVar

Clock = Callable[[], float]

#: An in-flight request older than this is taken to have ended at its grant time (a caller that
#: never called ``finish``, e.g. a killed thread, must not hold a slot for ever).
STALE_IN_FLIGHT = 600.0


class _Entry:
    """One request in the log: when it counts, and whether that time is final."""

    __slots__ = ("at", "done")

    def __init__(self, at: float) -> None:
        self.at = at
        self.done = False  # set by Reservation.finish

    def counted(self, now: float) -> float:
        """When the server may count this request, as far as is known ``now``: its logged time
        once it is over, else ``now`` (in flight: it may arrive any moment)."""
        if self.done or now - self.at > STALE_IN_FLIGHT:
            return self.at
        return max(self.at, now)


class _Window:
    """One budget: at most ``limit`` requests in any span of ``span`` seconds (a sliding-window log)."""

    __slots__ = ("limit", "log", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.log: list[_Entry] = []

    def earliest(self, at: float, now: float) -> float:
        """Earliest time at or after ``at`` at which one more request keeps the budget.

        Every logged request is at or before ``at`` (grants are handed out in order, and a
        request that finished did so before ``now``), so the only window to check is the one
        ending at the new request. In-flight requests count as happening ``now``.
        """
        if len(self.log) < self.limit:
            return at
        horizon = at - self.span
        # Finished requests that left the window ending ``now`` can never matter again. (Not the
        # one ending at ``at``: an earlier grant not sent yet still checks against them.)
        self.log = [e for e in self.log if not e.done or e.at > now - self.span]
        recent = [t for t in (e.counted(now) for e in self.log) if t > horizon]
        if len(recent) < self.limit:
            return at
        # The request ``limit`` places back must have left the window: t >= its time + span.
        return max(at, heapq.nlargest(self.limit, recent)[-1] + self.span)

    def due(self, entry: _Entry, at: float) -> float:
        """Earliest time at or after ``at`` at which ``entry``, booked earlier, may really be sent.

        Checked when its grant time ``at`` has come, against every other request granted by
        then (those may have reached the server). The ones still in flight count as happening at
        ``at``: the server may not have counted them yet, however early they were granted.
        Requests granted later are not sent yet; they check against this one when their turn comes.
        """
        horizon = at - self.span
        recent = [e.counted(at) for e in self.log if e is not entry and e.at <= at]
        recent = [t for t in recent if t > horizon]
        if len(recent) < self.limit:
            return at
        return max(at, heapq.nlargest(self.limit, recent)[-1] + self.span)


def _window(rate: float | None, span: float, name: str) -> _Window | None:
    """Turn "``rate`` per ``span`` seconds" into a window; ``None`` or 0 means no limit.

    A fractional rate is rounded down to a whole number of requests per span (never over the
    budget); a rate below one becomes one request per ``span / rate`` seconds.
    """
    if rate is None or rate == 0:
        return None
    if rate < 0 or math.isnan(rate) or math.isinf(rate):
        raise ValueError(f"{name}: must be a positive number, 0 or None (got {rate!r})")
    if rate < 1:
        return _Window(1, span / rate)
    return _Window(math.floor(rate), span)


class Reservation:
    """A slot booked with :meth:`RateLimiter.acquire`.

    :ivar delay: seconds to wait before sending.
    """

    __slots__ = ("_entry", "_limiter", "delay")

    def __init__(self, limiter: RateLimiter, entry: _Entry, delay: float) -> None:
        self._limiter = limiter
        self._entry = entry
        self.delay = delay

    def confirm(self) -> float:
        """Call when :attr:`delay` has passed, just before sending: the seconds still to wait
        (0: send now).

        The booking counted requests then in flight as happening at booking time, but one of them
        may reach the server later than that; checked again now, each one still in flight counts
        as happening now, and the slot moves later if that fills a window.
        """
        return self._limiter._confirm(self._entry)

    def finish(self) -> None:
        """The request is over (answered or failed): log it at this moment. Idempotent."""
        self._limiter._finish(self._entry)


class RateLimiter:
    """Keeps a per-second and a per-minute request budget for everyone who shares it.

    :param per_second: requests allowed in any one-second window (``None`` or 0: unlimited).
    :param per_minute: requests allowed in any sixty-second window (``None`` or 0: unlimited).
    :param clock: monotonic clock in seconds; tests inject a fake one.
    :raises ValueError: for a negative, NaN or infinite rate.
    """

    _registry: ClassVar[dict[str, RateLimiter]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        per_second: float | None = 5,
        per_minute: float | None = 200,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before = -math.inf
        self._last = -math.inf
        self._per_second = per_second
        self._per_minute = per_minute
        self._windows = self._make_windows(per_second, per_minute)

    @staticmethod
    def _make_windows(per_second: float | None, per_minute: float | None) -> list[_Window]:
        windows = (
            _window(per_second, 1.0, "requests_per_second"),
            _window(per_minute, 60.0, "requests_per_minute"),
        )
        return [w for w in windows if w is not None]

    @property
    def per_second(self) -> float | None:
        """The per-second budget (``None``: unlimited)."""
        return self._per_second

    @property
    def per_minute(self) -> float | None:
        """The per-minute budget (``None``: unlimited)."""
        return self._per_minute

    def __repr__(self) -> str:
        return f"RateLimiter(per_second={self._per_second!r}, per_minute={self._per_minute!r})"

    def acquire(self) -> Reservation:
        """Book the earliest send time every budget allows; the caller waits
        :attr:`Reservation.delay`, then sends, then calls :meth:`Reservation.finish`.

        A server counts a request when it arrives, some unknown time after its grant. So until
        ``finish`` the request counts as happening "now", and is then logged at that moment, by
        which time it has surely arrived: the next request a window later can never land in the
        same server window.
        """
        with self._lock:
            now = self._clock()
            # Grants are handed out in order (never before an earlier grant), so every logged
            # request is at or before the new one and only the window ending at it needs checking.
            at = max(now, self._not_before, self._last)
            # Each window's earliest time only grows with ``at``, so one pass per window settles
            # it; a second pass is needed only if a later window pushed ``at`` past an earlier one.
            while True:
                later = max([at, *(w.earliest(at, now) for w in self._windows)])
                if later == at:
                    break
                at = later
            entry = _Entry(at)
            for window in self._windows:
                window.log.append(entry)
            self._last = at
            return Reservation(self, entry, max(0.0, at - now))

    def _confirm(self, entry: _Entry) -> float:
        with self._lock:
            now = self._clock()
            if entry.done:
                return 0.0
            # The check is for the granted moment even if the caller woke early (a fake sleep).
            check = max(now, entry.at)
            at = max(check, self._not_before)
            for window in self._windows:
                at = max(at, window.due(entry, check))
            if at <= check:
                return 0.0
            entry.at = at
            self._last = max(self._last, at)  # later bookings still come after this one
            return at - now

    def _finish(self, entry: _Entry) -> None:
        with self._lock:
            if not entry.done:
                entry.at = max(entry.at, self._clock())
                entry.done = True

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (the server said ``Retry-After``).

        Everyone sharing the limiter backs off, not only the request that saw the 429.
        """
        if seconds > 0:
            with self._lock:
                self._not_before = max(self._not_before, self._clock() + seconds)

    @classmethod
    def shared(cls, key: str, per_second: float | None, per_minute: float | None) -> RateLimiter:
        """Return the process-wide limiter for ``key``, creating it on first use.

        ``key`` names one budget: the API, its base URL and a *hash* of the credentials (never a
        token itself). When callers ask for different budgets under one key, the limiter keeps
        the stricter of each, since both callers' limits must hold.
        """
        with cls._registry_lock:
            limiter = cls._registry.get(key)
            if limiter is None:
                limiter = cls._registry[key] = cls(per_second, per_minute)
            else:
                limiter._tighten(per_second, per_minute)
            return limiter

    @classmethod
    def clear_shared(cls) -> None:
        """Forget every shared limiter (tests use this to start from an empty budget)."""
        with cls._registry_lock:
            cls._registry.clear()

    def _tighten(self, per_second: float | None, per_minute: float | None) -> None:
        new_second = _stricter(self._per_second, per_second)
        new_minute = _stricter(self._per_minute, per_minute)
        if (new_second, new_minute) == (self._per_second, self._per_minute):
            return
        with self._lock:
            old = self._windows
            self._per_second, self._per_minute = new_second, new_minute
            self._windows = self._make_windows(new_second, new_minute)
            # Keep what was already granted so tightening never opens a burst.
            entries = list({id(e): e for w in old for e in w.log}.values())
            for window in self._windows:
                window.log.extend(entries)


def _stricter(a: float | None, b: float | None) -> float | None:
    """The tighter of two rates, where ``None`` and 0 mean unlimited."""
    if not a:
        return b or None
    if not b:
        return a
    return min(a, b)
