"""Storage operators inside real DAGs (``dag.test()``) against the sandbox.

The exactly-once tests use the sandbox's fault injection: the response to the create request is
dropped after the server applied it, the task retries, and the sandbox must hold exactly one
document with the key and the right stock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG, Asset

from airflow_provider_altegio.exceptions import AltegioNotFoundError
from airflow_provider_altegio.operators.storage import (
    CreateStorageOperationOperator,
    ListStoragesOperator,
    ListStorageTransactionsOperator,
)
from airflow_provider_altegio.workflows.booking import Booker, carries_key, stamp_comment

pytestmark = pytest.mark.integration


def _ti(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti


def _stock(hook: Any, location_id: int, good_id: int, storage_id: int) -> float:
    return float(hook.get_product(good_id, location_id).amount_in(storage_id))


def _stock_start(case: dict[str, Any]) -> tuple[Any, int, int, int, float]:
    """The ``stock_case`` hook, location, storage and product, and the product's stock now."""
    hook, loc, storage, good = case["hook"], case["location_id"], case["storage_id"], case["good_id"]
    return hook, loc, storage, good, _stock(hook, loc, good, storage)


def _expected_key(dag: DAG, dag_run: Any, task_id: str, location_id: int) -> str:
    """The key the task's one document must carry, worked out apart from the run."""
    task = dag.get_task(task_id)
    ((key, _),) = task.build_requests(f"{dag_run.dag_id}/{dag_run.run_id}/{task_id}", location_id)
    return key


def _documents_with_key(sandbox: Any, key: str) -> list[dict[str, Any]]:
    documents = sandbox.state()["documents"]
    return [doc for doc in documents if carries_key(doc.get("comment"), key)]


