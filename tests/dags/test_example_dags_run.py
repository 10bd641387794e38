"""Each example DAG runs to success against the sandbox (``dag.test()``), and the sandbox
holds the right documents and the right stock afterwards."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
RECEIPT, WRITE_OFF = 3, 4


def load(filename: str, dag_id: str) -> Any:
    """One DAG of one example file, parsed the way the dag processor parses it."""
    from airflow_provider_altegio.compat import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES / filename))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@pytest.fixture
def hook(altegio_sandbox: Any) -> Iterator[Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as altegio:
        yield altegio


def products(hook: Any, location_id: int) -> dict[int, Any]:
    return {p.good_id: p for p in hook.iter_products(location_id)}


def documents(sandbox: Any, type_id: int) -> list[dict[str, Any]]:
    """Documents created since the seed, of one type."""
    return [d for d in sandbox.state()["documents"] if d["type_id"] == type_id]


def transactions_of(sandbox: Any, document: dict[str, Any]) -> list[dict[str, Any]]:
    """A document's transactions, with the product and storage ids the API only nests."""
    return [
        {**t, "good_id": t["good"]["id"], "storage_id": t["storage"]["id"]}
        for t in sandbox.state(document_id=document["id"])["transactions"]
    ]


def failed_tasks(dag_run: Any) -> set[str]:
    return {ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"}


# --------------------------------------------------------------------------------------------
# altegio_restock
# --------------------------------------------------------------------------------------------

LEDGER = "altegio_restock."


@pytest.fixture
def ledger(airflow_db: Path) -> Iterator[Any]:
    """What is on order (the restock's Variables), empty before and after the test; yields a
    reader of its records by order id."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    def clear() -> None:
        with create_session() as session:
            session.query(Variable).filter(Variable.key.startswith(LEDGER)).delete()

    def records() -> dict[str, Any]:
        import json

        with create_session() as session:
            rows = session.query(Variable).filter(Variable.key.startswith(LEDGER + "on_order.")).all()
            return {row.key.rsplit(".", 1)[1]: json.loads(row.val) for row in rows}

    clear()
    yield records
    clear()


@dataclass
class Asked:
    """A form a person was shown: where, its try, its text and its fields' values."""

    task_id: str
    round: int  # the map index: 0 is the first time the form is asked
    try_number: int
    subject: str
    body: str
    fields: dict[str, Any]


Decide = Callable[[Asked], tuple[list[str], dict[str, Any]] | None]


@contextmanager
def manager(api: Any, decide: Decide) -> Iterator[list[Asked]]:
    """A store manager who answers each request (each try of a form, also one asked again) as
    ``decide`` says, through Airflow's REST API as the UI does; yields what they were shown."""
    import threading

    asked: list[Asked] = []
    stop, errors, seen = threading.Event(), [], set()

    def run() -> None:
        try:
            while not stop.wait(0.3):
                pending = api.pending()
                # Seen: shown, and not answered (yet). An answered request leaves the pending
                # list at once; when it is opened again (the last round) it is new to the
                # manager, however soon that happens.
                seen.intersection_update((r.run_id, r.task_id, r.map_index) for r in pending)
                for request in pending:
                    ti = api.client.get(
                        f"/api/v2/dags/{request.dag_id}/dagRuns/{request.run_id}/taskInstances/"
                        f"{request.task_id}/{request.map_index}"
                    ).json()
                    where = (request.run_id, request.task_id, request.map_index)
                    if where in seen:
                        continue
                    seen.add(where)
                    shown = Asked(
                        request.task_id,
                        request.map_index,
                        ti["try_number"],
                        request.subject,
                        request.body or "",
                        request.params,
                    )
                    asked.append(shown)
                    answer = decide(shown)
                    if answer is not None:
                        api.answer(request, *answer)
                        seen.discard(where)
        except BaseException as error:  # raised again in the test
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield asked
    finally:
        stop.set()
        thread.join(timeout=30)
    if errors:
        raise errors[0]


def fill(asked: Asked, option: str, **changes: Any) -> tuple[list[str], dict[str, Any]]:
    """The form as shown, with ``changes``, submitted with ``option``: what the UI sends."""
    return [option], {**asked.fields, **changes}


def approve_and_deliver(
    approve: dict[str, Any] | None = None,
    deliver: dict[str, Any] | None = None,
    reject: bool = False,
    cancel: bool = False,
) -> Decide:
    """Approve (with ``approve`` changed) or reject; confirm the delivery (with ``deliver``
    changed) or say it was cancelled."""

    def decide(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        if asked.task_id == "approve_purchase_order":
            return fill(asked, "Reject" if reject else "Approve", **(approve or {}))
        return fill(asked, "Cancelled" if cancel else "Delivered", **(deliver or {}))

    return decide


def run_restock(
    run_dag: Any, api: Any, decide: Decide, conf: dict[str, Any], **kwargs: Any
) -> tuple[Any, list[Asked]]:
    with manager(api, decide) as asked:
        dag_run = run_dag(load("altegio_restock.py", "altegio_restock"), run_conf=conf, **kwargs)
    return dag_run, asked


@pytest.mark.hitl
def test_restock_orders_after_approval_and_books_what_arrived_exactly_once(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any
) -> None:
    """The whole purchase: draft, approval with a changed quantity (the form's number field of
    line 1, through Airflow's REST API), the order files, a delivery with line 2 missing and an
    extra item, and one receipt per storage of what arrived, at the order's prices; the lost
    answer of a receipt is found, not booked twice. Line 2 stays on order."""
    locations = altegio_sandbox.location_ids
    before = {loc: products(hook, loc) for loc in locations}
    # The answer to the first receipt is lost after the server applied it (a dropped connection):
    # the operator must find the document by its key instead of booking the delivery twice.
    altegio_sandbox.faults.add("POST", "/storage_operations/operation/*", drop="after", count=1)
    decide = approve_and_deliver(
        approve={"line_1": 20},
        deliver={"line_2": 0, "extra_items": [{"code": "X-1", "amount": 2}], "delivery_note": "DN-7"},
    )
    dag_run, asked = run_restock(
        run_dag, airflow_api, decide, {"location_ids": locations, "work_dir": tmp_path.as_uri()}
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert [a.task_id for a in asked] == ["approve_purchase_order", "confirm_delivery"]

    low = xcom(dag_run, "find_products_to_restock")
    draft = xcom(dag_run, "draft_purchase_order")
    sent = xcom(dag_run, "send_purchase_order")
    # The draft is exactly the products at or below critical, counted over each location.
    expected = {
        (loc, p.good_id)
        for loc in locations
        for p in before[loc].values()
        if sum(a.amount for a in p.actual_amounts) <= (p.critical_amount or 0) < (p.desired_amount or 0)
    }
    assert {(line["location_id"], line["good_id"]) for line in low} == expected
    ordered = {(line["location_id"], line["good_id"]) for line in draft["lines"]}
    not_carried = {(item["location_id"], item["good_id"]) for item in draft["not_carried"]}
    assert draft["lines"], "the seeded supplier carries some of the products"
    assert not_carried, "the seeded supplier does not carry every product"
    assert ordered | not_carried == expected
    assert not ordered & not_carried
    for line in draft["lines"]:
        assert line["quantity"] == math.ceil(line["desired_amount"] - line["on_hand"])
        assert line["supplier_code"]
        assert line["cost_per_unit"] > 0

    # The approval is one number field per line, labelled with its product, at the drafted
    # quantity; what is not carried is said above them.
    approval = asked[0]
    assert approval.fields == {f"line_{line['line']}": line["quantity"] for line in draft["lines"]}
    assert approval.body.startswith(f"Purchase order **{draft['order_id']}** to Altacolor:")
    assert "**Not carried by Altacolor**, to order elsewhere" in approval.body
    # The approval changed line 1; the order files say so, and who approved.
    assert sent["lines"][0]["quantity"] == 20
    assert sent["approved_by"] == "store_manager"
    csv_text = (tmp_path / "altegio_restock").glob("*/order/order.csv").__next__().read_text()
    assert csv_text.splitlines()[0].startswith("line,supplier_code,title,quantity")
    assert len(csv_text.splitlines()) == len(sent["lines"]) + 1

    # Delivery: line 2 did not come, the extra item is reported, not booked.
    assert set(asked[1].fields) == {f"line_{line['line']}" for line in sent["lines"]} | {
        "extra_items",
        "delivery_note",
    }
    delivery = xcom(dag_run, "check_delivery")
    differing = [
        (line["line"], line["received"]) for line in delivery["lines"] if line["received"] != line["quantity"]
    ]
    assert differing == [(2, 0)]
    assert delivery["extra_items"] == [{"code": "X-1", "amount": 2}]
    assert delivery["note"] == "DN-7"

    receipts_args = xcom(dag_run, "plan_receipts")
    created = documents(altegio_sandbox, RECEIPT)
    assert (
        len(created)
        == len(receipts_args)
        == len({(a["location_id"], a["storage_id"]) for a in receipts_args})
    )
    results = [xcom(dag_run, "create_receipt", map_index=i) for i in range(len(receipts_args))]
    assert sorted(result["created"] for result in results) == [False] + [True] * (len(results) - 1)
    booked = {}
    for args, result in zip(receipts_args, results, strict=True):
        (document,) = [d for d in created if d["id"] == result["document_id"]]
        assert document["storage_id"] == args["storage_id"]
        assert f"purchase order {sent['order_id']}" in document["comment"]
        for t in transactions_of(altegio_sandbox, document):
            booked[(args["location_id"], t["good_id"])] = (t["amount"], t["cost_per_unit"])
    expected_booked = {
        (line["location_id"], line["good_id"]): (line["quantity"], line["cost_per_unit"])
        for line in sent["lines"]
        if line["line"] != 2
    }
    assert booked == expected_booked
    line2 = sent["lines"][1]
    assert hook.get_product(line2["good_id"], line2["location_id"]).on_hand() == pytest.approx(
        line2["on_hand"]
    )
    summary = xcom(dag_run, "summarise_restock")
    assert summary["outcome"] == "delivered"
    assert summary["short_lines"] == [2]
    assert summary["extra_items"] == 1
    # What did not come stays on order, and only that.
    (record,) = ledger().values()
    assert record["order_id"] == sent["order_id"]
    assert record["status"] == "delivered"
    assert record["received"][sent["order_id"]]["2"] == 0


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """A real SMTP server on loopback (aiosmtpd) behind the ``smtp_default`` connection; yields
    the messages it received."""
    import email
    import json
    import socket

    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "restock@salon.example"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    try:
        yield received
    finally:
        controller.stop()


@pytest.mark.hitl
def test_restock_e_mails_the_approved_order_when_asked(
    altegio_sandbox: Any,
    run_dag: Any,
    xcom: Any,
    airflow_api: Any,
    smtp_server: list[Any],
    tmp_path: Path,
    ledger: Any,
) -> None:
    conf = {
        "location_ids": altegio_sandbox.location_ids[:1],
        "work_dir": tmp_path.as_uri(),
        "order_email": "orders@altacolor.example, buyer@salon.example",
    }
    dag_run, _ = run_restock(run_dag, airflow_api, approve_and_deliver(), conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    sent = xcom(dag_run, "send_purchase_order")
    (message,) = smtp_server
    assert message["Subject"] == f"Purchase order {sent['order_id']}"
    assert message["From"] == "restock@salon.example"
    assert "orders@altacolor.example" in message["To"]
    assert "buyer@salon.example" in message["To"]
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == f"{sent['order_id']}.csv"
    rows = attachment.get_payload(decode=True).decode().splitlines()
    assert len(rows) == len(sent["lines"]) + 1
    assert "Approved by store_manager" in next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/html"
    )


@pytest.mark.hitl
def test_restock_rejected_sends_and_books_nothing_and_says_so(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any, caplog: Any
) -> None:
    """A rejection skips sending and everything after, and the summary still runs: its first
    log line and its XCom say the order was rejected, by whom; nothing stays on order."""
    dag_run, asked = run_restock(
        run_dag,
        airflow_api,
        approve_and_deliver(reject=True),
        {"location_ids": altegio_sandbox.location_ids[:1], "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["send_purchase_order"] == states["confirm_delivery"] == "skipped"
    assert states["summarise_restock"] == "success"
    assert [a.task_id for a in asked] == ["approve_purchase_order"]
    summary = xcom(dag_run, "summarise_restock")
    assert summary["outcome"] == "rejected"
    assert summary["detail"].startswith("by store_manager at ")
    assert f"Order {summary['order_id']}: REJECTED, by store_manager" in caplog.text
    assert list(tmp_path.glob("*/*/order/*")) == []
    assert documents(altegio_sandbox, RECEIPT) == []
    assert ledger() == {}


@pytest.mark.hitl
def test_restock_cancelled_delivery_books_nothing(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any
) -> None:
    """Cancelled is a button that works with the form as it comes (no delivery note needed)."""
    dag_run, _ = run_restock(
        run_dag,
        airflow_api,
        approve_and_deliver(cancel=True),
        {"location_ids": altegio_sandbox.location_ids[:1], "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["check_delivery"] == "skipped"
    assert xcom(dag_run, "summarise_restock")["outcome"] == "cancelled"
    assert len(list(tmp_path.glob("*/*/order/order.csv"))) == 1  # the order was sent
    assert documents(altegio_sandbox, RECEIPT) == []
    assert ledger() == {}


@pytest.mark.hitl
def test_restock_unusable_answers_are_asked_again_not_lost(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any
) -> None:
    """Answers the form cannot use (a line the order does not have, through the API; half a
    bottle; the shape before 0.3 naming a missing line; no quantity) do not fail the run: the
    form is asked again at once as a new request, the problems at its top, the rest of the
    answer kept; the last round, refused too, opens its own request again; the answer that can
    be used goes on. The delivery form does the same."""
    bad = [
        {"line_99": 3},
        {"line_1": 10.5, "line_2": 4},
        {"quantities": {"999": 3}},
        {"line_1": None},
        {"line_1": 2.25},  # the last round: asked again as it is
    ]

    def decide(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        if asked.task_id == "confirm_delivery":  # an extra item without its amount, then right
            extra = [{"code": "X-1"}] if asked.round == 0 else [{"code": "X-1", "amount": 1}]
            return fill(asked, "Delivered", extra_items=extra)
        if bad:
            return ["Approve"], {**asked.fields, **bad.pop(0)}
        return fill(asked, "Approve", line_1=7)

    dag_run, asked = run_restock(
        run_dag,
        airflow_api,
        decide,
        {"location_ids": altegio_sandbox.location_ids[:1], "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    approvals = [a for a in asked if a.task_id == "approve_purchase_order"]
    assert [a.round for a in approvals] == [0, 1, 2, 3, 4, 4]  # a new request each time, but the last
    assert "not accepted" not in approvals[0].body
    order_id = xcom(dag_run, "draft_purchase_order")["order_id"]
    assert approvals[1].body.startswith("> **Your last answer was not accepted:**")
    assert f"order {order_id} has no line 99" in approvals[1].body
    assert "must be a whole number, got 10.5" in approvals[2].body
    assert approvals[2].fields["line_2"] == 4  # what was right is kept; 10.5 is not
    assert approvals[2].fields["line_1"] == approvals[0].fields["line_1"]
    assert f"order {order_id} has no line 999" in approvals[3].body
    assert xcom(dag_run, "send_purchase_order")["lines"][0]["quantity"] == 7
    deliveries = [a for a in asked if a.task_id == "confirm_delivery"]
    assert [a.round for a in deliveries] == [0, 1]
    assert "Delivered but not ordered, item 1 (X-1): amount is required" in deliveries[1].body
    assert xcom(dag_run, "check_delivery")["extra_items"] == [{"code": "X-1", "amount": 1}]
    assert "got 2.25" not in approvals[5].body  # the last request's text stays as it was made
    assert approvals[5].body == approvals[4].body
    rounds = [xcom(dag_run, "approve_purchase_order", map_index=i)["outcome"] for i in range(5)]
    assert rounds == ["refused"] * 4 + ["accepted"]
    assert xcom(dag_run, "summarise_restock")["outcome"] == "delivered"


def test_restock_with_nothing_below_critical_books_nothing(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, tmp_path: Path, ledger: Any
) -> None:
    """The branch: when every product is above critical, the run succeeds, reads nothing more
    and the summary says there was nothing to order."""
    location = altegio_sandbox.location_ids[0]
    low = [
        p
        for p in products(hook, location).values()
        if sum(a.amount for a in p.actual_amounts) <= (p.critical_amount or 0)
    ]
    for product in low:
        hook.update_product(product.good_id, {"critical_amount": 0, "desired_amount": 0}, location)

    dag_run = run_dag(
        load("altegio_restock.py", "altegio_restock"),
        run_conf={"location_ids": [location], "work_dir": tmp_path.as_uri()},
    )
    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["price_from_supplier"] == states["draft_purchase_order"] == "skipped"
    assert xcom(dag_run, "summarise_restock")["outcome"] == "nothing to order"
    assert documents(altegio_sandbox, RECEIPT) == []


@pytest.mark.hitl
def test_restock_short_delivery_stays_on_order_and_arrives_later_against_its_order(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any
) -> None:
    """Back-orders: order 5, 3 arrive; the next run orders none of that product, since stock and
    the 2 on order reach its desired amount, and shows the 2 as still on order; when they come
    with that run's delivery, they are booked against the first order, and nothing is left on
    order."""
    location = altegio_sandbox.location_ids[0]
    conf = {"location_ids": [location], "work_dir": tmp_path.as_uri()}

    def first(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        if asked.task_id == "approve_purchase_order":  # 5 of line 1, nothing else
            return fill(asked, "Approve", **{name: 5 if name == "line_1" else 0 for name in asked.fields})
        return fill(asked, "Delivered", line_1=3)

    run1, _ = run_restock(run_dag, airflow_api, first, conf)
    assert run1.state == "success", failed_tasks(run1)
    sent = xcom(run1, "send_purchase_order")
    (line,) = sent["lines"]
    first_order = sent["order_id"]
    assert (line["line"], line["quantity"]) == (1, 5)
    (record,) = ledger().values()
    assert (record["order_id"], record["status"]) == (first_order, "delivered")
    product = hook.get_product(line["good_id"], location)
    stock = product.on_hand()
    assert stock == pytest.approx(line["on_hand"] + 3)
    # Still low, and the 2 on order bring it exactly to its desired amount.
    hook.update_product(line["good_id"], {"critical_amount": stock, "desired_amount": stock + 2}, location)

    def second(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        if asked.task_id == "approve_purchase_order":
            return fill(asked, "Approve")
        return fill(asked, "Delivered", **{f"back_order_{first_order}_1": 2})

    run2, asked = run_restock(run_dag, airflow_api, second, conf)
    assert run2.state == "success", failed_tasks(run2)
    draft = xcom(run2, "draft_purchase_order")
    assert draft["lines"], "the products dropped from the first order are still low"
    assert line["good_id"] not in {x["good_id"] for x in draft["lines"]}  # it orders 0 of it
    assert line["good_id"] in {x["good_id"] for x in draft["covered"]}
    assert [(b["order_id"], b["line"], b["good_id"], b["outstanding"]) for b in draft["back_orders"]] == [
        (first_order, 1, line["good_id"], 2)
    ]
    approval, delivery_form = asked
    assert "**Low, but covered by what is already on order** (1): " in approval.body
    assert f"{first_order} line 1: {line['title']} (2 {line['unit']} to come)" in approval.body
    assert delivery_form.fields[f"back_order_{first_order}_1"] == 0  # nothing assumed to arrive
    # The 2 are booked with this delivery, against the first order, at its price.
    booked = [
        t
        for d in documents(altegio_sandbox, RECEIPT)
        for t in transactions_of(altegio_sandbox, d)
        if t["comment"].startswith(f"{first_order} line 1 (back-order)")
    ]
    assert [(t["good_id"], t["amount"], t["cost_per_unit"]) for t in booked] == [
        (line["good_id"], 2, line["cost_per_unit"])
    ]
    assert hook.get_product(line["good_id"], location).on_hand() == pytest.approx(stock + 2)
    assert xcom(run2, "summarise_restock")["back_orders_received"] == [f"back_order_{first_order}_1"]
    assert ledger() == {}  # both orders arrived in full


@pytest.mark.hitl
def test_restock_back_orders_only_receives_or_cancels_what_is_on_order(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, airflow_api: Any, tmp_path: Path, ledger: Any
) -> None:
    """A back-order that comes (or is cancelled) on its own: ``back_orders_only`` orders
    nothing, asks nobody to approve, and asks for the back-orders' delivery alone; a cancelled
    back-order is no longer on order, and nothing is booked for it."""
    location = altegio_sandbox.location_ids[0]
    conf = {"location_ids": [location], "work_dir": tmp_path.as_uri()}
    short = approve_and_deliver(deliver={"line_1": 0, "line_2": 1})
    run1, _ = run_restock(run_dag, airflow_api, short, conf)
    assert run1.state == "success", failed_tasks(run1)
    order_id = xcom(run1, "send_purchase_order")["order_id"]
    before = len(documents(altegio_sandbox, RECEIPT))

    def cancel_line_1_receive_line_2(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        return fill(
            asked,
            "Delivered",
            cancelled_back_orders=[f"back_order_{order_id}_1"],
            **{f"back_order_{order_id}_2": 1},
        )

    run2, asked = run_restock(
        run_dag, airflow_api, cancel_line_1_receive_line_2, {**conf, "back_orders_only": True}
    )
    assert run2.state == "success", failed_tasks(run2)
    (form,) = asked  # no approval: nothing new is ordered
    assert form.task_id == "confirm_delivery"
    assert not [name for name in form.fields if name.startswith("line_")]
    assert {name for name in form.fields if name.startswith("back_order_")} >= {
        f"back_order_{order_id}_1",
        f"back_order_{order_id}_2",
    }
    states = {ti.task_id: ti.state for ti in run2.get_task_instances()}
    assert states["price_from_supplier"] == "skipped"
    assert xcom(run2, "approve_purchase_order", map_index=0)["responded_by_user"]["name"].startswith("nobody")
    (receipt,) = documents(altegio_sandbox, RECEIPT)[before:]
    (received,) = transactions_of(altegio_sandbox, receipt)
    assert received["comment"].startswith(f"{order_id} line 2 (back-order)")
    outstanding = {key: n for key, n in _outstanding(ledger()).items() if key.startswith(order_id)}
    assert f"{order_id}/1" not in outstanding  # cancelled
    assert outstanding.get(f"{order_id}/2", 0) == (
        xcom(run1, "send_purchase_order")["lines"][1]["quantity"] - 2
    )


def _outstanding(records: dict[str, Any]) -> dict[str, int]:
    """``{"<order>/<line>": units}`` still on order in the ledger's records."""
    from airflow_provider_altegio.workflows.restock import OrderBook, OrderStore

    book = OrderBook(OrderStore({f"p.{k}": v for k, v in records.items()}), prefix="p.")
    return {f"{b.order_id}/{b.line}": b.outstanding for b in book.back_orders()}


def test_asset_triggered_restock_says_first_when_the_product_that_started_it_is_not_carried(
    altegio_sandbox: Any, hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run the low-stock watcher started: when the product that ran low is not in the order
    (the supplier does not carry it), the approval says so before anything else. The draft's
    callable is given the run's asset events as Airflow gives them (``triggering_asset_events``)."""
    from types import SimpleNamespace

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.workflows.catalogue import supplier_details
    from airflow_provider_altegio.workflows.restock import OrderBook, OrderStore, PurchaseOrder, low_stock

    dag = load("altegio_restock.py", "altegio_restock")
    draft = dag.get_task("draft_purchase_order").python_callable
    monkeypatch.setitem(draft.__globals__, "_order_book", lambda: OrderBook(OrderStore()))
    location = altegio_sandbox.location_ids[0]
    shortages = [item.model_dump(mode="json") for item in low_stock(hook, location)]
    with AltacolorHook() as altacolor:  # what price_from_supplier hands the draft
        codes = [line["article"] or line["barcode"] for line in shortages]
        as_read = [product.to_json_dict() for product in supplier_details(altacolor, codes)]
    order = PurchaseOrder.model_validate(
        draft(shortages, as_read, params={"back_orders_only": False}, run_id="asset_triggered__1")
    )
    missing, carried = order.not_carried[0], order.lines[0]
    from airflow.sdk.definitions.asset import AssetUniqueKey

    asset = dag.timetable.asset_condition

    def started_by(good_id: int) -> dict[str, Any]:
        event = SimpleNamespace(
            extra={
                "from_trigger": True,
                "payload": {"location_id": location, "product_ids": [good_id], "count": 1},
            }
        )
        return draft(
            shortages,
            as_read,
            params={"back_orders_only": False},
            run_id="asset_triggered__1",
            # Keyed as Airflow's accessor keys them (an Asset with watchers is unhashable on 3.1).
            triggering_asset_events={AssetUniqueKey.from_asset(asset): [event]},
        )

    noticed = PurchaseOrder.model_validate(started_by(missing.good_id))
    assert noticed.notices == [
        f"This run started because {missing.title} (location {location}) ran low, but Altacolor "
        "does not carry it, so it is not in this order: order it elsewhere."
    ]
    assert noticed.approval_form().body.startswith(f"> **{noticed.notices[0]}**")
    assert PurchaseOrder.model_validate(started_by(carried.good_id)).notices == []


def test_low_stock_watcher_reports_a_product_that_ran_low(altegio_sandbox: Any, hook: Any) -> None:
    """The example's event trigger, run as the triggerer runs it: a product edited so that its
    stock is at or below its critical amount makes one event; products that changed but are not
    low make none."""
    import asyncio

    from airflow.sdk import Asset

    restock_file = load("altegio_restock.py", "altegio_restock")
    asset = restock_file.timetable.asset_condition
    assert isinstance(asset, Asset)
    trigger = asset.watchers[0].trigger
    trigger.poke_interval = 0.2

    location = altegio_sandbox.location_ids[0]
    catalogue = list(hook.iter_products(location))
    plenty = next(p for p in catalogue if sum(a.amount for a in p.actual_amounts) > 5)
    hook.update_product(plenty.good_id, {"critical_amount": 0}, location)  # changed, not low

    async def first_event() -> Any:
        events = trigger.run()
        first = await anext(events)
        await events.aclose()
        return first

    async def scenario() -> Any:
        waiting = asyncio.create_task(first_event())
        await asyncio.sleep(1.0)  # a poll or more with only the change that is not low
        low = sum(a.amount for a in plenty.actual_amounts) + 1
        await asyncio.to_thread(hook.update_product, plenty.good_id, {"critical_amount": low}, location)
        return await asyncio.wait_for(waiting, 30)

    event = asyncio.run(scenario())
    assert event.payload["product_ids"] == [plenty.good_id]
    assert event.payload["count"] == 1


# --------------------------------------------------------------------------------------------
# altegio_write_off
# --------------------------------------------------------------------------------------------


@pytest.fixture
def stocktake(altegio_sandbox: Any, hook: Any) -> dict[str, Any]:
    """Products with stock at the first location: two on the shelf, one professional in the back."""
    location = altegio_sandbox.location_ids[0]
    storages = hook.list_storages(location)
    retail = next(s.id for s in storages if s.for_sale)
    back = next(s.id for s in storages if s.for_services)
    catalogue = sorted(products(hook, location).values(), key=lambda p: p.good_id)
    shelf = [p for p in catalogue if p.amount_in(retail) >= 3]
    professional = [
        p for p in catalogue if p.amount_in(back) >= 2 and not p.amount_in(retail) and p.unit_equals > 1
    ]
    return {
        "location": location,
        "retail": retail,
        "back": back,
        "a": shelf[0],
        "b": shelf[1],
        "pro": professional[0],
    }


def test_write_off_one_document_per_storage_with_units(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, stocktake: dict[str, Any]
) -> None:
    s = stocktake
    a, b, pro = s["a"], s["b"], s["pro"]
    half = pro.unit_equals / 2  # in the service unit (ml or g): half a bottle
    lines = [
        {"barcode": a.barcode, "amount": 2, "reason": "broken in delivery"},
        {"article": b.article, "amount": 1, "reason": "past its expiry date"},
        {"code": a.article, "amount": 1, "reason": "broken in delivery"},  # same product, added up
        {
            "article": pro.article,
            "amount": half,
            "unit": "service",
            "storage_id": s["back"],
            "reason": "spilled",
        },
    ]
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={"location_id": s["location"], "lines": lines, "reason_prefix": "Stocktake"},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)

    created = sorted(documents(altegio_sandbox, WRITE_OFF), key=lambda d: d["storage_id"])
    assert [d["storage_id"] for d in created] == sorted([s["retail"], s["back"]])
    by_storage = {d["storage_id"]: d for d in created}
    assert by_storage[s["retail"]]["comment"].startswith(
        "Stocktake: broken in delivery x2; past its expiry date [airflow:"
    )
    assert by_storage[s["back"]]["comment"].startswith("Stocktake: spilled [airflow:")
    retail_lines = transactions_of(altegio_sandbox, by_storage[s["retail"]])
    assert sorted((t["good_id"], t["amount"], t["comment"]) for t in retail_lines) == sorted(
        [
            (a.good_id, -2, "broken in delivery"),
            (b.good_id, -1, "past its expiry date"),
            (a.good_id, -1, "broken in delivery"),
        ]
    )
    (pro_line,) = transactions_of(altegio_sandbox, by_storage[s["back"]])
    assert pro_line["operation_unit_type"] == 2
    assert pro_line["amount"] == pytest.approx(-half)

    loc = s["location"]
    assert hook.get_product(a.good_id, loc).amount_in(s["retail"]) == pytest.approx(
        a.amount_in(s["retail"]) - 3
    )
    assert hook.get_product(b.good_id, loc).amount_in(s["retail"]) == pytest.approx(
        b.amount_in(s["retail"]) - 1
    )
    # Half a bottle in ml is half a unit of stock (stock is kept in the sale unit).
    assert hook.get_product(pro.good_id, loc).amount_in(s["back"]) == pytest.approx(
        pro.amount_in(s["back"]) - 0.5
    )
    assert [xcom(dag_run, "create_write_off", map_index=i)["created"] for i in range(2)] == [True, True]


def _bad_lines(s: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = s["a"], s["b"]
    return [
        {"barcode": a.barcode, "amount": 1, "reason": "broken"},  # good
        {"barcode": "0000000000000", "amount": 1, "reason": "unknown"},
        {"article": b.article, "amount": b.amount_in(s["retail"]) + 5, "reason": "too many"},
        {"article": b.article, "amount": 0, "reason": "zero"},
        {"code": a.article, "amount": "two", "reason": "not a number"},
    ]


def test_write_off_bad_lines_stop_the_batch(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any]
) -> None:
    dag = load("altegio_write_off.py", "altegio_write_off")
    dag_run = run_dag(dag, run_conf={"location_id": stocktake["location"], "lines": _bad_lines(stocktake)})
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["check_lines_against_stock"] == "failed"
    assert states["create_write_off"] in ("upstream_failed", None)
    assert documents(altegio_sandbox, WRITE_OFF) == []
    a = stocktake["a"]
    assert hook.get_product(a.good_id, stocktake["location"]).amount_in(stocktake["retail"]) == a.amount_in(
        stocktake["retail"]
    )


def test_write_off_check_reports_every_bad_line(
    altegio_sandbox: Any, hook: Any, stocktake: dict[str, Any]
) -> None:
    """The error names each bad line and why (the check task's callable, run directly)."""
    from airflow_provider_altegio.compat import AirflowFailException

    dag = load("altegio_write_off.py", "altegio_write_off")
    params = {
        "location_id": stocktake["location"],
        "storage_id": None,
        "skip_bad_lines": False,
        "lines": _bad_lines(stocktake),
        "csv_path": None,
    }
    lines = dag.get_task("read_write_off_lines").python_callable(params=params)
    matched = dag.get_task("match_lines_to_products").python_callable(lines, params=params)
    with pytest.raises(AirflowFailException) as failure:
        dag.get_task("check_lines_against_stock").python_callable(matched, params=params)
    message = str(failure.value)
    assert message.startswith("4 of 5 write-off lines are bad; nothing was written off.")
    assert "params line 2 (0000000000000): no product with barcode '0000000000000'" in message
    assert "params line 3 (" in message
    assert "on hand in Retail shelf" in message
    assert "params line 4 (" in message
    assert "amount must be greater than 0" in message
    assert "params line 5 (" in message
    assert "amount 'two' is not a number" in message
    assert "params line 1" not in message


def test_write_off_can_skip_bad_lines(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any]
) -> None:
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={
            "location_id": stocktake["location"],
            "lines": _bad_lines(stocktake),
            "skip_bad_lines": True,
        },
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    (document,) = documents(altegio_sandbox, WRITE_OFF)
    (line,) = transactions_of(altegio_sandbox, document)
    assert (line["good_id"], line["amount"]) == (stocktake["a"].good_id, -1)


def test_write_off_from_csv(
    altegio_sandbox: Any, hook: Any, run_dag: Any, stocktake: dict[str, Any], tmp_path: Path
) -> None:
    a, pro = stocktake["a"], stocktake["pro"]
    csv_file = tmp_path / "stocktake.csv"
    csv_file.write_text(
        "code,amount,reason,unit,storage_id\n"
        f"{a.barcode},1,damaged box,,\n"
        f"{pro.article},{pro.unit_equals:g},used up,service,{stocktake['back']}\n"
    )
    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"),
        run_conf={"location_id": stocktake["location"], "csv_path": str(csv_file)},
    )
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert sorted(d["storage_id"] for d in documents(altegio_sandbox, WRITE_OFF)) == sorted(
        [stocktake["retail"], stocktake["back"]]
    )
    loc = stocktake["location"]
    assert hook.get_product(pro.good_id, loc).amount_in(stocktake["back"]) == pytest.approx(
        pro.amount_in(stocktake["back"]) - 1
    )


# --------------------------------------------------------------------------------------------
# altegio_stocktake
# --------------------------------------------------------------------------------------------


def approver(answer: str = "Approve") -> Any:
    """A manager who gives ``answer`` to every approval and keeps what they were shown."""
    asked: list[Any] = []

    def decide(api: Any, request: Any) -> Any:
        asked.append(request)
        return [answer], {}

    decide.asked = asked  # type: ignore[attr-defined]
    return decide


def stocktake_counts(s: dict[str, Any], surplus: int = 1) -> list[dict[str, Any]]:
    """Two short on the shelf (product a), b as recorded plus ``surplus``, and the professional
    product measured in its service unit, half a sale unit short."""
    a, b, pro = s["a"], s["b"], s["pro"]
    return [
        {"barcode": a.barcode, "counted": a.amount_in(s["retail"]) - 2},
        {"article": b.article, "counted": b.amount_in(s["retail"]) + surplus},
        {
            "article": pro.article,
            "counted": pro.amount_in(s["back"]) * pro.unit_equals - pro.unit_equals / 2,
            "unit": "service",
            "storage_id": s["back"],
        },
    ]


def run_stocktake(run_dag: Any, airflow_api: Any, manager: Any, conf: dict[str, Any]) -> Any:
    from airflow_provider_altegio.sandbox.airflow_api import answering

    with answering(airflow_api, manager):
        return run_dag(load("altegio_stocktake.py", "altegio_stocktake"), run_conf=conf)


@pytest.mark.hitl
def test_stocktake_writes_off_shortfalls_in_the_counted_unit_after_approval(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, airflow_api: Any, stocktake: dict[str, Any]
) -> None:
    s = stocktake
    a, b, pro = s["a"], s["b"], s["pro"]
    manager = approver()
    dag_run = run_stocktake(
        run_dag, airflow_api, manager, {"location_id": s["location"], "counts": stocktake_counts(s)}
    )
    assert dag_run.state == "success", failed_tasks(dag_run)

    # The manager saw every difference, in the unit it was counted in and in the sale unit.
    (request,) = manager.asked
    half = pro.unit_equals / 2
    ml = pro.service_unit_short_title
    explained = f"-{half:g} {ml} = -0.5 {pro.unit_short_title} of {pro.unit_equals:g} {ml}"
    assert explained in request.body
    compared = {d["good_id"]: d for d in xcom(dag_run, "compare_with_stock")["differences"]}
    assert compared[pro.good_id]["explained"] == explained
    assert compared[pro.good_id]["unit"] == "service"
    assert compared[a.good_id]["difference"] == -2
    assert compared[b.good_id]["difference"] == 1

    # Shortfalls only (book_surpluses is off): one write-off per storage, in the counted unit.
    assert documents(altegio_sandbox, RECEIPT) == []
    by_storage = {d["storage_id"]: d for d in documents(altegio_sandbox, WRITE_OFF)}
    assert set(by_storage) == {s["retail"], s["back"]}
    (shelf_line,) = transactions_of(altegio_sandbox, by_storage[s["retail"]])
    assert (shelf_line["good_id"], shelf_line["amount"], shelf_line["operation_unit_type"]) == (
        a.good_id,
        -2,
        1,
    )
    (back_line,) = transactions_of(altegio_sandbox, by_storage[s["back"]])
    assert (back_line["good_id"], back_line["operation_unit_type"]) == (pro.good_id, 2)
    assert back_line["amount"] == pytest.approx(-half)

    loc = s["location"]
    assert hook.get_product(a.good_id, loc).amount_in(s["retail"]) == pytest.approx(
        a.amount_in(s["retail"]) - 2
    )
    assert hook.get_product(b.good_id, loc).amount_in(s["retail"]) == pytest.approx(b.amount_in(s["retail"]))
    assert hook.get_product(pro.good_id, loc).amount_in(s["back"]) == pytest.approx(
        pro.amount_in(s["back"]) - 0.5
    )
    assert xcom(dag_run, "summarise_stocktake") == {
        "documents": [
            r["document_id"] for r in (xcom(dag_run, "book_stocktake", map_index=i) for i in range(2))
        ],
        "short": 2,
        "surplus": 1,
        "as_counted": 0,
    }


@pytest.mark.hitl
def test_stocktake_of_a_whole_chain_books_per_location_and_storage(
    altegio_sandbox: Any, hook: Any, run_dag: Any, airflow_api: Any, stocktake: dict[str, Any]
) -> None:
    """One sheet for two locations: lines name their location; one write-off is booked per
    location and storage, each a mapped task instance."""
    s = stocktake
    first, second = altegio_sandbox.location_ids[:2]
    a = s["a"]
    there = next(p for p in hook.iter_products(second, term=a.article) if p.article == a.article)
    retail_there = next(st.id for st in hook.list_storages(second) if st.for_sale)
    on_shelf_there = there.amount_in(retail_there)
    counts = [
        {"barcode": a.barcode, "counted": a.amount_in(s["retail"]) - 1},
        {"article": a.article, "counted": on_shelf_there - 1, "location_id": second},
    ]
    dag_run = run_stocktake(run_dag, airflow_api, approver(), {"location_id": first, "counts": counts})
    assert dag_run.state == "success", failed_tasks(dag_run)
    booked = {(d["company_id"], d["storage_id"]) for d in documents(altegio_sandbox, WRITE_OFF)}
    assert booked == {(first, s["retail"]), (second, retail_there)}
    assert hook.get_product(there.good_id, second).amount_in(retail_there) == pytest.approx(
        on_shelf_there - 1
    )
    map_indexes = sorted(
        ti.map_index for ti in dag_run.get_task_instances() if ti.task_id == "book_stocktake"
    )
    assert map_indexes == [0, 1]


@pytest.mark.hitl
def test_stocktake_books_surpluses_as_a_receipt_at_cost_price_when_asked(
    altegio_sandbox: Any, hook: Any, run_dag: Any, airflow_api: Any, stocktake: dict[str, Any]
) -> None:
    s = stocktake
    b = s["b"]
    conf = {"location_id": s["location"], "counts": stocktake_counts(s, surplus=3), "book_surpluses": True}
    dag_run = run_stocktake(run_dag, airflow_api, approver(), conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    (receipt,) = documents(altegio_sandbox, RECEIPT)
    (line,) = transactions_of(altegio_sandbox, receipt)
    assert (line["good_id"], line["amount"]) == (b.good_id, 3)
    assert line["cost_per_unit"] == pytest.approx(b.actual_cost)
    assert hook.get_product(b.good_id, s["location"]).amount_in(s["retail"]) == pytest.approx(
        b.amount_in(s["retail"]) + 3
    )


@pytest.mark.hitl
def test_stocktake_rejected_books_nothing(
    altegio_sandbox: Any, run_dag: Any, airflow_api: Any, stocktake: dict[str, Any]
) -> None:
    conf = {"location_id": stocktake["location"], "counts": stocktake_counts(stocktake)}
    dag_run = run_stocktake(run_dag, airflow_api, approver("Reject"), conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert documents(altegio_sandbox, WRITE_OFF) == documents(altegio_sandbox, RECEIPT) == []


def test_stocktake_bad_lines_fail_before_anyone_is_asked(
    altegio_sandbox: Any, run_dag: Any, airflow_api: Any, stocktake: dict[str, Any], tmp_path: Path
) -> None:
    """Every bad line is named (params and CSV alike); nobody is asked, nothing is booked."""
    from airflow_provider_altegio.compat import AirflowFailException

    csv_file = tmp_path / "counts.csv"
    csv_file.write_text(f"code,counted,unit\n{stocktake['a'].article},3,litre\n")
    params = {
        "location_id": stocktake["location"],
        "storage_id": None,
        "counts": [
            {"barcode": "0000000000000", "counted": 1},
            {"article": stocktake["b"].article, "counted": -1},
        ],
        "csv_path": str(csv_file),
    }
    dag = load("altegio_stocktake.py", "altegio_stocktake")
    with pytest.raises(AirflowFailException) as failure:
        dag.get_task("compare_with_stock").python_callable(params=params)
    message = str(failure.value)
    assert message.startswith("3 of 3 stocktake lines are bad; nothing was booked.")
    assert "counts line 1 (0000000000000): no product with barcode '0000000000000'" in message
    assert "counts line 2 (" in message
    assert "counted must be 0 or more, got -1" in message
    assert "counts.csv row 2 (" in message
    assert "unit 'litre' is neither 'sale' nor 'service'" in message

    manager = approver()
    dag_run = run_stocktake(run_dag, airflow_api, manager, params)
    assert dag_run.state == "failed"
    assert manager.asked == []
    assert documents(altegio_sandbox, WRITE_OFF) == []


def test_stocktake_that_matches_the_stock_asks_nobody(
    altegio_sandbox: Any, run_dag: Any, airflow_api: Any, stocktake: dict[str, Any]
) -> None:
    a = stocktake["a"]
    manager = approver()
    conf = {
        "location_id": stocktake["location"],
        "counts": [{"code": a.barcode, "counted": a.amount_in(stocktake["retail"])}],
    }
    dag_run = run_stocktake(run_dag, airflow_api, manager, conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert manager.asked == []
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["approve_stocktake"] == "skipped"


# --------------------------------------------------------------------------------------------
# altacolor_catalogue_sync
# --------------------------------------------------------------------------------------------


def test_catalogue_sync_updates_and_creates_by_article(
    altegio_sandbox: Any, hook: Any, run_dag: Any, tmp_path: Path
) -> None:
    """Two supplier products change today: one the salon stocks (its cost price follows), one it
    does not (it is created, once, in the supplier's category)."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    location = altegio_sandbox.location_ids[0]
    altegio = products(hook, location)
    by_article = {p.article: p for p in altegio.values()}
    with AltacolorHook() as altacolor:
        supplier = list(altacolor.iter_products([{"field": "product_id", "condition": ">", "value": "0"}]))
    known = next(item for item in supplier if item.product_code in by_article)
    new = next(item for item in supplier if item.product_code not in by_article)
    since = (datetime.now(tz=timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
    altegio_sandbox.change_supplier_product(known.product_id, price=123.45)
    altegio_sandbox.change_supplier_product(new.product_id, price=10.0)

    dag = load("altacolor_catalogue_sync.py", "altacolor_catalogue_sync")
    chain = altegio_sandbox.location_ids  # every location of the chain: mapped task instances
    conf = {
        "location_ids": chain,
        "modified_since": since,
        "work_dir": tmp_path.as_uri(),
        "markup": 2,
        "dry_run": False,
        "create_products": True,
    }
    dag_run = run_dag(dag, run_conf=conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    mapped = {(ti.task_id, ti.map_index) for ti in dag_run.get_task_instances()}
    for task_id in ("read_altegio_products", "update_cost_prices", "create_new_products"):
        assert {(task_id, i) for i in range(len(chain))} <= mapped

    def articles(loc: int, code: str) -> list[Any]:
        return [p for p in hook.iter_products(loc, term=code) if p.article == code]

    for loc in chain:
        (stocked,) = articles(loc, known.product_code)
        assert stocked.actual_cost == pytest.approx(123.45)
        (created,) = articles(loc, new.product_code)
        assert created.actual_cost == pytest.approx(10.0)
        assert created.cost == pytest.approx(20.0)
        (category,) = [c for c in hook.list_categories(0, loc) if c.title == "Altacolor catalogue"]
        assert created.category_id == category.id

    # A second run over the same changes creates nothing more (find-or-create by article), and
    # sends no cost price again (the bulk update finds them already set).
    altegio_sandbox.clear_requests()
    assert run_dag(dag, run_conf=conf).state == "success"
    assert altegio_sandbox.requests("PUT") == []
    for loc in chain:
        assert len(articles(loc, new.product_code)) == 1
        assert len([c for c in hook.list_categories(0, loc) if c.title == "Altacolor catalogue"]) == 1


def test_catalogue_sync_is_a_dry_run_by_default_and_creating_is_opt_in(
    altegio_sandbox: Any, hook: Any, run_dag: Any, xcom: Any, tmp_path: Path
) -> None:
    """A first run over the whole supplier catalogue writes nothing unless asked; with writes on
    but creating off, only cost prices follow; ``suppliers`` narrows what is considered."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    location = altegio_sandbox.location_ids[0]
    by_article = {p.article: p for p in products(hook, location).values()}
    with AltacolorHook() as altacolor:
        supplier = list(altacolor.iter_catalogue())
    known = next(item for item in supplier if item.product_code in by_article)
    other_supplier = next(item for item in supplier if item.supplier != known.supplier)
    altegio_sandbox.change_supplier_product(known.product_id, price=77.7)
    altegio_sandbox.change_supplier_product(other_supplier.product_id, price=66.6)
    before = len(products(hook, location))
    dag = load("altacolor_catalogue_sync.py", "altacolor_catalogue_sync")
    conf = {
        "location_ids": [location],
        "modified_since": "2000-01-01T00:00:00",
        "work_dir": tmp_path.as_uri(),
    }

    dry = run_dag(dag, run_conf=conf)  # the defaults: a full first sync, as a report only
    assert dry.state == "success", failed_tasks(dry)
    report = xcom(dry, "report_catalogue_sync")
    assert report["dry_run"] is True
    assert report["create"] > 0  # what a first run would have created...
    assert len(products(hook, location)) == before  # ...and did not
    assert hook.get_product(by_article[known.product_code].good_id, location).actual_cost != pytest.approx(
        77.7
    )
    states = {ti.task_id: ti.state for ti in dry.get_task_instances()}
    assert states["update_cost_prices"] == states["create_new_products"] == "skipped"

    updating = {**conf, "dry_run": False, "suppliers": [known.supplier]}
    applied = run_dag(dag, run_conf=updating)
    assert applied.state == "success", failed_tasks(applied)
    assert hook.get_product(by_article[known.product_code].good_id, location).actual_cost == pytest.approx(
        77.7
    )
    assert len(products(hook, location)) == before  # creating was not asked for
    other = by_article.get(other_supplier.product_code)
    if other is not None:  # another supplier's product: left alone
        assert hook.get_product(other.good_id, location).actual_cost != pytest.approx(66.6)


def test_write_off_missing_csv_fails_without_retrying(tmp_path: Path) -> None:
    from airflow_provider_altegio.compat import AirflowFailException

    read = load("altegio_write_off.py", "altegio_write_off").get_task("read_write_off_lines")
    missing = tmp_path / "nope.csv"
    with pytest.raises(AirflowFailException, match=f"csv_path: {missing} does not exist"):
        read.python_callable(params={"lines": [], "csv_path": str(missing)})


# --------------------------------------------------------------------------------------------
# Every example, as `airflow dags trigger` runs it: no logical date, the form's values
# --------------------------------------------------------------------------------------------


def _run_without_a_logical_date(run_dag: Any, examples: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Run each example as ``airflow dags trigger`` (and the UI's trigger form) creates a run in
    Airflow 3: no logical date, no data interval; each must succeed that way."""
    runs = {
        dag_id: run_dag(load(f"{dag_id}.py", dag_id), logical_date=None, run_conf=conf)
        for dag_id, conf in examples
    }
    for dag_id, dag_run in runs.items():
        assert dag_run.logical_date is None, dag_id
        assert dag_run.data_interval_start is None, dag_id
        assert dag_run.state == "success", (dag_id, failed_tasks(dag_run))
    return runs


def test_the_examples_without_approvals_run_when_triggered_without_a_logical_date(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, stocktake: dict[str, Any], tmp_path: Path
) -> None:
    """The write-off and the catalogue sync, given their params as the trigger form sends them
    (location ids as text from the pick list, lines typed as text, a reason picked from the
    list). They ask no one, so this runs on every supported Airflow."""
    s, location = stocktake, stocktake["location"]
    a, b = s["a"], s["b"]
    runs = _run_without_a_logical_date(
        run_dag,
        [
            (
                "altegio_write_off",
                {
                    "location_id": location,
                    "lines": f"{a.barcode}, 1\n{b.article}, 1, expired",
                    "reason": "spilled",
                },
            ),
            ("altacolor_catalogue_sync", {"location_ids": [str(location)], "work_dir": tmp_path.as_uri()}),
        ],
    )
    (write_off,) = [
        d for d in documents(altegio_sandbox, WRITE_OFF) if d["comment"].startswith("Damage write-off")
    ]
    reasons = sorted(t["comment"] for t in transactions_of(altegio_sandbox, write_off))
    assert reasons == ["expired", "spilled"]  # the picked reason for the line without one
    assert xcom(runs["altacolor_catalogue_sync"], "report_catalogue_sync")["dry_run"] is True


@pytest.mark.hitl
def test_the_examples_with_approvals_run_when_triggered_without_a_logical_date(
    altegio_sandbox: Any,
    hook: Any,
    run_dag: Any,
    xcom: Any,
    airflow_api: Any,
    stocktake: dict[str, Any],
    tmp_path: Path,
    ledger: Any,
) -> None:
    """The stocktake and the restock, run with no logical date, approved by a store manager."""
    s, location = stocktake, stocktake["location"]
    a = s["a"]

    def answer(asked: Asked) -> tuple[list[str], dict[str, Any]]:
        option = {"confirm_delivery": "Delivered"}.get(asked.task_id, "Approve")
        return fill(asked, option)

    with manager(airflow_api, answer):
        runs = _run_without_a_logical_date(
            run_dag,
            [
                (  # first, while the stock is as the fixture read it
                    "altegio_stocktake",
                    {
                        "location_id": location,
                        "counts": f"code,counted\n{a.barcode},{a.amount_in(s['retail']) - 2:g}",
                    },
                ),
                ("altegio_restock", {"location_ids": [str(location)], "work_dir": tmp_path.as_uri()}),
            ],
        )
    assert xcom(runs["altegio_restock"], "summarise_restock")["outcome"] == "delivered"
    differences = xcom(runs["altegio_stocktake"], "compare_with_stock")["differences"]
    assert [(d["good_id"], d["difference"]) for d in differences] == [(a.good_id, -2)]
