"""The client-side rate limiter: both budgets kept, as tight as they allow, shared by sync and async.

Everything runs on a fake clock: no sleeping, no timing asserts.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import threading

import httpx
import pytest
import respx

from airflow_provider_altegio.core.config import ConnectionConfig
from airflow_provider_altegio.core.dialects import AltegioDialect
from airflow_provider_altegio.core.http import HttpCore
from airflow_provider_altegio.core.ratelimit import RateLimiter
from airflow_provider_altegio.core.retry import RetryPolicy
from airflow_provider_altegio.core.types import RequestSpec


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def reserve(limiter: RateLimiter) -> float:
    """Book a slot for a request that is over at once; the seconds to wait for it."""
    slot = limiter.acquire()
    slot.finish()
    return slot.delay


def max_in_window(times: list[float], span: float) -> int:
    """Most grants inside any half-open window ``[t, t + span)`` (every start position checked)."""
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + span - 1e-9) - i)
    return best


def greedy_bound(times: list[float], i: int, per_second: int, per_minute: int, arrival: float) -> float:
    """The earliest time grant ``i`` could have had, given the grants before it."""
    bound = arrival
    if i >= per_second:
        bound = max(bound, times[i - per_second] + 1.0)
    if i >= per_minute:
        bound = max(bound, times[i - per_minute] + 60.0)
    return bound


def test_thousand_reservations_keep_both_budgets_and_are_tight(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    times = [clock.now + reserve(limiter) for _ in range(1000)]

    per_1s = max_in_window(times, 1.0)
    per_60s = max_in_window(times, 60.0)
    assert per_1s == 5
    assert per_60s == 200
    # Tight: every grant is at the earliest instant both budgets allow (no slack left on the table).
    for i, granted in enumerate(times):
        assert granted == pytest.approx(greedy_bound(times, i, 5, 200, 0.0))
    # 200 per minute is the binding budget: 5 full minutes' worth, the last in minute 4 at second 39.
    assert times[199] == pytest.approx(39.0)
    assert times[200] == pytest.approx(60.0)
    assert times[-1] == pytest.approx(279.0)
    with capsys.disabled():
        print(
            f"\n[ratelimit] 1000 reservations at 5/s + 200/min: max in any 1 s window = {per_1s}, "
            f"max in any 60 s window = {per_60s}, first grant {times[0]:.1f} s, "
            f"last grant {times[-1]:.1f} s (lower bound {(1000 // 200 - 1) * 60 + 39:.1f} s)"
        )


def test_sequential_sleeping_caller_gets_the_same_tight_schedule() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    sent = []
    for _ in range(450):
        slot = limiter.acquire()
        clock.sleep(slot.delay)
        slot.finish()
        sent.append(clock.now)
    assert max_in_window(sent, 1.0) <= 5
    assert max_in_window(sent, 60.0) <= 200
    assert sent[-1] == pytest.approx(2 * 60 + 9)  # 450 = 2 x 200 + 50: 5 per second from minute 2


def test_random_arrivals_never_exceed_budgets_and_wait_no_longer_than_needed() -> None:
    rng = random.Random(7)
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    arrivals, times = [], []
    for _ in range(2000):
        clock.now += rng.expovariate(8.0)  # bursts and lulls, faster than 5/s on average
        arrivals.append(clock.now)
        times.append(clock.now + reserve(limiter))
    assert max_in_window(times, 1.0) <= 5
    assert max_in_window(times, 60.0) <= 200
    for i, granted in enumerate(times):
        assert granted == pytest.approx(greedy_bound(times, i, 5, 200, arrivals[i]))


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            delay = reserve(limiter)
            with lock:
                granted.append(delay)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 400
    assert max_in_window(granted, 1.0) == 5
    assert max_in_window(granted, 60.0) == 200
    assert max(granted) == pytest.approx(60 + 39)


def test_rates_zero_or_none_disable_a_budget_and_fractions_round_down() -> None:
    clock = FakeClock()
    assert [reserve(RateLimiter(None, None, clock=clock)) for _ in range(50)] == [0.0] * 50
    only_minute = RateLimiter(0, 3, clock=clock)
    assert [reserve(only_minute) for _ in range(4)] == [0.0, 0.0, 0.0, 60.0]
    half = RateLimiter(0.5, None, clock=clock)  # one request every two seconds
    assert [reserve(half) for _ in range(3)] == [0.0, 2.0, 4.0]
    two_and_half = RateLimiter(2.5, None, clock=clock)  # never over budget: 2 per second
    times = [reserve(two_and_half) for _ in range(6)]
    assert max_in_window(times, 1.0) == 2
    with pytest.raises(ValueError, match="requests_per_second"):
        RateLimiter(-1, None)
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(None, float("nan"))


def test_pause_holds_every_sharer_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    reserve(limiter)
    limiter.pause(3.0)
    assert reserve(limiter) == pytest.approx(3.0)
    clock.now = 10.0
    assert reserve(limiter) == 0.0


def test_shared_registry_by_key_and_tightening() -> None:
    RateLimiter.clear_shared()
    try:
        a = RateLimiter.shared("altegio|https://x|abc", 5, 200)
        assert RateLimiter.shared("altegio|https://x|abc", 5, 200) is a
        assert RateLimiter.shared("altegio|https://x|other", 5, 200) is not a
        for _ in range(3):
            reserve(a)
        same = RateLimiter.shared("altegio|https://x|abc", 2, None)
        assert same is a
        assert (a.per_second, a.per_minute) == (2, 200)  # the stricter of each
        # already granted reservations still count after tightening: no burst opens up
        assert reserve(a) > 0.9
        assert "abc" not in repr(a)
    finally:
        RateLimiter.clear_shared()


def _envelope(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": [], "meta": []})


def test_sync_and_async_requests_share_the_limiter() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 200, clock=clock)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    core = HttpCore(
        ConnectionConfig("https://api.example/api/v1"),
        AltegioDialect("partner-token-x"),
        limiter=limiter,
        retry=RetryPolicy(max_retries=0),
        sleep=waits.append,
        asleep=record,
    )

    async def async_part() -> None:
        for _ in range(6):
            await core.arequest(RequestSpec("GET", "/storages/1"))
        await core.aclose()

    with respx.mock() as mock:
        mock.get("https://api.example/api/v1/storages/1").mock(side_effect=_envelope)
        for _ in range(6):
            core.request(RequestSpec("GET", "/storages/1"))
        asyncio.run(async_part())
    core.close()
    # 12 requests, clock standing still: 5 free, then each later group of 5 one second on.
    assert sorted(waits) == [1.0] * 5 + [2.0] * 2


def test_in_flight_requests_count_as_now_and_are_logged_when_they_end() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, None, clock=clock)
    first = limiter.acquire()
    second = limiter.acquire()
    assert (first.delay, second.delay) == (0.0, 0.0)
    clock.now = 5.0  # both still in flight five seconds later: they may arrive any moment
    third = limiter.acquire()
    assert third.delay == pytest.approx(1.0)  # a full window after "now", not after the grants
    first.finish()
    second.finish()
    clock.now = 5.5
    # logged at 5.0 when they ended; the third holds 6.0 and grants go out in order, so the
    # next one is at 6.0 too (window (5.0, 6.0] then holds the third and it: two, the budget)
    assert limiter.acquire().delay == pytest.approx(0.5)


def test_a_slow_answer_pushes_the_next_window_back() -> None:
    """Sequential walk: request i + limit starts a full window after request i *ended*, so the
    server, which counts arrivals, never sees more than the budget whatever the latency."""
    clock = FakeClock()
    limiter = RateLimiter(3, None, clock=clock)
    ended = []
    for latency in (0.2, 0.0, 0.0, 0.0, 0.0, 0.0):
        slot = limiter.acquire()
        clock.sleep(slot.delay)
        clock.sleep(latency)
        slot.finish()
        ended.append(clock.now)
    starts = [end - lat for end, lat in zip(ended, (0.2, 0.0, 0.0, 0.0, 0.0, 0.0), strict=True)]
    assert starts[3] == pytest.approx(ended[0] + 1.0)
    assert starts[3] - starts[0] > 1.0


def test_finish_is_idempotent_and_forgotten_slots_expire() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, None, clock=clock)
    slot = limiter.acquire()
    slot.finish()
    clock.now = 0.5
    slot.finish()  # no effect: already logged at 0.0
    assert limiter.acquire().delay == pytest.approx(0.5)
    clock.now = 10_000.0  # the second slot was never finished; long after, it stops counting
    assert limiter.acquire().delay == 0.0


def test_a_grant_is_checked_again_against_requests_that_were_in_flight_when_it_was_made() -> None:
    """Regression (429s from the sandbox at equal limits, 8 threads on one hook): the sixth slot
    was booked while the first five were in flight and counted them as "now"; they reached the
    server 0.3 s later, so sending at the booked time made six in one server second."""
    clock = FakeClock()
    limiter = RateLimiter(5, None, clock=clock)
    first = [limiter.acquire() for _ in range(5)]
    sixth = limiter.acquire()
    assert sixth.delay == pytest.approx(1.0)
    clock.now = 0.3
    for slot in first:
        slot.finish()  # answered (so surely counted by the server) only now
    later = limiter.acquire()  # booked for 1.3: it must not make the limiter forget the five
    assert later.delay == pytest.approx(1.0)
    clock.now = 1.0
    assert sixth.confirm() == pytest.approx(0.3)  # a full second after the five ended
    clock.now = 1.3
    assert sixth.confirm() == 0.0


def test_confirm_is_free_when_nothing_changed_and_after_finish() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, None, clock=clock)
    slots = [limiter.acquire() for _ in range(3)]
    for slot in slots[:2]:
        slot.finish()
    clock.now = slots[2].delay
    assert slots[2].confirm() == 0.0
    slots[2].finish()
    assert slots[2].confirm() == 0.0
