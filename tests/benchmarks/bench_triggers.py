"""Benchmark 4: 1000 deferred ``WaitForProductChange`` triggers in one event loop.

A fresh interpreter runs ``ProductChangeTrigger.run()`` for 1000 triggers in one asyncio loop, as
a triggerer would, against the sandbox (its own process, rate limits off; the connection's limits
off to match).

* Lateness: every request is stamped by the asyncio task (hence the trigger) that sent it, through
  a context variable read in a wrapper around httpx's async transport. A poll is late by how much
  its request starts after the previous poll's answer plus ``poke_interval`` (the first poll: after
  the trigger's start). Starts are spread over one interval, as a triggerer picks deferred tasks up
  over time. After three polls each, one product is changed and every trigger must fire.
* Memory: ``tracemalloc`` from a warm start (one trigger already polling, so the shared hook and
  its pool exist) to all 1000 sleeping after their first poll, divided by 1000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import statistics
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.benchmarks._common import Result, check, emit, run_child, sandbox_process, set_altegio_connection

TRIGGERS = 1000
POKE_INTERVAL = 5.0
POLLS_BEFORE_CHANGE = 3
LATENESS_BUDGET_S = 1.0
MEMORY_BUDGET_KB = 100.0
CONN_ID = "bench_triggers"

_trigger_index: contextvars.ContextVar[int] = contextvars.ContextVar("trigger_index", default=-1)


class PollClock:
    """Start and end of every request, by the index of the trigger whose task sent it."""

    def __init__(self, triggers: int) -> None:
        self.polls: list[list[tuple[float, float]]] = [[] for _ in range(triggers)]
        self._original = httpx.AsyncHTTPTransport.handle_async_request

    def __enter__(self) -> PollClock:
        original, polls = self._original, self.polls

        async def stamped(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            index = _trigger_index.get()
            start = time.monotonic()
            response = await original(transport, request)
            if index >= 0:
                polls[index].append((start, time.monotonic()))
            return response

        httpx.AsyncHTTPTransport.handle_async_request = stamped  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        httpx.AsyncHTTPTransport.handle_async_request = self._original  # type: ignore[method-assign]


def _trigger(location_id: int, changed_after: str) -> Any:
    from airflow_provider_altegio.triggers.products import ProductChangeTrigger

    return ProductChangeTrigger(
        conn_id=CONN_ID, location_id=location_id, changed_after=changed_after, poke_interval=POKE_INTERVAL
    )


async def _drive(index: int, trigger: Any, events: list[Any], delay: float = 0.0) -> None:
    _trigger_index.set(index)  # a task's context is its own: this tags only this trigger's requests
    if delay:
        await asyncio.sleep(delay)
    run = trigger.run()
    try:
        async for event in run:
            events.append(event)
            return
    finally:
        await run.aclose()  # as the triggerer does: release the shared hook when a trigger is done


async def lateness_phase(location_id: int, good_id: int) -> dict[str, Any]:
    """Run the triggers staggered over one interval, change a product, collect lateness."""
    changed_after = datetime.now(tz=timezone.utc).isoformat()
    events: list[Any] = []
    # Built before the clock starts: the first one imports Airflow and the trigger module, which a
    # triggerer has done long before it runs a trigger.
    triggers = [_trigger(location_id, changed_after) for _ in range(TRIGGERS)]
    with PollClock(TRIGGERS) as clock:
        loop_start = time.monotonic()
        offsets = [POKE_INTERVAL * i / TRIGGERS for i in range(TRIGGERS)]
        tasks = [
            asyncio.create_task(_drive(i, trigger, events, offsets[i])) for i, trigger in enumerate(triggers)
        ]
        deadline = loop_start + POKE_INTERVAL * (POLLS_BEFORE_CHANGE + 3)
        while min(len(p) for p in clock.polls) < POLLS_BEFORE_CHANGE and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        changed_at = time.monotonic()
        await asyncio.to_thread(_change_product, location_id, good_id)
        done, pending = await asyncio.wait(tasks, timeout=POKE_INTERVAL * 3)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    late: list[float] = []
    durations: list[float] = []
    for index, polls in enumerate(clock.polls):
        previous_end = loop_start + offsets[index] - POKE_INTERVAL  # first poll: due at the start
        for start, end in polls:
            late.append(max(0.0, start - (previous_end + POKE_INTERVAL)))
            durations.append(end - start)
            previous_end = end
    fired = [e for e in events if e.payload.get("status") == "success"]
    return {
        "polls": len(late),
        "late_max": max(late),
        "late_p99": statistics.quantiles(late, n=100)[98],
        "late_median": statistics.median(late),
        "duration_p99": statistics.quantiles(durations, n=100)[98],
        "duration_max": max(durations),
        "fired": len(fired),
        "errors": [e.payload for e in events if e.payload.get("status") != "success"][:3],
        "fire_seconds": time.monotonic() - changed_at,
        "done": len(done),
    }


def _change_product(location_id: int, good_id: int) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook(CONN_ID) as hook:
        hook.update_product(
            good_id, {"comment": f"touched by the trigger benchmark {time.time()}"}, location_id
        )


async def memory_phase(location_id: int) -> dict[str, Any]:
    """Marginal memory of 1000 sleeping triggers over one already polling."""
    far_future = (datetime.now(tz=timezone.utc) + timedelta(days=3650)).isoformat()
    events: list[Any] = []
    with PollClock(TRIGGERS + 1) as clock:
        warm = asyncio.create_task(_drive(TRIGGERS, _trigger(location_id, far_future), events))
        while not clock.polls[TRIGGERS]:
            await asyncio.sleep(0.05)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tasks = [
            asyncio.create_task(_drive(i, _trigger(location_id, far_future), events)) for i in range(TRIGGERS)
        ]
        deadline = time.monotonic() + 120
        while min(len(p) for p in clock.polls[:TRIGGERS]) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let every trigger finish its poll and go to sleep
        current, peak = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().statistics("lineno")[:5]
        tracemalloc.stop()
        for task in [*tasks, warm]:
            task.cancel()
        await asyncio.gather(*tasks, warm, return_exceptions=True)
    return {
        "per_trigger_kb": (current - base) / TRIGGERS / 1024,
        "peak_per_trigger_kb": (peak - base) / TRIGGERS / 1024,
        "top": [
            f"{s.traceback[0].filename.rsplit('/', 2)[-1]}:{s.traceback[0].lineno} {s.size // 1024} KB"
            for s in top
        ],
        "events": len(events),
    }


def child(location_id: int, good_id: int) -> dict[str, Any]:
    figures = asyncio.run(lateness_phase(location_id, good_id))
    figures.update(asyncio.run(memory_phase(location_id)))
    return figures


def run(results: list[Result]) -> None:
    with sandbox_process(products=300, rps=0, rpm=0) as sandbox:
        set_altegio_connection(CONN_ID, sandbox, requests_per_second=0, requests_per_minute=0, timeout=30)
        good_id = _first_product(sandbox)
        figures = run_child(__name__, "--child", str(sandbox.location_id), str(good_id), timeout=900)
    detail = (
        f"{TRIGGERS} triggers, poke_interval {POKE_INTERVAL:g} s, {figures['polls']} polls: lateness "
        f"median {figures['late_median'] * 1000:.0f} ms, p99 {figures['late_p99'] * 1000:.0f} ms, "
        f"max {figures['late_max'] * 1000:.0f} ms; "
        f"poll duration p99 {figures['duration_p99'] * 1000:.0f} ms, "
        f"max {figures['duration_max'] * 1000:.0f} ms; {figures['fired']}/{TRIGGERS} fired within "
        f"{figures['fire_seconds']:.1f} s of the change"
    )
    emit(
        check("triggers_poll_lateness_max", figures["late_max"], "s", "<", LATENESS_BUDGET_S, detail), results
    )
    emit(check("triggers_fired_after_change", figures["fired"], "count", "==", TRIGGERS, detail), results)
    memory = (
        f"tracemalloc, {TRIGGERS} sleeping triggers over one already polling: "
        f"{figures['per_trigger_kb']:.1f} KB each (peak {figures['peak_per_trigger_kb']:.1f} KB); "
        f"largest sites: {'; '.join(figures['top'][:3])}"
    )
    emit(
        check("triggers_memory_per_trigger", figures["per_trigger_kb"], "KB", "<", MEMORY_BUDGET_KB, memory),
        results,
    )


def _first_product(sandbox: Any) -> int:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook(CONN_ID, page_size=1) as hook:
        product = next(iter(hook.iter_products(sandbox.location_id)))
    return int(product.good_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("LOCATION_ID", "GOOD_ID"), required=True)
    args = parser.parse_args()
    location_id, good_id = (int(x) for x in args.child)
    print(json.dumps(child(location_id, good_id)))


if __name__ == "__main__":
    main()
