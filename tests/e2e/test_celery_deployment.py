"""A distributed deployment: CeleryExecutor with a real ``redis-server`` as broker, two Celery
workers that share no disk (each its own ``TMPDIR`` and ``HOME``, as on two machines),
scheduler, triggerer, dag-processor and api-server on PostgreSQL, the sandbox at 5/s and
200/min. Twelve parallel catalogue reads and a receipt run twice: with the rate budget in Redis
(``rate_limit_store``), and with each worker's default file store.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deployment import deployment, postgres, report, sandbox, wait_until
from servers import redis_server, require_redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

READS = 12
PAGE_SIZE = 25
#: Twenty pages a read: 252 requests, more than the account's 200 a minute.
PRODUCTS = 500

DAG_FILE = """
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


@pytest.fixture(scope="module")
def shop() -> Iterator[Any]:
    with sandbox(products=PRODUCTS) as running:
        yield running


@pytest.fixture(scope="module")
def airflow(shop: Any) -> Iterator[Any]:
    binary = require_redis_server()
    with redis_server(binary) as redis_url, postgres() as create:
        database = create("celery_e2e")
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
            "celery__result_backend": "db+" + database,
            "celery__worker_concurrency": "8",
        }
        with deployment(
            database, "CeleryExecutor", {k: json.dumps(v) for k, v in connections.items()}, **config
        ) as running:
            for name in ("worker1", "worker2"):
                own = Path(tempfile.mkdtemp(prefix=f"altegio-e2e-{name}-"))  # no disk in common
                (own / "tmp").mkdir()
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
    shop.connection.clear_requests()
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


def test_twelve_reads_and_a_receipt_on_two_celery_workers(airflow: Any, shop: Any) -> None:
    location = shop.connection.info()["locations"][0]
    with shop.connection.altegio_client() as client:
        good_id = client.get(f"/goods/{location['id']}", params={"count": 1}).json()["data"][0]["good_id"]
    (airflow.dags / "celery_reads.py").write_text(
        DAG_FILE.format(
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
    shop.connection.reset()  # the server's own windows start over; the data too
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
