"""Real deployments on one PostgreSQL cluster (Airflow's schema migrated once), the sandbox at the
platform's 5/s and 200/min in its own process:

* thirty deferred sensors of one location through a real ``airflow triggerer``, scheduler,
  dag-processor and api-server (LocalExecutor). The short-timeout sensors are deferred first, so
  the shared poll is built from one of them; it must keep its pace after they time out, and the
  others must fire on the next listing;
* a distributed deployment: CeleryExecutor with a real ``redis-server`` as broker, two Celery
  workers that share no disk (each its own ``TMPDIR`` and ``HOME``, as on two machines), twelve
  parallel catalogue reads and a receipt, with the rate budget in Redis (``rate_limit_store``)
  and with each worker's default file store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from deployment import deployment, postgres, report, sandbox, wait_until
from servers import redis_server, require_redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def database() -> Iterator[Callable[[str], str]]:
    with postgres() as create:
        yield create


# -- thirty deferred sensors through a real triggerer ----------------------------------------

SENSORS = 30
SHORT = 5
POKE = 10.0
#: Long enough for all thirty to be deferred on two busy cores before the short ones expire.
SHORT_TIMEOUT = 150
DAG_ID = "e2e_shared_poll"

TRIGGERER_DAG = """
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


@pytest.fixture
def triggerer_shop() -> Iterator[Any]:
    with sandbox(products=200) as running:
        yield running


@pytest.fixture
def local_airflow(triggerer_shop: Any, database: Callable[[str], str]) -> Iterator[Any]:
    conn = triggerer_shop.connection.altegio_connection(requests_per_second=5, requests_per_minute=200)
    connections = {"altegio_default": json.dumps(conn)}
    with deployment(database("triggerer_e2e"), "LocalExecutor", connections) as running:
        yield running


