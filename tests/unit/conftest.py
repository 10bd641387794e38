"""Fixtures every unit test module gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import SleepRecorder

from airflow_provider_altegio.core.ratelimit import RateLimiter


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Each test starts (and leaves) with no shared rate limiter: budgets are process-wide."""
    RateLimiter.clear_shared()
    yield
    RateLimiter.clear_shared()


@pytest.fixture
def sleeps() -> SleepRecorder:
    """Records the sleeps of the cores it is given to (see ``core_options``); never sleeps."""
    return SleepRecorder()
