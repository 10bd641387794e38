"""Thirty deferred sensors of one location in a real deployment: ``airflow triggerer``,
scheduler, dag-processor and api-server (LocalExecutor, PostgreSQL), the sandbox at 5/s and
200/min. The short-timeout sensors are deferred first, so the shared poll is built from one of
them; it must keep its pace after they time out, and the others must fire on the next listing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from deployment import deployment, postgres, report, sandbox, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

SENSORS = 30
SHORT = 5
POKE = 10.0
#: Long enough for all thirty to be deferred on two busy cores before the short ones expire.
SHORT_TIMEOUT = 150
DAG_ID = "e2e_shared_poll"

DAG_FILE = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_altegio.sensors.products import WaitForProductChangeSensor

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=64):
    for i in range({sensors}):
        short = i < {short}
        WaitForProductChangeSensor(
            task_id=f"{{'short' if short else 'long'}}_{{i:02d}}",
            location_id={location_id},
            poke_interval={poke},
            timeout={short_timeout} if short else 3600,
            deferrable=True,
            retries=0,
            priority_weight=100 if short else 1,  # deferred first: the shared poll is theirs
        )
"""


@dataclass
class Timeline:
    """Samples, once a second, of the listings the sandbox answered and the sensors' states."""

    samples: list[tuple[float, int, dict[str, str | None]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def first(self, condition: Any, after: float) -> float:
        return next(t for t, _, states in self.samples if t >= after and condition(states))

    def max_per_interval(self, start: float, end: float) -> int:
        """The most listings in any ``POKE``-second window between ``start`` and ``end``."""
        inside = [(t, n) for t, n, _ in self.samples if start <= t <= end]
        return max(
            (later - n for t, n in inside for u, later in inside if t < u <= t + POKE),
            default=0,
        )

    def listings(self, start: float, end: float) -> int:
        inside = [n for t, n, _ in self.samples if start <= t <= end]
        return inside[-1] - inside[0]


def _short(states: dict[str, str | None]) -> list[str | None]:
    return [state for task, state in states.items() if task.startswith("short")]


def _long(states: dict[str, str | None]) -> list[str | None]:
    return [state for task, state in states.items() if task.startswith("long")]


@pytest.fixture(scope="module")
def shop() -> Iterator[Any]:
    with sandbox(products=200) as running:
        yield running


@pytest.fixture(scope="module")
def airflow(shop: Any) -> Iterator[Any]:
    conn = shop.connection.altegio_connection(requests_per_second=5, requests_per_minute=200)
    with (
        postgres() as create,
        deployment(
            create("triggerer_e2e"), "LocalExecutor", {"altegio_default": json.dumps(conn)}
        ) as running,
    ):
        yield running


def test_thirty_deferred_sensors_share_one_poll_through_short_timeouts(
    airflow: Any, shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    location_id = shop.location_ids[0]
    (airflow.dags / "shared_poll.py").write_text(
        DAG_FILE.format(
            dag_id=DAG_ID,
            sensors=SENSORS,
            short=SHORT,
            location_id=location_id,
            poke=POKE,
            short_timeout=SHORT_TIMEOUT,
        )
    )
    timeline = Timeline()

    def sample() -> None:
        while not timeline.stop.wait(1.0):
            timeline.samples.append((time.monotonic(), shop.listings(location_id), airflow.states(DAG_ID)))

    started = time.monotonic()
    airflow.trigger(DAG_ID)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        deferred = wait_until(
            lambda: (
                timeline.samples
                and len(states := timeline.samples[-1][2]) == SENSORS
                and set(states.values()) == {"deferred"}
            ),
            600,
            "all thirty sensors deferred",
        )
        all_deferred = timeline.samples[-1][0]
        wait_until(
            lambda: set(_short(timeline.samples[-1][2])) == {"failed"}, 600, "the short sensors' timeouts"
        )
        short_out = timeline.first(lambda states: set(_short(states)) != {"deferred"}, all_deferred)
        short_done = timeline.samples[-1][0]
        # Another integration on the same account, meanwhile: it must not meet a 429.
        with shop.connection.altegio_client() as client:
            others = []
            for _ in range(6):
                others.append(client.get(f"/storages/{location_id}").status_code)
                time.sleep(POKE * 4 / 6)
        after_end = time.monotonic()
        assert set(_long(timeline.samples[-1][2])) == {"deferred"}

        from airflow_provider_altegio.hooks.altegio import AltegioHook

        monkeypatch.setenv("AIRFLOW_CONN_E2E_EDIT", json.dumps(shop.connection.altegio_connection()))
        with AltegioHook("e2e_edit") as hook:
            product = next(iter(hook.iter_products(location_id, page_size=1)))
            edited = time.monotonic()
            hook.update_product(product.good_id, {"comment": "edited during the e2e"}, location_id)
        wait_until(lambda: "deferred" not in _long(timeline.samples[-1][2]), 120, "the long sensors to fire")
        fired = timeline.samples[-1][0] - edited
        wait_until(
            lambda: set(_long(airflow.states(DAG_ID))) == {"success"}, 600, "the long sensors to succeed"
        )
        succeeded = time.monotonic() - edited
    finally:
        timeline.stop.set()
        sampler.join()
    before = timeline.max_per_interval(all_deferred, short_out)
    after = timeline.max_per_interval(short_done, after_end)
    figures = {
        "deferred_after_s": round(all_deferred - started),
        "before_window_s": round(short_out - all_deferred),
        "before_max_per_interval": before,
        "before_listings": timeline.listings(all_deferred, short_out),
        "after_window_s": round(after_end - short_done),
        "after_max_per_interval": after,
        "after_listings": timeline.listings(short_done, after_end),
        "fired_within_s": round(fired, 1),
        "succeeded_within_s": round(succeeded, 1),
        "refused_429": shop.refused(),
        "other_integration_statuses": others,
        "test_wall_s": round(time.monotonic() - started),
    }
    report("triggerer", figures)
    assert deferred
    assert short_out - all_deferred >= POKE, figures  # the window before the deadlines was measured
    assert before <= 3, figures
    assert after <= 3, figures
    assert fired <= POKE + 2, figures  # the next listing, plus the sampler's second
    assert figures["refused_429"] == 0, figures
    assert set(others) == {200}, figures
