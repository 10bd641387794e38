"""Benchmark 7: 200 deferred sensors' triggers on one poll, the first to subscribe expiring first.

A fresh interpreter runs 200 ``ProductChangeTrigger`` instances of one location, poke 10 s,
through Airflow's own ``SharedStreamManager`` exactly as the triggerer's ``run_trigger`` does
(``tests/triggers/triggerer.py``), against the sandbox at the platform's limits (5/s, 200/min).
The first trigger subscribed (so the one whose kwargs built the shared poll) has the shortest
deadline, as a sensor with a short ``timeout`` would.

* Requests per interval: every listing the sandbox logs, before the first deadline and for as
  long again after it.
* Firing: one product is changed after that; every other trigger must fire within one interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.benchmarks._common import (
    ACCEPT,
    AUTHORIZATION,
    Result,
    check,
    emit,
    run_child,
    sandbox_process,
    set_altegio_connection,
)

TRIGGERS = 200
POKE_INTERVAL = 10.0
#: The first trigger's deadline, in intervals; the others wait for as long again, then a change.
FIRST_DEADLINE = 3
MAX_REQUESTS_PER_INTERVAL = 3
CONN_ID = "bench_shared_poll"


async def scenario(base_url: str, location_id: int, good_id: int) -> dict[str, Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.sandbox.testing import SandboxInfo
    from airflow_provider_altegio.triggers.products import ProductChangeTrigger
    from tests.triggers.triggerer import Listings, Triggerer

    listings = Listings(SandboxInfo.connect(base_url), f"/api/v1/goods/{location_id}")
    now = datetime.now(tz=timezone.utc)

    def trigger(deadline: float | None) -> ProductChangeTrigger:
        return ProductChangeTrigger(
            conn_id=CONN_ID,
            location_id=location_id,
            changed_after=now.isoformat(),
            checked_at=now.isoformat(),
            poke_interval=POKE_INTERVAL,
            deadline=None if deadline is None else (now + timedelta(seconds=deadline)).isoformat(),
        )

    runner = Triggerer()
    first = runner.add(trigger(FIRST_DEADLINE * POKE_INTERVAL))
    others = [runner.add(trigger(3600 if i % 2 else None)) for i in range(TRIGGERS - 1)]
    started = time.monotonic()
    await runner.wait(first, timeout=FIRST_DEADLINE * POKE_INTERVAL + 5)
    before, before_s = await listings.count(), time.monotonic() - started
    after = await listings.over(FIRST_DEADLINE * POKE_INTERVAL)
    await asyncio.sleep(POKE_INTERVAL / 2)  # the edit lands mid-interval, not just before a poll
    with AltegioHook(CONN_ID) as hook:
        changed_at = time.monotonic()
        await asyncio.to_thread(
            hook.update_product, good_id, {"comment": f"bench {time.time()}"}, location_id
        )
    await runner.wait(*others, timeout=POKE_INTERVAL * 3)
    fired = [runner.events[i][0].at for i in others if (runner.first(i) or {}).get("status") == "success"]
    figures = {
        "first": runner.first(first),
        "before": before,
        "before_intervals": before_s / POKE_INTERVAL,
        "after": after,
        "after_intervals": FIRST_DEADLINE,
        "fired": len(fired),
        "fire_max": max((t - changed_at for t in fired), default=float("inf")),
        "refused": await listings.refused(),
    }
    await runner.stop()
    return figures


def run(results: list[Result]) -> None:
    with sandbox_process(products=300, rps=5, rpm=200) as sandbox:
        set_altegio_connection(CONN_ID, sandbox, requests_per_second=5, requests_per_minute=200, timeout=30)
        good_id = _first_product(sandbox)
        base = sandbox.altacolor_url
        figures = run_child(__name__, "--child", base, str(sandbox.location_id), str(good_id), timeout=900)
    before = figures["before"] / figures["before_intervals"]
    after = figures["after"] / figures["after_intervals"]
    detail = (
        f"{TRIGGERS} triggers on one shared poll, poke_interval {POKE_INTERVAL:g} s, sandbox at 5/s "
        f"and 200/min, the first subscribed timing out after {FIRST_DEADLINE} intervals "
        f"({(figures['first'] or {}).get('status')}): {figures['before']} listings in "
        f"{figures['before_intervals']:.1f} intervals before, {figures['after']} in "
        f"{figures['after_intervals']} after; {figures['refused']} answered 429; "
        f"{figures['fired']}/{TRIGGERS - 1} others fired, the last {figures['fire_max']:.1f} s "
        "after the change"
    )
    emit(check("shared_poll_requests_before_deadline", before, "per interval", "<=", 3, detail), results)
    emit(check("shared_poll_requests_after_deadline", after, "per interval", "<=", 3, detail), results)
    emit(check("shared_poll_429_received", figures["refused"], "count", "==", 0, detail), results)
    emit(
        check("shared_poll_fired_after_change", figures["fired"], "count", "==", TRIGGERS - 1, detail),
        results,
    )
    emit(check("shared_poll_fire_delay_max", figures["fire_max"], "s", "<=", POKE_INTERVAL, detail), results)


def _first_product(sandbox: Any) -> int:
    headers = {"Accept": ACCEPT, "Authorization": AUTHORIZATION}
    page = httpx.get(
        f"{sandbox.altegio_url}/goods/{sandbox.location_id}", params={"count": 1}, headers=headers
    )
    return int(page.json()["data"][0]["good_id"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, metavar=("BASE_URL", "LOCATION_ID", "GOOD_ID"), required=True)
    args = parser.parse_args()
    base_url, location_id, good_id = args.child
    print(json.dumps(asyncio.run(scenario(base_url, int(location_id), int(good_id)))))


if __name__ == "__main__":
    main()
