"""The server-side rate limit: a sliding window per token, per second and per minute.

A request is refused (429) when the token already made ``rps`` requests in the last second or
``rpm`` in the last minute; refused requests do not count. The answer says how long until the
oldest request in the full window leaves it (``Retry-After``, whole seconds, at least 1).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable


class SlidingWindowLimiter:
    """Per-key sliding-window log of request times.

    :param clock: monotonic seconds; injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def reset(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._hits.clear()
            self.refused = 0

    def acquire(self, key: str, per_second: float, per_minute: float) -> float | None:
        """Record a request for ``key`` if allowed and return None, else the seconds to wait.

        A limit of 0 disables that window.
        """
        if not per_second and not per_minute:
            return None
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, [])
            stale = bisect.bisect_right(hits, now - 60.0)
            if stale:
                del hits[:stale]
            wait = 0.0
            for limit, window in ((per_second, 1.0), (per_minute, 60.0)):
                if not limit:
                    continue
                allowed = max(int(limit), 1)
                in_window = len(hits) - bisect.bisect_right(hits, now - window)
                if in_window >= allowed:
                    wait = max(wait, hits[len(hits) - allowed] + window - now)
            if wait > 0:
                self.refused += 1
                return wait
            hits.append(now)
            return None


def retry_after_header(wait: float) -> str:
    """``Retry-After`` value for a wait in seconds (HTTP allows whole seconds only)."""
    return str(max(1, math.ceil(wait)))