def test_thirty_deferred_sensors_share_one_poll_through_short_timeouts(
    local_airflow: Any, triggerer_shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow, shop = local_airflow, triggerer_shop
    location_id = shop.location_ids[0]
    (airflow.dags / "shared_poll.py").write_text(
        TRIGGERER_DAG.format(
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


# -- twelve catalogue reads and a receipt on two Celery workers ------------------------------

READS = 12
PAGE_SIZE = 25
#: Twenty pages a read: 252 requests, more than the account's 200 a minute.
PRODUCTS = 500

CELERY_DAG = """
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_altegio.operators.products import SearchProductsOperator
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator

# Every worker process imports Airflow once before both runs, so neither pays for a cold start.
with DAG("e2e_celery_warm_up", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=32):
    for i in range(16):
        task(task_id=f"warm_up_{{i:02d}}")(lambda: None)()

for store in ("redis", "file"):
    with DAG(f"e2e_celery_{{store}}", schedule=None, start_date=datetime(2026, 1, 1), max_active_tasks=32):
        reads = [
            SearchProductsOperator(
                task_id=f"read_catalogue_{{i:02d}}",
                altegio_conn_id=f"altegio_{{store}}",
                location_id={location_id},
                page_size={page_size},
            )
            for i in range({reads})
        ]
        reads >> CreateStorageOperationOperator(
            task_id="receipt",
            altegio_conn_id=f"altegio_{{store}}",
            operation_type="receipt",
            storage_id={storage_id},
            transactions=[{{"good_id": {good_id}, "amount": 2, "cost_per_unit": 3.5}}],
            comment=f"e2e celery {{store}}",
        )
"""


@pytest.fixture
def celery_shop() -> Iterator[Any]:
    with sandbox(products=PRODUCTS) as running:
        yield running


@pytest.fixture
def celery_airflow(celery_shop: Any, database: Callable[[str], str]) -> Iterator[Any]:
    shop = celery_shop
    binary = require_redis_server()
    with redis_server(binary) as redis_url:
        url = database("celery_e2e")
        budget = redis_url.rsplit("/", 1)[0] + "/1"
        connections = {
            "altegio_redis": shop.connection.altegio_connection(
                requests_per_second=5, requests_per_minute=200, rate_limit_store=budget
            ),
            "altegio_file": shop.connection.altegio_connection(
                requests_per_second=5, requests_per_minute=200
            ),
        }
        config = {
            "celery__broker_url": redis_url,
            "celery__result_backend": "db+" + url,
            "celery__worker_concurrency": "8",
        }
        with deployment(
            url, "CeleryExecutor", {k: json.dumps(v) for k, v in connections.items()}, **config
        ) as running:
            for name in ("worker1", "worker2"):
                own = running.home / name  # no disk in common: a HOME and a TMPDIR each
                (own / "tmp").mkdir(parents=True)
                running.start(
                    name,
                    "celery",
                    "worker",
                    "-H",
                    f"{name}@%h",
                    "--skip-serve-logs",
                    TMPDIR=str(own / "tmp"),
                    HOME=str(own),
                )
            yield running


def _run(airflow: Any, shop: Any, store: str) -> dict[str, Any]:
    dag_id = f"e2e_celery_{store}"
    # The server's windows and log start over: a request made outside the budget (the test's
    # own lookup of a product, less than a minute before) would take one of the run's 200.
    shop.connection.reset()
    airflow.trigger(dag_id)
    wait_until(
        lambda: airflow.query(
            "select 1 from dag_run where dag_id = %s and state in ('success', 'failed')", dag_id
        ),
        900,
        f"{dag_id} to finish",
        2,
    )
    (state, seconds), *_ = airflow.query(
        "select state, extract(epoch from end_date - start_date) from dag_run where dag_id = %s", dag_id
    )
    (reads_seconds,), *_ = airflow.query(
        "select extract(epoch from max(end_date) - min(start_date)) from task_instance"
        " where dag_id = %s and task_id like 'read%%'",
        dag_id,
    )
    log = shop.connection.requests()
    documents = shop.connection.state(comment=f"e2e celery {store}")["documents"]
    return {
        "dag_run": state,
        "tasks": airflow.states(dag_id),
        "run_s": round(float(seconds), 1),
        "reads_s": round(float(reads_seconds), 1),
        "requests": len(log),
        "refused_429": sum(1 for entry in log if entry.get("status") == 429),
        "documents": len(documents),
    }


def test_twelve_reads_and_a_receipt_on_two_celery_workers(celery_airflow: Any, celery_shop: Any) -> None:
    airflow, shop = celery_airflow, celery_shop
    location = shop.connection.info()["locations"][0]
    with shop.connection.altegio_client() as client:
        good_id = client.get(f"/goods/{location['id']}", params={"count": 1}).json()["data"][0]["good_id"]
    (airflow.dags / "celery_reads.py").write_text(
        CELERY_DAG.format(
            location_id=location["id"],
            page_size=PAGE_SIZE,
            reads=READS,
            storage_id=location["storages"][0]["id"],
            good_id=good_id,
        )
    )
    started = time.monotonic()
    airflow.trigger("e2e_celery_warm_up")
    wait_until(
        lambda: set(airflow.states("e2e_celery_warm_up").values()) == {"success"}, 600, "the warm-up", 2
    )
    redis = _run(airflow, shop, "redis")
    file = _run(airflow, shop, "file")
    received = {
        name: (airflow.home / f"{name}.log").read_text().count(" received") for name in ("worker1", "worker2")
    }
    figures = {
        "redis": redis,
        "file": file,
        "tasks_received": received,
        "test_wall_s": round(time.monotonic() - started),
    }
    report("celery", figures)
    for run in (redis, file):
        assert run["dag_run"] == "success", figures
        assert set(run["tasks"].values()) == {"success"}, figures
        assert len(run["tasks"]) == READS + 1, figures
        assert run["documents"] == 1, figures
    assert redis["refused_429"] == 0, figures
    assert file["refused_429"] > 0, figures  # two workers, two budgets: why Redis is needed
    assert all(received.values()), figures  # both workers ran tasks
