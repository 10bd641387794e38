"""Errors that name the fix, as a user meets them in a task log or a hook call, against the
sandbox: no retry can fix them, so each fails at once and says what to change."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_altegio.exceptions import AltacolorAuthError, AltegioAuthError
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator

pytestmark = pytest.mark.integration

FRANCHISE = 1003  # the sandbox's location the partner sees and the user may not manage


def _ti(dag_run: Any, task_id: str) -> Any:
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)


def test_a_location_the_user_may_not_manage(altegio_sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as hook, pytest.raises(AltegioAuthError) as info:
        hook.list_storages(FRANCHISE)
    assert info.value.status_code == 403
    assert f"the user may not manage location {FRANCHISE}" in str(info.value)


def test_a_wrong_altacolor_password_says_what_to_check(altegio_sandbox: Any, monkeypatch: Any) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    wrong = {**altegio_sandbox.altacolor_connection(), "password": "not-the-password"}
    monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_WRONG", json.dumps(wrong))
    with AltacolorHook("altacolor_wrong") as hook, pytest.raises(AltacolorAuthError) as info:
        hook.get_product(70001)
    text = str(info.value)
    assert "Altacolor 30001 (authentication failed" in text
    assert "HTTP 200" not in text
    assert "check the login (API username) and password" in text
    assert "not-the-password" not in text


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ({"altegio_conn_id": "altegio_typo"}, "conn_id", "Airflow has no connection 'altegio_typo'"),
        ({"storage_id": 999}, "storage_id", "location 1001 has no storage 999; its storages are: 3101"),
        (
            {"operation_type": "write_off", "transactions": [{"good_id": 1, "amount": 1}]},
            "transactions[0].good_id",
            "location 1001 has no product 1",
        ),
        (  # a receipt is not checked before it is sent: the API's refusal is explained
            {"transactions": [{"good_id": 1, "amount": 1}]},
            "transactions[0].good_id",
            "location 1001 has no product 1",
        ),
    ],
)
def test_mistakes_fail_the_task_at_once_naming_the_fix(
    altegio_sandbox: Any, run_dag: Any, capfd: Any, arguments: dict[str, Any], field: str, words: str
) -> None:
    assert altegio_sandbox.location_id == 1001
    operation = {
        "operation_type": "receipt",
        "storage_id": 3101,
        "transactions": [{"good_id": 10000001, "amount": 1}],
        **arguments,
    }
    with DAG(f"mistake_{field.split('[')[0]}_{operation['operation_type']}", schedule=None) as dag:
        CreateStorageOperationOperator(task_id="book", retries=3, retry_delay=timedelta(0), **operation)
    dag_run = run_dag(dag)
    ti = _ti(dag_run, "book")
    assert (ti.state, ti.try_number) == ("failed", 1)  # retries were allowed, and not spent
    log = capfd.readouterr()
    assert f"{field}: " in log.out + log.err
    assert words in log.out + log.err
    assert altegio_sandbox.state()["documents"] == []
    if field == "conn_id":
        assert "altegio_default" in (log.out + log.err).split("AIRFLOW_CONN_* variables: ", 1)[1]
