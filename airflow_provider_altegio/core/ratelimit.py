"""Client-side rate limiting: a per-second and a per-minute budget kept at the same time.

Altegio documents "200 requests per minute, or 5 requests per second"; a client that keeps only
one of the two still gets 429s. :class:`RateLimiter` keeps a sliding-window log of the send times
it has granted, so no window of one second (or one minute), wherever a server puts its edges,
ever sees more than the budget.

The limiter never sleeps itself. :meth:`RateLimiter.reserve` books the earliest permitted send
time and returns how long the caller must wait for it; the sync caller sleeps with ``time.sleep``
and the async caller with ``asyncio.sleep``. Because a reservation is just bookkeeping under a
lock, one limiter safely serves threads and event loops at once, which is what lets every hook and
trigger on the same credentials share one budget (see :meth:`RateLimiter.shared`).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

Clock = Callable[[], float]


class _Window:
    """One budget: at most ``limit`` grants in any span of ``span`` seconds (a sliding-window log)."""

    __slots__ = ("limit", "log", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.log: deque[float] = deque()

    def earliest(self, now: float) -> float:
        """Earliest time at or after ``now`` at which one more grant keeps the budget."""
        while self.log and self.log[0] <= now - self.span:
            self.log.popleft()  # too old to matter for any window that contains ``now`` or later
        if len(self.log) < self.limit:
            return now
        # The grant ``limit`` places back must have left the window: t >= log[-limit] + span.
        return max(now, self.log[-self.limit] + self.span)

    def record(self, at: float) -> None:
        self.log.append(at)
        while len(self.log) > self.limit:
            self.log.popleft()  # only the last ``limit`` grants ever constrain the next one


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

    def reserve(self) -> float:
        """Book the earliest send time every budget allows; return the seconds to wait for it.

        The booking counts against the budget at once, so concurrent callers (threads or
        coroutines) get successive slots. Never sleeps.
        """
        with self._lock:
            now = self._clock()
            # Grants are handed out in order (never before an earlier grant): that keeps each
            # window's log sorted, which is what makes ``log[-limit] + span`` the exact bound.
            at = max(now, self._not_before, self._last)
            # Each window's earliest time only grows with ``at``, so one pass per window settles
            # it; a second pass is needed only if a later window pushed ``at`` past an earlier one.
            while True:
                later = max([at, *(w.earliest(at) for w in self._windows)])
                if later == at:
                    break
                at = later
            for window in self._windows:
                window.record(at)
            self._last = at
            return max(0.0, at - now)

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (the server said ``Retry-After``).

        Everyone sharing the limiter backs off, not only the request that saw the 429.
        """
        if seconds > 0:
            with self._lock:
                self._not_before = max(self._not_before, self._clock() + seconds)

    def wait(self, sleep: Callable[[float], object] = time.sleep) -> float:
        """Reserve a slot and block the thread until it comes; return the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            sleep(delay)
        return delay

    async def wait_async(self) -> float:
        """Reserve a slot and suspend the coroutine until it comes; return the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        return delay

    await_ = wait_async

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
            granted = sorted({t for w in old for t in w.log})
            for window in self._windows:
                window.log.extend(granted[-window.limit :])


def _stricter(a: float | None, b: float | None) -> float | None:
    """The tighter of two rates, where ``None`` and 0 mean unlimited."""
    if not a:
        return b or None
    if not b:
        return a
    return min(a, b)
