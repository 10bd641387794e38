"""What every task does around ``execute``, inside real DAGs against the sandbox: the hook is
closed when ``execute`` ends (success or failure), and bad input fails the task at once, without
retries and before any request."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_altegio.operators.products import GetProductOperator, SearchProductsOperator
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
from airflow_provider_altegio.sensors.products import WaitForProductChangeSensor

pytestmark = pytest.mark.integration

PAST = "2000-01-01T00:00:00+00:00"


def _ti(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti


def _recording(operator_class: type[Any], clients: list[Any]) -> type[Any]:
    """``operator_class`` that records the HTTP client its hook is about to use in ``execute``."""

    class Recording(operator_class):  # type: ignore[misc,valid-type]
        def execute(self, context: Any) -> Any:
            clients.append(self.hook.get_conn().client)
            return super().execute(context)

    Recording.__name__ = operator_class.__name__
    return Recording


def test_hooks_are_closed_after_execute(altegio_sandbox: Any, run_dag: Any) -> None:
    location_id = altegio_sandbox.location_ids[0]
    clients: list[Any] = []
    with DAG("hooks_closed", schedule=None) as dag:
        _recording(SearchProductsOperator, clients)(task_id="search", location_id=location_id, page_size=50)
        _recording(WaitForProductChangeSensor, clients)(
            task_id="sense", location_id=location_id, changed_after=PAST, poke_interval=1, timeout=30
        )
        _recording(GetProductOperator, clients)(
            task_id="missing", location_id=location_id, product_id=999_999_999
        )
    gc.collect()  # earlier tests' garbage (their fixtures' hooks) is not this test's business
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        dag_run = run_dag(dag)
        gc.collect()
    assert {ti.task_id: ti.state for ti in dag_run.get_task_instances()} == {
        "search": "success",
        "sense": "success",
        "missing": "failed",  # 404: the hook is closed on failure too
    }
    assert len(clients) == 3
    assert all(client is not None and client.is_closed for client in clients)
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [text for text in unclosed if "unclosed" in text], unclosed


def test_bad_input_fails_without_retries_or_requests(altegio_sandbox: Any, run_dag: Any) -> None:
    location_id = altegio_sandbox.location_ids[0]
    storage_id = altegio_sandbox.info()["locations"][0]["storages"][0]["id"]
    altegio_sandbox.clear_requests()
    with DAG("bad_input_no_retries", schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="write_off",
            location_id=location_id,
            operation_type="write_off",
            storage_id=storage_id,
            transactions=[{"good_id": 1, "amount": 0, "cost_per_unit": 1}],
            retries=2,
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "failed"
    ti = _ti(dag_run, "write_off")
    assert ti.state == "failed"
    assert ti.try_number == 1
    assert altegio_sandbox.requests() == []


def test_errors_no_retry_can_fix_fail_the_task_at_once(
    altegio_sandbox: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from airflow_provider_altegio.operators.storage import ListStoragesOperator

    location_id = altegio_sandbox.location_ids[0]
    wrong = altegio_sandbox.altegio_connection()
    wrong["extra"] = {**wrong["extra"], "user_token": "not-the-user-token"}
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_WRONG", json.dumps(wrong))
    with DAG("definite_errors_no_retries", schedule=None, default_args={"retries": 2}) as dag:
        GetProductOperator(task_id="missing", location_id=location_id, product_id=999_999_999)
        ListStoragesOperator(task_id="wrong_token", location_id=location_id, altegio_conn_id="altegio_wrong")
    dag_run = run_dag(dag)
    for task_id in ("missing", "wrong_token"):
        ti = _ti(dag_run, task_id)
        assert (ti.state, ti.try_number) == ("failed", 1), task_id
