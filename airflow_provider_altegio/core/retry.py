"""When to retry a request and how long to wait first: the server's ``Retry-After`` when it gave
one, else exponential backoff with full jitter. Whether a request may be re-sent at all
(idempotency) is the HTTP core's decision.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

#: Statuses that mean "not now", worth retrying after a pause.
RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and backoff schedule.

    :param max_retries: retries after a failure (5xx, network); 0: try once.
    :param backoff_base: the first backoff ceiling in seconds; it doubles each retry up to ``backoff_max``.
    :param rate_limit_wait: seconds one request may spend waiting out 429 answers; also the
        longest ``Retry-After`` honoured (asked for more, the request fails with the answer).
    :param random: uniform [0, 1) source for jitter (tests inject a fixed one).
    :param wall_clock: epoch seconds, to turn an HTTP-date ``Retry-After`` into a delay.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_wait: float = 600.0
    statuses: frozenset[int] = RETRY_STATUSES
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    wall_clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries: must be 0 or more (got {self.max_retries})")

    def retryable_status(self, status_code: int) -> bool:
        """Whether a response with this status is worth another attempt."""
        return status_code in self.statuses

    def backoff(self, retry: int) -> float:
        """Full-jitter backoff before retry number ``retry`` (0-based): uniform in [0, ceiling]."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** min(retry, 62)))
        return self.random() * ceiling

    def delay(self, retry: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before retry number ``retry``: the ``Retry-After`` header if any, else
        :meth:`backoff`; ``None`` when the server asks for longer than ``rate_limit_wait``."""
        if response is not None:
            asked = self.retry_after(response.headers.get("Retry-After"))
            if asked is not None:
                return asked if asked <= self.rate_limit_wait else None
        return self.backoff(retry)

    def retry_after(self, value: str | None) -> float | None:
        """Parse a ``Retry-After`` value: delta-seconds or an HTTP-date; ``None`` if absent or bad."""
        value = (value or "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:  # RFC 9110 dates are GMT; obsolete forms may lack the zone
                return None
            seconds = when.timestamp() - self.wall_clock()
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)
