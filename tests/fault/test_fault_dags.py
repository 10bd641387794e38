"""Exactly once at DAG level: a storage operation under every write fault ends as one document.

A real DAG run (``dag.test()``) of ``CreateStorageOperationOperator`` with retries, while the
sandbox breaks the create request in one of the ways a network or a server does. Whatever
happened in between, the run succeeds and the ledger holds exactly one document carrying the
task's key, the stock moved exactly once, and the XCom names that document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import DAG

from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

pytestmark = pytest.mark.integration

OPERATION = "/storage_operations/operation/*"

FAULTS = [
    pytest.param({"drop": "after"}, id="answer-lost-after-applying"),
    pytest.param({"drop": "before"}, id="connection-dropped-before-applying"),
    pytest.param({"status": 503}, id="503"),
    pytest.param({"status": 502, "body": "html"}, id="html-502"),
    pytest.param({"body": "truncated"}, id="truncated-after-applying"),
    pytest.param({"status": 429, "count": 3}, id="429-storm"),
    pytest.param({"body": "success_false"}, id="success-false"),
    pytest.param({"delay": 0.6}, id="slow-past-the-timeout-landing-before-the-retry"),
    # The create times out on the client and lands on the server seconds later: the operator
    # keeps searching for its key for a grace period before it concludes "not applied".
    pytest.param({"delay": 4}, id="slow-past-the-timeout-landing-after-the-retry"),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_storage_operation_lands_exactly_once(
    fault: dict[str, Any],
    ledger: Any,
    connect: Callable[..., AltegioHook],
    run_dag: Any,
    xcom: Any,
) -> None:
    connect(timeout=0.5)  # altegio_default for the task: short timeout, waits recorded not slept
    before = ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, **{"count": 1, **fault})
    with DAG("fault_exactly_once", schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="receipt",
            operation_type="receipt",
            storage_id=ledger.storage,
            transactions=[{"good_id": ledger.good, "amount": 3, "cost_per_unit": 2}],
            comment="Fault drill",
            retries=2,
            retry_delay=timedelta(0),
        )
    dag_run = run_dag(dag)
    ledger.settle()  # a request the client gave up on may still land: count it too
    assert dag_run.state == "success"
    result = xcom(dag_run, "receipt")
    documents = ledger.documents(result["key"])
    assert len(documents) == 1, f"{len(documents)} documents carry the key after {fault}"
    assert ledger.stock() == pytest.approx(before + 3)
    assert result["document_id"] == documents[0]["id"]
    assert sorted(result["transaction_ids"]) == sorted(documents[0]["transaction_ids"])
    assert documents[0]["comment"].startswith("Fault drill")
