"""Tokens and passwords never leak: task logs of a real DAG run, XCom, exceptions, reprs.

A dedicated sandbox with credentials unique to this module (so nothing registered with the
secrets masker by another test can hide a leak here) serves a DAG run that exercises every path
that talks to the APIs: reads, a write, the ``POST /auth`` token exchange, Altacolor (whose
password travels in the query string), retries after faults, a deferred sensor, a 404 and a
401. Everything the run wrote (stdout, stderr, log records, task log files, XCom) is searched
for every secret, and for the ``Authorization`` value derived from them.
"""

from __future__ import annotations

import json
import logging
import pickle
import traceback
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, task

from airflow_provider_altegio.exceptions import APIError
from airflow_provider_altegio.hooks.altacolor import AltacolorHook
from airflow_provider_altegio.hooks.altegio import AltegioHook
from airflow_provider_altegio.operators.products import (
    AltacolorSearchProductsOperator,
    GetProductOperator,
    SearchProductsOperator,
)
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator, ListStoragesOperator
from airflow_provider_altegio.sensors.products import WaitForProductChangeSensor

pytestmark = pytest.mark.integration

TAG = uuid.uuid4().hex[:12]
SECRETS = {
    "partner_token": f"ptok-{TAG}-partner",
    "user_token": f"utok-{TAG}-user",
    "password": f"pw-{TAG}-login",
    "altacolor_password": f"acpw-{TAG}-supplier",
    "wrong_user_token": f"wrong-{TAG}-user",
}


def leaks(text: str) -> list[str]:
    """Names of the secrets (and derived Authorization values) found in ``text``."""
    found = [name for name, value in SECRETS.items() if value in text]
    for user in (SECRETS["user_token"], SECRETS["wrong_user_token"]):
        if f"Bearer {SECRETS['partner_token']}, User {user}" in text:
            found.append("authorization")
    return found


@pytest.fixture(scope="module")
def secret_sandbox() -> Iterator[Any]:
    from airflow_provider_altegio.sandbox.testing import run_sandbox

    with run_sandbox(
        partner_token=SECRETS["partner_token"],
        user_token=SECRETS["user_token"],
        login=f"user-{TAG}@example.com",
        password=SECRETS["password"],
        altacolor_password=SECRETS["altacolor_password"],
    ) as sandbox:
        yield sandbox