@pytest.fixture
def stock_case(altegio_sandbox: Any) -> Iterator[dict[str, Any]]:
    """A location, two of its storages and a product with stock in the first one."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    storages = hook.list_storages(location_id)
    assert len(storages) >= 2
    storage_id, other_storage_id = storages[0].id, storages[1].id
    product = next(
        p for p in itertools.islice(hook.iter_products(location_id), 500) if p.amount_in(storage_id) >= 5
    )
    yield {
        "hook": hook,
        "location_id": location_id,
        "storage_id": storage_id,
        "other_storage_id": other_storage_id,
        "good_id": product.good_id,
        "on_hand": product.amount_in(storage_id),
    }
    hook.close()  # its connection pool must not outlive the test (a later one counts leaks)


def test_receipt_and_write_off_move_stock(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    case = stock_case
    hook, loc, storage, good, before = _stock_start(case)
    outlet = Asset("altegio://stock/receipts")
    with DAG("storage_receipt_write_off", schedule=None, params={"amount": 3, "storage": storage}) as dag:
        receipt = CreateStorageOperationOperator(
            task_id="receipt",
            location_id=str(loc),
            operation_type="receipt",
            storage_id="{{ params.storage }}",
            transactions=[{"good_id": good, "amount": "{{ params.amount }}", "cost_per_unit": 12.5}],
            comment="Delivery {{ ds }}",
            outlets=[outlet],
        )
        write_off = CreateStorageOperationOperator(
            task_id="write_off",
            location_id=loc,
            operation_type=4,
            storage_id=storage,
            transactions=[{"good_id": good, "amount": 1}],
            comment="Damaged",
        )
        receipt >> write_off
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    result = xcom(dag_run, "receipt")
    assert result["created"] is True
    assert len(result["transaction_ids"]) == 1
    assert _stock(hook, loc, good, storage) == pytest.approx(before + 3 - 1)
    (document,) = [d for d in altegio_sandbox.state()["documents"] if d["id"] == result["document_id"]]
    assert document["comment"].startswith("Delivery ")
    assert "[airflow:" in document["comment"]
    assert xcom(dag_run, "write_off")["created"] is True
    _assert_asset_event(outlet, result["document_id"])


def _assert_asset_event(asset: Asset, document_id: int) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == asset.uri)
            .all()
        )
        extras = [event.extra for event in events]
    assert any(extra.get("document_id") == document_id for extra in extras), extras


def _write_off_dag(dag_id: str, case: dict[str, Any], amount: float) -> DAG:
    with DAG(dag_id, schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="write_off",
            location_id=case["location_id"],
            operation_type="write_off",
            storage_id=case["storage_id"],
            transactions=[{"good_id": case["good_id"], "amount": amount}],
            comment="Stocktake",
            retries=1,
            retry_delay=timedelta(0),
        )
    return dag


@pytest.mark.parametrize(
    ("search_fails", "expected_tries"),
    [
        pytest.param(False, 1, id="reconciled-in-the-same-try"),
        pytest.param(True, 2, id="reconciled-by-the-retry"),
    ],
)
def test_exactly_once_when_the_response_is_lost(
    stock_case: dict[str, Any],
    altegio_sandbox: Any,
    run_dag: Any,
    xcom: Any,
    search_fails: bool,
    expected_tries: int,
) -> None:
    """The server applies the write-off and the answer is lost: exactly one document.

    With ``search_fails`` the search that follows the lost answer fails too, so the first try
    fails and the task's retry (``try_number`` 2) finds the document before creating.
    """
    case = stock_case
    hook, loc, storage, good, before = _stock_start(case)
    altegio_sandbox.faults.add("POST", f"/api/v1/storage_operations/operation/{loc}", drop="after", count=1)
    if search_fails:
        # A failure a retry can fix (a 404 would fail the task at once).
        altegio_sandbox.faults.add("GET", f"/api/v1/storages/transactions/{loc}", status=500, count=1)
    dag = _write_off_dag(f"storage_exactly_once_{expected_tries}", case, 2)
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert _ti(dag_run, "write_off").try_number == expected_tries
    key = _expected_key(dag, dag_run, "write_off", loc)
    documents = _documents_with_key(altegio_sandbox, key)
    assert len(documents) == 1
    assert documents[0]["comment"] == f"Stocktake [airflow:{key}]"
    found = {
        "document_id": documents[0]["id"],
        "transaction_ids": documents[0]["transaction_ids"],
        "created": False,
        "key": key,
    }
    assert xcom(dag_run, "write_off") == {**found, "documents": [found]}
    after = _stock(hook, loc, good, storage)
    assert after == pytest.approx(before - 2)
    print(
        f"EXACTLY-ONCE tries={expected_tries} location={loc} storage={storage} good={good} "
        f"stock before={before:g} after={after:g} documents_with_key={len(documents)}"
    )


def _late_receipt(
    operator: type[CreateStorageOperationOperator],
    case: dict[str, Any],
    altegio_sandbox: Any,
    run_dag: Any,
    monkeypatch: Any,
    *,
    lands_after: float,
    amount: float,
    grace: float,
) -> tuple[Any, str, float]:
    """Run a receipt whose create the sandbox applies ``lands_after`` seconds late, past the
    client's 0.5 s timeout; wait until the sandbox has applied it. Returns the run, the task's
    key, and the stock the receipt must have moved by exactly ``amount``."""
    import json
    import time

    hook, loc, storage, good, before = _stock_start(case)
    connection = altegio_sandbox.altegio_connection(timeout=0.5, max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_SLOW", json.dumps(connection))
    altegio_sandbox.faults.add(
        "POST", f"/api/v1/storage_operations/operation/{loc}", delay=lands_after, count=1
    )
    with DAG(f"storage_late_{operator.__name__.lower()}", schedule=None) as dag:
        operator(
            task_id="receipt",
            altegio_conn_id="altegio_slow",
            operation_type="receipt",
            storage_id=storage,
            transactions=[{"good_id": good, "amount": amount}],
            reconcile_grace=grace,
            retries=1,
            retry_delay=timedelta(0),
        )
    dag_run = run_dag(dag)
    deadline = time.monotonic() + 20  # count a create the client gave up on, once it has landed
    while any(r["status"] is None for r in altegio_sandbox.requests(method="POST")):
        assert time.monotonic() < deadline, "the sandbox is still applying a request"
        time.sleep(0.05)
    key = _expected_key(dag, dag_run, "receipt", loc)
    moved = _stock(hook, loc, good, storage) - before
    return dag_run, key, moved


def test_exactly_once_when_the_create_lands_after_the_timeout(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any, monkeypatch: Any
) -> None:
    """The client gives up after 0.5 s; the server applies the receipt 2 s later. The operator keeps
    looking for its key during the grace period and finds it: one document, no retry needed."""
    dag_run, key, moved = _late_receipt(
        CreateStorageOperationOperator,
        stock_case,
        altegio_sandbox,
        run_dag,
        monkeypatch,
        lands_after=2,
        amount=5,
        grace=30,
    )
    assert dag_run.state == "success"
    assert _ti(dag_run, "receipt").try_number == 1
    assert len(_documents_with_key(altegio_sandbox, key)) == 1
    assert xcom(dag_run, "receipt")["created"] is False
    assert moved == pytest.approx(5)


def test_a_try_that_dies_during_its_grace_period_leaves_the_retry_looking(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any, monkeypatch: Any
) -> None:
    """Try 1 gets no answer (the server applies the receipt 3 s later) and its worker dies 1 s
    into the grace period. The retry starts at once (``retry_delay`` 0), so it keeps looking for
    the rest of the grace period instead of creating a second document."""
    import time

    class DiesDuringGrace(CreateStorageOperationOperator):
        def booker(self, context: Any, location_id: int) -> Any:
            booker = super().booker(context, location_id)
            looks = booker.await_existing

            def dies_on_try_1(request: Any, key: str, grace: float) -> Any:
                if context["ti"].try_number == 1 and grace > 0:
                    time.sleep(1)
                    raise RuntimeError("worker lost during the grace period")
                return looks(request, key, grace)

            booker.await_existing = dies_on_try_1  # type: ignore[method-assign]
            return booker

    dag_run, key, moved = _late_receipt(
        DiesDuringGrace, stock_case, altegio_sandbox, run_dag, monkeypatch, lands_after=3, amount=6, grace=10
    )
    assert dag_run.state == "success"
    assert _ti(dag_run, "receipt").try_number == 2
    assert len(_documents_with_key(altegio_sandbox, key)) == 1
    assert xcom(dag_run, "receipt")["created"] is False
    assert moved == pytest.approx(6)


def test_retry_after_success_creates_nothing(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    """A task that created its document and then failed finds it on the retry."""
    case = stock_case
    hook, loc, storage, good, before = _stock_start(case)

    class FailsAfterFirstCreate(CreateStorageOperationOperator):
        def execute(self, context: Any) -> Any:
            result = super().execute(context)
            if context["ti"].try_number == 1:
                raise RuntimeError("worker lost after the create")
            return result

    with DAG("storage_retry_after_success", schedule=None) as dag:
        FailsAfterFirstCreate(
            task_id="receipt",
            location_id=loc,
            operation_type="receipt",
            storage_id=storage,
            transactions=[{"good_id": good, "amount": 4, "cost_per_unit": 2}],
            retries=1,
            retry_delay=timedelta(0),
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    result = xcom(dag_run, "receipt")
    assert len(_documents_with_key(altegio_sandbox, result["key"])) == 1
    assert result["created"] is False
    assert _stock(hook, loc, good, storage) == pytest.approx(before + 4)


def test_mapped_operations_get_their_own_keys(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    case = stock_case
    loc, good = case["location_id"], case["good_id"]
    with DAG("storage_mapped", schedule=None) as dag:
        CreateStorageOperationOperator.partial(
            task_id="receipt",
            location_id=loc,
            operation_type="receipt",
            transactions=[{"good_id": good, "amount": 1}],
        ).expand(storage_id=[case["storage_id"], case["other_storage_id"]])
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    keys = {xcom(dag_run, "receipt", map_index=map_index)["key"] for map_index in (0, 1)}
    assert len(keys) == 2
    for key in keys:
        assert len(_documents_with_key(altegio_sandbox, key)) == 1


def _transfer(case: dict[str, Any], dag_id: str, **extra: Any) -> tuple[DAG, Any]:
    """A DAG moving one unit of the case's product from its storage to the other one, and a
    function that checks the stock moved exactly once."""
    hook, loc, source, target, good = (
        case["hook"],
        case["location_id"],
        case["storage_id"],
        case["other_storage_id"],
        case["good_id"],
    )
    source_before, target_before = _stock(hook, loc, good, source), _stock(hook, loc, good, target)
    with DAG(dag_id, schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="transfer",
            location_id=loc,
            operation_type="transfer",
            storage_id=source,
            target_storage_id=target,
            transactions=[{"good_id": good, "amount": 1}],
            **extra,
        )

    def moved_once() -> None:
        assert _stock(hook, loc, good, source) == pytest.approx(source_before - 1)
        assert _stock(hook, loc, good, target) == pytest.approx(target_before + 1)

    return dag, moved_once


def test_transfer_moves_between_storages(stock_case: dict[str, Any], run_dag: Any, xcom: Any) -> None:
    hook, loc = stock_case["hook"], stock_case["location_id"]
    dag, moved_once = _transfer(stock_case, "storage_transfer")
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    result = xcom(dag_run, "transfer")
    out, into = result["documents"]
    assert out["created"] is True
    assert into["created"] is True
    assert result["document_id"] == out["document_id"]
    # Two documents of documented effect: a write-off out of the source, a receipt into the target.
    assert hook.get_storage_document(out["document_id"], loc).type_id == 4
    assert hook.get_storage_document(into["document_id"], loc).storage_id == stock_case["other_storage_id"]
    moved_once()


def test_a_retried_transfer_books_each_document_once(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    """The receipt's answer is lost after the write-off went through: the retry finds the
    write-off by its key and books only the receipt."""
    loc = stock_case["location_id"]
    # The second POST (the receipt) fails with a 502 before anything is applied: ambiguous.
    altegio_sandbox.faults.add("POST", f"/api/v1/storage_operations/operation/{loc}", status=502, skip=1)
    # reconcile_grace: with retry_delay=0 the retry would otherwise look for a minute.
    dag, moved_once = _transfer(
        stock_case, "storage_transfer_retry", retries=1, retry_delay=0, reconcile_grace=1
    )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    out, into = xcom(dag_run, "transfer")["documents"]
    assert out["created"] is False  # found by its key on the retry
    assert into["created"] is True
    moved_once()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"operation_type": "write_off", "amount": 10_000}, "exceeds"),
        ({"operation_type": "transfer"}, "target_storage_id: is required"),
        ({"operation_type": "receipt", "amount": -1}, "transactions[0].amount"),
        ({"operation_type": "refund"}, "operation_type"),
        ({"operation_type": "write_off", "storage_id": 987_654}, "has no storage 987654; its storages are"),
    ],
)
def test_invalid_operations_write_nothing(
    stock_case: dict[str, Any],
    altegio_sandbox: Any,
    run_dag: Any,
    overrides: dict[str, Any],
    message: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    case = stock_case
    before_docs = len(altegio_sandbox.state()["documents"])
    before = _stock(case["hook"], case["location_id"], case["good_id"], case["storage_id"])
    with DAG("storage_invalid", schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="operation",
            location_id=case["location_id"],
            operation_type=overrides["operation_type"],
            storage_id=overrides.get("storage_id", case["storage_id"]),
            transactions=[{"good_id": case["good_id"], "amount": overrides.get("amount", 1)}],
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "failed"
    output = capfd.readouterr()
    assert message in output.out + output.err
    assert len(altegio_sandbox.state()["documents"]) == before_docs
    assert _stock(case["hook"], case["location_id"], case["good_id"], case["storage_id"]) == before


def test_negative_stock_allowed_on_request(stock_case: dict[str, Any], run_dag: Any, xcom: Any) -> None:
    case = stock_case
    on_hand = _stock(case["hook"], case["location_id"], case["good_id"], case["storage_id"])
    with DAG("storage_negative_allowed", schedule=None) as dag:
        CreateStorageOperationOperator(
            task_id="usage",
            location_id=case["location_id"],
            operation_type="usage",
            storage_id=case["storage_id"],
            transactions=[{"good_id": case["good_id"], "amount": on_hand + 1}],
            allow_negative_stock=True,
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "usage")["created"] is True
    assert _stock(case["hook"], case["location_id"], case["good_id"], case["storage_id"]) == pytest.approx(-1)


def test_list_storages_and_transactions(
    stock_case: dict[str, Any], run_dag: Any, xcom: Any, tmp_path: Any
) -> None:
    case = stock_case
    loc = case["location_id"]
    with DAG("storage_lists", schedule=None) as dag:
        receipt = CreateStorageOperationOperator(
            task_id="receipt",
            location_id=loc,
            operation_type="receipt",
            storage_id=case["storage_id"],
            transactions=[
                {"good_id": case["good_id"], "amount": 1},
                {"good_id": case["good_id"], "amount": 2},
            ],
        )
        storages = ListStoragesOperator(task_id="storages", location_id=loc)
        by_document = ListStorageTransactionsOperator(
            task_id="by_document",
            location_id=loc,
            document_id="{{ ti.xcom_pull(task_ids='receipt')['document_id'] }}",
        )
        to_file = ListStorageTransactionsOperator(
            task_id="to_file",
            location_id=loc,
            changed_after="{{ dag_run.start_date.isoformat() }}",
            output_path=f"file://{tmp_path}/transactions.jsonl",
        )
        receipt >> [by_document, to_file]
        storages  # noqa: B018
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert {s["id"] for s in xcom(dag_run, "storages")} >= {case["storage_id"], case["other_storage_id"]}
    lines = xcom(dag_run, "by_document")["items"]
    document_id = xcom(dag_run, "receipt")["document_id"]
    assert [line["document_id"] for line in lines] == [document_id, document_id]
    assert sorted(line["amount"] for line in lines) == [1, 2]
    written = xcom(dag_run, "to_file")
    assert written["count"] >= 2
    assert written["path"].endswith("transactions.jsonl")
    assert len((tmp_path / "transactions.jsonl").read_text().splitlines()) == written["count"]


def test_location_falls_back_to_the_connection(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, monkeypatch: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    import json

    loc = altegio_sandbox.location_ids[0]
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(altegio_sandbox.altegio_connection(location_id=loc))
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALTEGIO_NOLOC", json.dumps(altegio_sandbox.altegio_connection(location_id=None))
    )
    with DAG("storage_location_fallback", schedule=None) as dag:
        ListStoragesOperator(task_id="from_extra")
        ListStoragesOperator(task_id="missing", altegio_conn_id="altegio_noloc")
    dag_run = run_dag(dag)
    assert _ti(dag_run, "from_extra").state == "success"
    assert xcom(dag_run, "from_extra")
    assert _ti(dag_run, "missing").state == "failed"
    output = capfd.readouterr()
    assert "location_id: is required: pass it, or set the location_id extra" in output.out + output.err


def test_the_search_for_an_earlier_document_survives_rows_shifting_between_pages(
    stock_case: dict[str, Any], altegio_sandbox: Any
) -> None:
    """A listing that drops a row at every page boundary hides the document from one walk; the
    search walks again with other boundaries and finds it, so nothing is booked twice."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    case = stock_case
    loc, storage, good = case["location_id"], case["storage_id"], case["good_id"]
    since = datetime.now(tz=timezone.utc) - timedelta(minutes=1)
    hook = AltegioHook(page_size=3)
    keys = [f"key{n}" for n in range(7)]
    documents = [
        hook.create_storage_operation(
            {
                "type_id": "receipt",
                "storage_id": storage,
                "create_date": datetime.now(tz=timezone.utc),
                "comment": stamp_comment("delivery", key),
                "transactions": [{"good_id": good, "amount": 1}],
            },
            loc,
        ).document.id
        for key in keys
    ]
    altegio_sandbox.faults.add("GET", f"/storages/transactions/{loc}", shift_rows=-1, count=None)
    walked = {tx.document_id for tx in hook.iter_transactions(loc, changed_after=since)}
    assert documents[3] not in walked  # the fault bites: row 3 sits on the first boundary
    operator = CreateStorageOperationOperator(
        task_id="search",
        location_id=loc,
        operation_type="receipt",
        storage_id=storage,
        transactions=[{"good_id": good, "amount": 1}],
        master_id=990101,
    )
    ((_, request),) = operator.build_requests("dag/run/search", loc)
    found = Booker(hook, loc, since).find_existing(request, keys[3])
    hook.close()  # a later test counts unclosed sockets
    assert found is not None
    assert found.document_id == documents[3]


