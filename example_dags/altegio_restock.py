"""Restock every storage of a salon chain from the supplier, the way a purchase really happens.

``altegio_restock`` runs every morning *and* whenever stock runs low: the ``altegio_low_stock``
asset has an ``AssetWatcher`` whose ``ProductChangeEventTrigger`` polls the changed products of
the connection's default location in the triggerer (no task, no worker slot) and records an
asset event when a product changed and is at or below its ``critical_amount``.

1. **Draft the order.** For each location (mapped), ``LowStockReportOperator`` finds the products
   at or below their ``critical_amount`` with the whole sale units that bring each back to its
   ``desired_amount``. Each line is priced from Altacolor's detailed catalogue (the variant whose
   SKU code is the Altegio ``article`` or ``barcode``); what Altacolor does not carry is listed.
2. **A person approves.** ``approve_purchase_order`` (Airflow's ``ApprovalOperator``) shows the
   order in *Required actions*. The manager approves or rejects, and may change quantities:
   ``{"3": 5}`` orders 5 on line 3, ``0`` drops a line. Nothing is sent or booked before that; a
   rejection ends the run with nothing booked.
3. **Send the order.** Altacolor's API has no order endpoint, so the approved order is written as
   ``order.csv`` (for the supplier) and ``order.md`` (the summary) under the ``work_dir`` param
   (any ``ObjectStoragePath``: ``s3://...`` when workers run on several machines). With the
   ``order_email`` param set, both go by e-mail through the ``smtp_default`` connection.
4. **Wait for the delivery.** ``confirm_delivery`` (``HITLEntryOperator``) waits until someone
   confirms what actually arrived: ``received`` lists only the lines that differ
   (``{"2": 3}``), ``extra_items`` what came without being ordered.
5. **Book what arrived**, one receipt per storage at the order's prices, exactly once: each
   receipt is a mapped ``CreateStorageOperationOperator``, which stamps a key of its task
   instance into the document and looks for it before creating again. Short deliveries and
   extra items are reported, never guessed.

``max_active_runs=1``: while an order waits for approval or delivery, no second restock orders
the same shortages again.

Units. Altegio keeps stock, ``critical_amount`` and ``desired_amount`` in the product's *sale*
unit (a bottle, a box). Masters use products up in the *service* unit (ml, g), and
``unit_equals`` service units make one sale unit, so stock is often fractional (2.4 bottles).
Suppliers sell whole sale units, so orders are whole sale units, booked with
``operation_unit_type=1`` at the supplier's price per sale unit.

Nothing here touches a connection or the network when the file is parsed; every call happens
inside a task.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLEntryOperator
from airflow.sdk import (
    Asset,
    AssetWatcher,
    Param,
    dag,
    get_current_context,
    task,
)

from airflow_provider_altegio.compat import AssetOrTimeSchedule, CronTriggerTimetable
from airflow_provider_altegio.operators.products import AltacolorSearchProductsOperator
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator, LowStockReportOperator
from airflow_provider_altegio.results import read_items
from airflow_provider_altegio.triggers.products import ProductChangeEventTrigger

#: An event whenever a product of the default location changed and is at or below its critical
#: amount; ``altegio_restock`` listens. The trigger builds no hook and makes no request at parse.
ALTEGIO_LOW_STOCK = Asset(
    name="altegio_low_stock",
    uri="altegio://default/low-stock",
    watchers=[
        AssetWatcher(
            name="altegio_low_stock_watcher",
            trigger=ProductChangeEventTrigger(
                conn_id="altegio_default", at_or_below_critical=True, poke_interval=300
            ),
        )
    ],
)

#: Updated by every receipt the restock books (the operator adds the document id to the event).
ALTEGIO_RECEIPTS = Asset(name="altegio_receipts", uri="altegio://default/receipts")

#: The JSON schema of ``{"<line number>": <whole units>}`` forms: the form refuses anything else.
LINE_QUANTITIES: dict[str, Any] = {
    "patternProperties": {"^[1-9][0-9]*$": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}

log = logging.getLogger("altegio_restock")  # __name__ is mangled when Airflow imports DAG files

START = pendulum.datetime(2026, 1, 1, tz="UTC")

#: This run's folder under the ``work_dir`` param: the supplier catalogue and the order files.
RUN_DIR = "{{ params.work_dir }}/{{ dag.dag_id }}/{{ run_id | replace(':', '-') }}"


@dag(
    dag_id="altegio_restock",
    description="Order what is low from the supplier, with approval; book what is delivered",
    # Every morning at 06:00 UTC, and also as soon as the watcher above sees stock run low.
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        assets=ALTEGIO_LOW_STOCK,
    ),
    start_date=START,
    catchup=False,
    # A second restock while an order waits for approval or delivery would order it again.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "master_id": Param(
            None,
            type=["null", "integer"],
            title="Team member",
            description="Who books the receipts. Empty: the master_id of the altegio_default connection.",
        ),
        "location_ids": Param(
            [],
            type="array",
            items={"type": "integer"},
            title="Locations",
            description="Locations to restock. Empty: the location_id of the altegio_default connection.",
        ),
        "work_dir": Param(
            "file:///tmp/altegio_restock",
            type="string",
            title="Working directory",
            description=(
                "Where the supplier catalogue and the order files go (any ObjectStoragePath URL; "
                "use shared storage such as s3://bucket/prefix when workers run on several machines)."
            ),
        ),
        "order_email": Param(
            None,
            type=["null", "string"],
            title="Send the order to",
            description="E-mail address(es), comma-separated, for the approved order (smtp_default). "
            "Empty: the order is only written to the working directory.",
        ),
    },
    tags=["altegio", "altacolor", "inventory", "example"],
    doc_md=__doc__,
)
def altegio_restock() -> None:
    @task
    def resolve_locations(params: dict[str, Any]) -> list[int]:
        """The locations to restock: the ``location_ids`` param, else the connection's default."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        with AltegioHook() as hook:
            return hook.resolve_location_ids(params["location_ids"])

    locations = resolve_locations()

    # One mapped task instance per location: its products at or below their critical amount,
    # with the whole sale units to order (AltegioHook.low_stock reads the catalogue page by page).
    reports = LowStockReportOperator.partial(
        task_id="low_stock_report", map_index_template="location {{ task.location_id }}"
    ).expand(location_id=locations)

    @task
    def find_products_to_restock(reports: Any) -> list[dict[str, Any]]:
        """Every location's low-stock lines in one list."""
        lines = [line for report in reports[:] for line in report]  # one request for every map index
        log.info("%d products at or below their critical amount", len(lines))
        return lines

    shortages = find_products_to_restock(reports.output)

    @task.short_circuit
    def anything_to_restock(lines: list[dict[str, Any]]) -> bool:
        """Stop here (downstream skipped, run successful) when every product is above critical."""
        return bool(lines)

    # The whole supplier catalogue (no conditions = every product), as JSON lines.
    supplier_catalogue = AltacolorSearchProductsOperator(
        task_id="read_supplier_catalogue", output_path=RUN_DIR + "/supplier_catalogue.jsonl"
    )

    @task(multiple_outputs=False)  # one XCom, not one per key
    def draft_purchase_order(shortages: list[dict[str, Any]], catalogue: dict[str, Any]) -> dict[str, Any]:
        """The order to approve: each shortage priced from the supplier's product details (asked
        100 at a time: a search gives no prices), and the products the supplier does not carry."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        run_id = get_current_context()["run_id"]
        order_id = "PO-" + hashlib.sha256(run_id.encode()).hexdigest()[:8].upper()
        ids = [item["product_id"] for item in read_items(catalogue) if item.get("product_id")]
        with AltacolorHook() as hook:
            order = PurchaseOrder.draft(order_id, shortages, hook.get_products(ids))
        if order.not_carried:
            log.warning(
                "%d products need restocking but Altacolor does not carry them; order them elsewhere:\n%s",
                len(order.not_carried),
                "\n".join(f"  {item.title} (article {item.article})" for item in order.not_carried),
            )
        log.info("Drafted %s: %d lines, total %.2f", order_id, len(order.lines), order.total)
        return {**order.model_dump(mode="json"), "markdown": order.to_markdown()}

    draft = draft_purchase_order(shortages, supplier_catalogue.output)
    anything_to_restock(shortages) >> supplier_catalogue

    # A manager approves (quantities may change) or rejects; a rejection skips everything after.
    approval = ApprovalOperator(
        task_id="approve_purchase_order",
        subject="Approve purchase order {{ ti.xcom_pull(task_ids='draft_purchase_order')['order_id'] }}",
        body="{{ ti.xcom_pull(task_ids='draft_purchase_order')['markdown'] }}",
        params={
            "quantities": Param(
                {},
                type="object",
                **LINE_QUANTITIES,
                title="Change quantities",
                description='Line number -> whole sale units, only for lines to change ({"3": 5}); '
                "0 drops a line. Empty: order as drafted.",
            )
        },
        response_timeout=timedelta(days=3),
        ignore_downstream_trigger_rules=True,
    )
    draft >> approval

    @task(multiple_outputs=False)  # one XCom, not one per key
    def send_purchase_order(
        draft: dict[str, Any], approval: dict[str, Any], folder: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The approved order, written as ``order.csv`` and ``order.md`` under this run's folder,
        and e-mailed when ``order_email`` is set. Writing again on a retry gives the same files."""
        from airflow.sdk import ObjectStoragePath

        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        order = PurchaseOrder.model_validate(draft).with_quantities(
            approval["params_input"].get("quantities")
        )
        who = (approval.get("responded_by_user") or {}).get("name", "unknown")
        folder = ObjectStoragePath(folder)
        folder.mkdir(parents=True, exist_ok=True)
        summary = f"{order.to_markdown()}\n\nApproved by {who} at {approval['responded_at']}.\n"
        (folder / "order.csv").write_text(order.to_csv())
        (folder / "order.md").write_text(summary)
        log.info(
            "Order %s approved by %s: %d lines, written to %s", order.order_id, who, len(order.lines), folder
        )
        if params.get("order_email"):
            _email_order(params["order_email"], order.order_id, summary, folder)
        return {
            **order.model_dump(mode="json"),
            "markdown": order.to_markdown(),
            "approved_by": who,
            "files": [str(folder / "order.csv"), str(folder / "order.md")],
        }

    sent = send_purchase_order(draft, approval.output, folder=RUN_DIR + "/order")

    # Whoever takes the delivery in says what arrived; there is no default, so the request
    # times out (and the task fails) rather than assume a delivery nobody confirmed.
    delivery = HITLEntryOperator(
        task_id="confirm_delivery",
        subject="Confirm the delivery of {{ ti.xcom_pull(task_ids='send_purchase_order')['order_id'] }}",
        body="{{ ti.xcom_pull(task_ids='send_purchase_order')['markdown'] }}\n\nGive only what differs.",
        options=["Delivered", "Cancelled"],
        params={
            "received": Param(
                {},
                type="object",
                **LINE_QUANTITIES,
                title="Quantities that arrived",
                description='Line number -> whole sale units that arrived, for lines that differ ({"2": 3}; '
                "0: nothing). Empty: every line arrived as ordered.",
            ),
            "extra_items": Param(
                [],
                type="array",
                title="Delivered but not ordered",
                description='Items that came without being ordered, e.g. {"code": "ALT-123", "amount": 2}. '
                "Reported, not booked.",
            ),
            "delivery_note": Param("", type="string", title="Delivery note number or remark"),
        },
        response_timeout=timedelta(days=21),
    )
    sent >> delivery

    @task(multiple_outputs=False)  # one XCom, not one per key
    def check_delivery(sent: dict[str, Any], delivery: dict[str, Any]) -> dict[str, Any]:
        """The delivery checked against the order: what arrived per line, and what differed."""
        from airflow_provider_altegio.compat import AirflowSkipException
        from airflow_provider_altegio.workflows.restock import PurchaseOrder

        order = PurchaseOrder.model_validate(sent)
        if delivery["chosen_options"] == ["Cancelled"]:
            raise AirflowSkipException(f"Order {order.order_id} was cancelled: nothing to book")
        answer = delivery["params_input"]
        received = order.receive(
            answer.get("received"), answer.get("extra_items"), answer.get("delivery_note", "")
        )
        if report := received.report():
            log.warning("The delivery of %s differs from the order:\n%s", order.order_id, report)
        return received.model_dump(mode="json")

    checked = check_delivery(sent, delivery.output)

    @task
    def plan_receipts(delivery: dict[str, Any]) -> list[dict[str, Any]]:
        """One receipt per (location, storage): what arrived, at the order's prices."""
        from airflow_provider_altegio.workflows.restock import Delivery

        return Delivery.model_validate(delivery).receipts()

    # One mapped task instance, and one receipt document, per (location, storage).
    receipts = CreateStorageOperationOperator.partial(
        task_id="create_receipt",
        operation_type="receipt",
        master_id="{{ params.master_id }}",
        outlets=[ALTEGIO_RECEIPTS],
        map_index_template="location {{ task.location_id }} storage {{ task.storage_id }}",
    ).expand_kwargs(plan_receipts(checked))

    @task(multiple_outputs=False)  # one XCom, not one per key
    def summarise_restock(created: Any, sent: dict[str, Any], delivery: dict[str, Any]) -> dict[str, Any]:
        """Order, approval, delivery and receipts, one line each, for the log and the XCom."""
        created = created[:]  # every mapped result, in one request
        short = [line for line in delivery["lines"] if line["received"] < line["quantity"]]
        log.info(
            "Order %s (%d lines, approved by %s), delivery: %d short, %d extra; receipts: %s",
            sent["order_id"],
            len(sent["lines"]),
            sent["approved_by"],
            len(short),
            len(delivery["extra_items"]),
            ", ".join(f"{r['document_id']} ({'created' if r['created'] else 'found'})" for r in created),
        )
        return {
            "order_id": sent["order_id"],
            "documents": [result["document_id"] for result in created],
            "short_lines": [line["line"] for line in short],
            "extra_items": len(delivery["extra_items"]),
            "not_carried": len(sent["not_carried"]),
        }

    summarise_restock(receipts.output, sent, checked)


def _email_order(to: str, order_id: str, summary: str, folder: Any) -> None:
    """E-mail the order summary with the CSV attached, through the ``smtp_default`` connection."""
    import tempfile
    from pathlib import Path

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with tempfile.TemporaryDirectory() as scratch:
        attachment = Path(scratch) / f"{order_id}.csv"
        attachment.write_text((folder / "order.csv").read_text())
        with SmtpHook() as smtp:
            smtp.send_email_smtp(
                to=[address.strip() for address in to.split(",") if address.strip()],
                subject=f"Purchase order {order_id}",
                html_content=f"<pre>{summary}</pre>",
                files=[str(attachment)],
            )
    log.info("Order %s e-mailed to %s", order_id, to)


altegio_restock()