@pytest.fixture
def connections(secret_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """altegio_default (tokens), altegio_login (login/password -> POST /auth), altegio_wrong
    (a wrong user token), altacolor_default; all fast (short timeouts, few retries)."""
    sandbox = secret_sandbox
    sandbox.reset()
    fast = {"timeout": 10, "max_retries": 2}
    login = sandbox.altegio_connection(user_token=None, **fast)
    login.update(login=sandbox.login, password=sandbox.password)
    conns = {
        "altegio_default": sandbox.altegio_connection(**fast),
        "altegio_login": login,
        "altegio_wrong": sandbox.altegio_connection(user_token=SECRETS["wrong_user_token"], **fast),
        "altacolor_default": sandbox.altacolor_connection(**fast),
    }
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return sandbox


@pytest.fixture
def all_records() -> Iterator[list[logging.LogRecord]]:
    """Every log record of the run at DEBUG, whatever handlers Airflow configures."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("airflow_provider_altegio"), logging.getLogger("httpx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
    logging.getLogger("airflow_provider_altegio").setLevel(logging.DEBUG)
    # httpx logs every request with its full URL, query string included (the Altacolor password
    # on GET): only the secrets masker stands between that line and the task log.
    logging.getLogger("httpx").setLevel(logging.INFO)
    try:
        yield records
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _secret_dag(sandbox: Any) -> DAG:
    location = sandbox.location_id
    with DAG("security_secrets", schedule=None) as dag:
        SearchProductsOperator(task_id="search", page_size=100)
        storages = ListStoragesOperator(task_id="storages_via_auth", altegio_conn_id="altegio_login")
        receipt = CreateStorageOperationOperator(
            task_id="receipt_via_auth",
            altegio_conn_id="altegio_login",
            operation_type="receipt",
            storage_id="{{ ti.xcom_pull('storages_via_auth')[0]['id'] }}",
            transactions=[{"good_id": 10000001, "amount": 1, "cost_per_unit": 1}],
            comment="security drill",
        )
        storages >> receipt
        AltacolorSearchProductsOperator(
            task_id="supplier_search", conditions=[{"field": "product_id", "condition": ">", "value": "0"}]
        )

        @task(task_id="supplier_get")
        def supplier_get() -> int:
            hook = AltacolorHook()
            found = hook.search_products([{"field": "product_id", "condition": ">", "value": "0"}], limit=1)
            return hook.get_product(found.products[0].product_id).product_id

        supplier_get()
        WaitForProductChangeSensor(
            task_id="wait_deferred",
            changed_after=(datetime.now(tz=timezone.utc) + timedelta(days=1)).isoformat(),
            deferrable=True,
            poke_interval=1,
            timeout=3,
        )
        GetProductOperator(task_id="missing_product", product_id=987654321, location_id=location)
        ListStoragesOperator(task_id="wrong_token", altegio_conn_id="altegio_wrong")
    return dag


def test_no_secret_in_task_logs_or_xcom_of_a_real_dag_run(
    connections: Any,
    run_dag: Any,
    capfd: pytest.CaptureFixture[str],
    all_records: list[logging.LogRecord],
) -> None:
    sandbox = connections
    # Retries after faults put URLs and error texts in warnings; the Altacolor GET carries the
    # password in its query string.
    sandbox.faults.add("GET", "/api/json/manage_products/get", status=503, count=1)
    sandbox.faults.add("POST", "/api/json/manage_products/find", status=502, body="html", count=1)
    sandbox.faults.add("GET", "/goods/*", status=429, retry_after=0, count=1)
    dag_run = run_dag(_secret_dag(sandbox))

    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["search"] == "success"
    assert states["receipt_via_auth"] == "success"
    assert states["supplier_get"] == "success"
    assert states["missing_product"] == "failed"
    assert states["wrong_token"] == "failed"
    assert any(r["path"] == "/api/v1/auth" for r in sandbox.requests("POST", "/auth"))

    out, err = capfd.readouterr()
    assert "987654321" in out + err, "the task logs were not captured"
    assert leaks(out) == [], "secret in stdout"
    assert leaks(err) == [], "secret in stderr"
    from airflow.sdk.log import redact

    own = ("airflow_provider_altegio", "airflow.task")
    assert any(r.name.startswith(own) for r in all_records), "no log record of the provider was captured"
    assert any(r.name == "httpx" and "password=" in r.getMessage() for r in all_records)
    for record in all_records:
        message = record.getMessage()
        if record.name.startswith(own):
            # The provider never writes a secret into a log line in the first place...
            assert leaks(message) == [], f"secret in a log record of {record.name}"
        else:
            # ...and what other libraries log (httpx logs full URLs, query string included) is
            # covered by the secrets masker, which sees every secret the hooks use.
            assert leaks(str(redact(message))) == [], f"unmasked secret in a log record of {record.name}"
    log_files = [p for p in Path(_airflow_home(), "logs").rglob("*") if p.is_file()]
    for path in log_files:
        assert leaks(path.read_text(errors="replace")) == [], f"secret in {path}"
    assert leaks(json.dumps(_xcoms(dag_run), default=str)) == [], "secret in XCom"


def _airflow_home() -> str:
    import os

    return os.environ["AIRFLOW_HOME"]


def _xcoms(dag_run: Any) -> list[Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return [(row.task_id, row.key, row.value) for row in rows]


# -- exceptions and reprs ----------------------------------------------------------------------


def _error_texts(error: BaseException) -> str:
    """Everything an error can show: str, repr, args, the whole chain as a traceback, pickled."""
    chain = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    revived = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, as Airflow pickles it
    return "\n".join([str(error), repr(error), repr(error.args), chain, str(revived), repr(revived)])


def _failures(connections: Any) -> list[BaseException]:
    """One error of every kind the hooks raise against the sandbox."""
    sandbox = connections
    errors: list[BaseException] = []

    def expect(call: Any) -> None:
        try:
            call()
        except Exception as exc:
            errors.append(exc)
        else:  # pragma: no cover - each call is set up to fail
            pytest.fail(f"{call} did not fail")

    altegio, wrong, altacolor = AltegioHook(), AltegioHook("altegio_wrong"), AltacolorHook()
    expect(lambda: wrong.list_storages())  # 401
    expect(lambda: altegio.get_product(987654321))  # 404
    expect(lambda: altegio.create_storage_operation({"type_id": 3}))  # invalid input
    sandbox.faults.add("GET", "/storages/*", status=503, count=None)
    expect(lambda: altegio.list_storages())  # 503 after retries
    sandbox.faults.clear()
    sandbox.faults.add("GET", "/storages/*", drop="before", count=None)
    expect(lambda: altegio.list_storages())  # transport error after retries
    sandbox.faults.clear()
    sandbox.faults.add("POST", "/storage_operations/*", drop="after", count=1)
    operation = {
        "type_id": "receipt",
        "storage_id": altegio.list_storages()[0].id,
        "create_date": datetime.now(tz=timezone.utc),
        "transactions": [{"good_id": 10000001, "amount": 1}],
    }
    expect(lambda: altegio.create_storage_operation(operation))  # ambiguous write
    sandbox.faults.add("GET", "/api/json/manage_products/get", status=503, count=None)
    expect(lambda: altacolor.get_product(1))  # password in the query of every attempt
    sandbox.faults.clear()
    sandbox.faults.add("GET", "/api/json/manage_products/get", delay=2, count=None)
    expect(lambda: _fast_altacolor(connections).get_product(1))  # timeout, httpx error as __cause__
    sandbox.faults.clear()
    sandbox.faults.add("GET", "/api/json/manage_products/get", body="malformed", count=1)
    expect(lambda: altacolor.get_product(1))
    sandbox.configure(altacolor_enabled=False)
    expect(lambda: altacolor.get_product(1))  # 31000
    return errors


def _fast_altacolor(sandbox: Any) -> AltacolorHook:
    import os

    conn = sandbox.altacolor_connection(timeout=0.3, max_retries=1)
    os.environ["AIRFLOW_CONN_ALTACOLOR_FAST"] = json.dumps(conn)
    return AltacolorHook("altacolor_fast")


def test_no_secret_in_exceptions_their_causes_or_pickles(connections: Any) -> None:
    errors = _failures(connections)
    assert len(errors) == 10
    assert sum(isinstance(e, APIError) for e in errors) == 9  # and one InvalidRequestError
    for error in errors:
        assert leaks(_error_texts(error)) == [], f"secret in {type(error).__name__}: {error}"


def test_no_secret_in_reprs_or_connection_test_messages(connections: Any) -> None:
    altegio, login, altacolor = AltegioHook(), AltegioHook("altegio_login"), AltacolorHook()
    altegio.list_storages()
    login.list_storages()
    altacolor.search_products([{"field": "product_id", "condition": ">", "value": "0"}], limit=1)
    for hook in (altegio, login, altacolor):
        core = hook.get_conn()
        texts = [repr(hook), str(hook), repr(core), repr(core.config), repr(core.dialect), repr(core.limiter)]
        assert leaks("\n".join(texts)) == []
    assert leaks(repr(connections)) == []
    for hook in (AltegioHook("altegio_wrong"), altacolor):
        ok, message = hook.test_connection()
        assert leaks(message) == []
    connections.configure(altacolor_enabled=False)
    ok, message = AltacolorHook().test_connection()
    assert not ok
    assert leaks(message) == []


def test_derived_authorization_is_registered_with_the_secrets_masker(connections: Any) -> None:
    import re

    from airflow.sdk._shared.secrets_masker import _secrets_masker
    from airflow.sdk.log import redact

    login = AltegioHook("altegio_login")
    login.list_storages()  # builds the core and exchanges login/password for a user token
    authorization = f"Bearer {SECRETS['partner_token']}, User {SECRETS['user_token']}"
    line = f"headers={{'Authorization': '{authorization}'}} password={SECRETS['password']}"
    assert leaks(str(redact(line))) == []
    patterns = _secrets_masker().patterns
    assert re.escape(authorization) in patterns  # the derived header value itself, whole
    assert re.escape(SECRETS["user_token"]) in patterns  # the token obtained through POST /auth
    altacolor = AltacolorHook()
    altacolor.search_products([{"field": "product_id", "condition": ">", "value": "0"}], limit=1)
    url = f"http://x/api/json/manage_products/get?username=u&password={SECRETS['altacolor_password']}&id=1"
    assert leaks(str(redact(url))) == []