def test_undo_deletes_the_document_and_takes_its_stock_back(
    stock_case: dict[str, Any], altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    from airflow_provider_altegio.operators.storage import DeleteStorageDocumentOperator

    hook, loc, storage, good = _stock_start(stock_case)[:4]
    before = _stock(hook, loc, good, storage)
    # The DELETE's answer is lost after it was applied: the core sends it again and finds the
    # document gone, which counts as deleted, not as "no such document".
    altegio_sandbox.faults.add("DELETE", f"/api/v1/storage_operations/documents/{loc}/*", drop="after")
    with DAG("storage_undo", schedule=None) as dag:
        write_off = CreateStorageOperationOperator(
            task_id="write_off",
            location_id=loc,
            operation_type="write_off",
            storage_id=storage,
            transactions=[{"good_id": good, "amount": 2}],
        )
        DeleteStorageDocumentOperator(
            task_id="undo",
            location_id=loc,
            document_id="{{ ti.xcom_pull('write_off')['document_id'] }}",
        ).set_upstream(write_off)
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    document_id = xcom(dag_run, "write_off")["document_id"]
    assert xcom(dag_run, "undo") == {"document_id": document_id, "deleted": True}
    assert _stock(hook, loc, good, storage) == pytest.approx(before)  # the write-off taken back
    with pytest.raises(AltegioNotFoundError):
        hook.get_storage_document(document_id, loc)
    assert all(tx.document_id != document_id for tx in hook.iter_transactions(loc))


def test_undo_of_a_document_that_never_existed_fails_at_once(
    stock_case: dict[str, Any], run_dag: Any
) -> None:
    from airflow_provider_altegio.operators.storage import DeleteStorageDocumentOperator

    with DAG("storage_undo_missing", schedule=None) as dag:
        DeleteStorageDocumentOperator(
            task_id="undo", location_id=stock_case["location_id"], document_id=987654, retries=2
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "failed"
    assert _ti(dag_run, "undo").try_number == 1  # no retry can make it exist
