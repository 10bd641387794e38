"""One account's budget shared by separate processes: a file under an OS lock, or Redis.

The processes are real (``multiprocessing``, spawned as Airflow's task runner would fork its
own); the grant times are read back from the shared ledger, so nothing depends on timing.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import redis_server, require_redis_server

from airflow_provider_altegio.core.ratelimit import (
    FileStore,
    Ledger,
    MemoryStore,
    RateLimiter,
    RedisStore,
    default_budget_directory,
    open_store,
)

KEY = "altegio|https://api.example/api/v1|0123456789abcdef"
PROCESSES = 4
EACH = 30
PER_SECOND = 20


def _book(where: str, count: int, start: float, granted: Any) -> None:
    """A worker process: wait for the common start, book ``count`` slots, each over at once;
    report the moments granted (on the store's clock)."""
    limiter = RateLimiter(PER_SECOND, None, store=open_store(where, KEY))
    time.sleep(max(0.0, start - time.time()))
    for _ in range(count):
        slot = limiter.acquire()
        slot.finish()
        granted.put(slot.at)


def _run_processes(where: str) -> list[float]:
    """The moments granted to ``PROCESSES`` processes booking ``EACH`` slots each at once."""
    context = multiprocessing.get_context("spawn")
    granted = context.Queue()
    start = time.time() + 5.0  # every process is up (even on a loaded machine) before the first booking
    workers = [context.Process(target=_book, args=(where, EACH, start, granted)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    times = [granted.get(timeout=60) for _ in range(PROCESSES * EACH)]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return times


def _max_in_window(times: list[float], span: float) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, t + span - 1e-6) - i for i, t in enumerate(times))


def _assert_one_tight_budget(times: list[float]) -> None:
    assert len(times) == PROCESSES * EACH
    ordered = sorted(times)
    crowded = [(i, ordered[i] - ordered[i - PER_SECOND]) for i in range(PER_SECOND, len(ordered))]
    assert _max_in_window(times, 1.0) == PER_SECOND, [c for c in crowded if c[1] < 1.0][:5]
    # Tight as well as safe: every later grant comes one window after the one a full budget
    # before it (all were booked early, before their grant times); the slack only covers a
    # process that a loaded machine woke late for its first booking.
    times = sorted(times)
    for i in range(PER_SECOND, len(times)):
        assert times[i] >= times[i - PER_SECOND] + 1.0 - 1e-6
        assert times[i] <= times[i - PER_SECOND] + 1.25


def test_processes_on_one_machine_share_one_budget_through_a_file(tmp_path: Path) -> None:
    times = _run_processes(str(tmp_path))
    ledger_files = list(tmp_path.glob("*.json"))
    assert len(ledger_files) == 1
    assert "0123456789abcdef" not in ledger_files[0].name  # the key is hashed, credentials or not
    assert len(Ledger.loads(ledger_files[0].read_bytes()).entries) == PROCESSES * EACH  # one log
    _assert_one_tight_budget(times)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server(require_redis_server()) as url:
        yield url


def test_processes_share_one_budget_through_redis(redis_url: str) -> None:
    times = _run_processes(redis_url)
    logged: list[float] = []
    RedisStore(redis_url, KEY).transact(lambda ledger, now: logged.extend(e.at for e in ledger.entries))
    assert len(logged) == PROCESSES * EACH  # one log for every process
    _assert_one_tight_budget(times)


def test_redis_password_stays_out_of_repr(redis_url: str) -> None:
    with redis_server(require_redis_server(), password="redis-secret-password") as url:
        store = open_store(url, KEY)
        assert isinstance(store, RedisStore)
        assert store.transact(lambda ledger, now: len(ledger.entries)) == 0
        limiter = RateLimiter(5, 200, store=store)
        assert "redis-secret-password" not in repr(limiter)
        assert "127.0.0.1" in repr(limiter)


def _hold_the_lock(directory: str) -> None:
    store = FileStore(directory, KEY)
    store.transact(lambda ledger, now: time.sleep(3600))


def test_a_process_killed_while_holding_the_lock_does_not_block_the_others(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    holder = context.Process(target=_hold_the_lock, args=(str(tmp_path),))
    holder.start()
    lock = next(iter(tmp_path.glob("*.lock")), None)
    deadline = time.monotonic() + 30
    while lock is None and time.monotonic() < deadline:
        time.sleep(0.05)
        lock = next(iter(tmp_path.glob("*.lock")), None)
    time.sleep(0.5)  # the holder is inside its transaction, sleeping with the lock
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    limiter = RateLimiter(5, 200, store=FileStore(tmp_path, KEY))
    assert limiter.acquire().delay == 0.0  # the kernel dropped the dead process's lock


def test_a_damaged_ledger_reads_as_empty(tmp_path: Path) -> None:
    store = FileStore(tmp_path, KEY)
    RateLimiter(5, 200, store=store).acquire().finish()
    (ledger,) = tmp_path.glob("*.json")
    ledger.write_text('{"entries": [["a", 1.0')  # a write cut short by a crash
    assert store.transact(lambda ledger, now: len(ledger.entries)) == 0


def test_entries_from_a_clock_that_went_back_are_dropped() -> None:
    clock = [100_000.0]
    store = MemoryStore(lambda: clock[0])
    limiter = RateLimiter(1, None, store=store)
    limiter.acquire().finish()
    limiter.pause(30)
    clock[0] = 0.0  # a reboot: the monotonic clock starts again
    assert limiter.acquire().delay == 0.0


def test_open_store_reads_the_connection_setting(tmp_path: Path) -> None:
    assert isinstance(open_store("memory", KEY), MemoryStore)
    default = open_store(None, KEY)
    assert isinstance(default, FileStore)
    assert default.directory == default_budget_directory()
    assert str(os.getuid()) in default.directory.name  # one directory per OS user
    chosen = open_store(f" {tmp_path} ", KEY)
    assert isinstance(chosen, FileStore)
    assert chosen.directory == tmp_path


def test_a_forgotten_slot_of_a_killed_process_stops_counting() -> None:
    clock = [0.0]
    limiter = RateLimiter(1, None, store=MemoryStore(lambda: clock[0]))
    limiter.acquire()  # never finished: its process died mid-request
    clock[0] = 0.5
    assert limiter.acquire().delay == pytest.approx(1.0)  # in flight: counts as "now"
    clock[0] = 200.0
    assert limiter.acquire().delay == pytest.approx(0.0)
