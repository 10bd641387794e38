"""Benchmark 4: 1000 deferred ``WaitForProductChange`` triggers on one location, one triggerer.

A fresh interpreter subscribes 1000 ``ProductChangeTrigger`` instances to Airflow's own
``SharedStreamManager`` and runs each one's ``filter_shared_stream``, exactly as the triggerer's
``run_trigger`` does, against the sandbox at the platform's real limits (5/s and 200/min; the
connection's budget the same). Half watch one product, half any product of the location.

* Requests: every request the sandbox logs during four intervals of waiting, per interval.
* Firing: one product is changed; every trigger must fire within one ``poke_interval``.
* Memory: ``tracemalloc`` from before the first subscription to all 1000 subscribed and past
  their first poll, divided by 1000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import tracemalloc
from datetime import datetime, timezone
from typing import Any

from tests.benchmarks._common import Result, check, emit, run_child, sandbox_process, set_altegio_connection

TRIGGERS = 1000
POKE_INTERVAL = 5.0
INTERVALS_BEFORE_CHANGE = 4
MEMORY_BUDGET_KB = 100.0
MAX_REQUESTS_PER_INTERVAL = 3
CONN_ID = "bench_triggers"


async def _watch(manager: Any, index: int, trigger: Any, key: Any, fired: dict[int, float]) -> None:
    stream = manager.subscribe(trigger_id=index, trigger=trigger, key=key)
    try:
        async for event in trigger.filter_shared_stream(stream):
            if event.payload.get("status") == "success":
                fired[index] = time.monotonic()
            return
    finally:
        await manager.unsubscribe(index, key)


async def scenario(location_id: int, good_id: int) -> dict[str, Any]:
    from airflow.triggers.shared_stream import SharedStreamManager

    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.triggers.products import ProductChangeTrigger

    now = datetime.now(tz=timezone.utc).isoformat()
    triggers = [
        ProductChangeTrigger(
            conn_id=CONN_ID,
            location_id=location_id,
            changed_after=now,
            checked_at=now,
            product_ids=[good_id] if i % 2 else None,
            poke_interval=POKE_INTERVAL,
        )
        for i in range(TRIGGERS)
    ]
    keys = {t.shared_stream_key() for t in triggers}
    manager = SharedStreamManager()
    fired: dict[int, float] = {}
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.monotonic()
    tasks = [
        asyncio.create_task(_watch(manager, i, t, t.shared_stream_key(), fired))
        for i, t in enumerate(triggers)
    ]
    await asyncio.sleep(1.0)  # every trigger subscribed and past the first poll
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await asyncio.sleep(INTERVALS_BEFORE_CHANGE * POKE_INTERVAL - 1.0)
    waited = time.monotonic() - started
    with AltegioHook(CONN_ID) as hook:
        changed_at = time.monotonic()
        await asyncio.to_thread(
            hook.update_product, good_id, {"comment": f"bench {time.time()}"}, location_id
        )
    await asyncio.wait(tasks, timeout=POKE_INTERVAL * 3)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await manager.stop_all()
    return {
        "groups": len(keys),
        "waited": waited,
        "fired": len(fired),
        "fire_max": max((t - changed_at for t in fired.values()), default=float("inf")),
        "per_trigger_kb": (current - base) / TRIGGERS / 1024,
        "peak_per_trigger_kb": (peak - base) / TRIGGERS / 1024,
    }


def child(location_id: int, good_id: int) -> dict[str, Any]:
    return asyncio.run(scenario(location_id, good_id))


def run(results: list[Result]) -> None:
    with sandbox_process(products=300, rps=5, rpm=200) as sandbox:
        set_altegio_connection(CONN_ID, sandbox, requests_per_second=5, requests_per_minute=200, timeout=30)
        good_id = _first_product(sandbox)
        sandbox.control.delete("/_sandbox/requests").raise_for_status()
        figures = run_child(__name__, "--child", str(sandbox.location_id), str(good_id), timeout=900)
        log = sandbox.requests()
    listings = [e for e in log if e.get("method") == "GET" and "/goods/" in e.get("path", "")]
    intervals = figures["waited"] / POKE_INTERVAL
    per_interval = len(listings) / intervals
    refused = sum(1 for e in log if e.get("status") == 429)
    detail = (
        f"{TRIGGERS} triggers in {figures['groups']} shared poll, poke_interval {POKE_INTERVAL:g} s, "
        f"sandbox at 5/s and 200/min: {len(listings)} listings in {intervals:.1f} intervals; "
        f"{refused} answered 429; {figures['fired']}/{TRIGGERS} fired, the last "
        f"{figures['fire_max']:.1f} s after the change"
    )
    emit(
        check(
            "triggers_requests_per_interval", per_interval, "count", "<=", MAX_REQUESTS_PER_INTERVAL, detail
        ),
        results,
    )
    emit(check("triggers_429_received", refused, "count", "==", 0, detail), results)
    emit(check("triggers_fired_after_change", figures["fired"], "count", "==", TRIGGERS, detail), results)
    emit(check("triggers_fire_delay_max", figures["fire_max"], "s", "<=", POKE_INTERVAL, detail), results)
    memory = (
        f"tracemalloc, {TRIGGERS} subscribed triggers past their first poll: "
        f"{figures['per_trigger_kb']:.1f} KB each (peak {figures['peak_per_trigger_kb']:.1f} KB)"
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
