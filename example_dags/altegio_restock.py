"""Restock every storage of a salon chain from the supplier's catalogue.

``altegio_restock`` runs every morning *and* whenever stock runs low: the ``altegio_low_stock``
asset has an ``AssetWatcher`` whose ``ProductChangeEventTrigger`` polls the changed products of
the connection's default location in the triggerer (no task, no worker slot) and records an
asset event when a product changed and is at or below its ``critical_amount``.

For each location the restock reads
    the catalogue and the storages, finds the products at or below their ``critical_amount``,
orders enough to bring each back to its ``desired_amount``, prices every line from the
Altacolor supplier's product details (the variant whose SKU code is the Altegio ``article`` or
``barcode``, or the single variant of a product whose code is), reports the products the
supplier does not carry, and books one receipt per storage.

Units. Altegio keeps stock, ``critical_amount`` and ``desired_amount`` in the product's *sale*
unit (a bottle, a box). Masters use products up in the *service* unit (ml, g), and
``unit_equals`` service units make one sale unit, so stock is often fractional (2.4 bottles).
Suppliers sell whole sale units, so each order is rounded *up* to whole sale units and booked
with ``operation_unit_type=1`` at the supplier's price per sale unit.

The Altegio catalogue is read page by page by ``LowStockReportOperator`` (only the short products
pass through XCom); the supplier catalogue is read into JSON lines under the ``work_dir`` param.
Re-running a run (or a retry after a lost answer) never books a receipt twice: each receipt is a
mapped ``CreateStorageOperationOperator``, which stamps a key derived from the task instance into
the document comment and looks for it before creating again.

Nothing here touches a connection or the network when the file is parsed; every call happens
inside a task.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)

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

log = logging.getLogger("altegio_restock")  # __name__ is mangled when Airflow imports DAG files

START = pendulum.datetime(2026, 1, 1, tz="UTC")

#: This run's folder under the ``work_dir`` param, for the supplier catalogue as JSON lines.
RUN_DIR = "{{ params.work_dir }}/{{ dag.dag_id }}/{{ run_id | replace(':', '-') }}"


# --------------------------------------------------------------------------------------------
# The restock
# --------------------------------------------------------------------------------------------


@dag(
    dag_id="altegio_restock",
    description="Order products at or below their critical amount and book one receipt per storage",
    # Every morning at 06:00 UTC, and also as soon as the watcher above sees stock run low.
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        assets=ALTEGIO_LOW_STOCK,
    ),
    start_date=START,
    catchup=False,
    # Two overlapping restocks would both see the same shortages and order twice.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "master_id": Param(
            990101,
            type="integer",
            minimum=1,
            title="Team member",
            description="The staff member the documents are booked by (the API requires one).",
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
                "Where the supplier catalogue is written as JSON lines (any ObjectStoragePath URL; "
                "use shared storage such as s3://bucket/prefix when workers run on several machines)."
            ),
        ),
    },
    tags=["altegio", "altacolor", "inventory", "example"],
    doc_md=__doc__,
)
def altegio_restock() -> None:
    @task
    def resolve_locations(params: dict[str, Any]) -> list[int]:
        """The locations to restock: the ``location_ids`` param, else the connection's default."""
        if params["location_ids"]:
            return sorted(set(params["location_ids"]))
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        with AltegioHook() as hook:
            return [hook.resolve_location_id(None)]

    locations = resolve_locations()

    # One mapped task instance per location: its products at or below their critical amount,
    # with the whole sale units to order (AltegioHook.low_stock reads the catalogue page by page).
    reports = LowStockReportOperator.partial(task_id="low_stock_report").expand(location_id=locations)

    @task
    def find_products_to_restock(reports: Any) -> list[dict[str, Any]]:
        """Every location's low-stock lines in one list, by location, storage and product."""
        # The slice reads every mapped result in one request.
        lines = [line for report in reports[:] for line in report]
        lines.sort(key=lambda line: (line["location_id"], line["storage_id"], line["good_id"]))
        log.info("%d products at or below their critical amount", len(lines))
        return lines

    to_restock = find_products_to_restock(reports.output)

    @task.short_circuit
    def anything_to_restock(lines: list[dict[str, Any]]) -> bool:
        """Stop here (downstream skipped, run successful) when every product is above critical."""
        return bool(lines)

    # The whole supplier catalogue (no conditions = every product), as JSON lines.
    supplier_catalogue = AltacolorSearchProductsOperator(
        task_id="read_supplier_catalogue", output_path=RUN_DIR + "/supplier_catalogue.jsonl"
    )

    @task
    def price_from_supplier(lines: list[dict[str, Any]], catalogue: dict[str, Any]) -> list[dict[str, Any]]:
        """Each line with the supplier's SKU code and price, or ``supplier_code: None`` when the
        supplier carries no variant it matches.

        A search gives no prices: they come from the products' details, asked for 100 at a time.
        """
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook
        from airflow_provider_altegio.models.altacolor import match_variant

        ids = [item["product_id"] for item in read_items(catalogue) if item.get("product_id")]
        with AltacolorHook() as hook:
            details = hook.get_products(ids)
        priced = []
        for line in lines:
            match = match_variant(details, line["article"], line["barcode"])
            sku = match[1] if match else None
            priced.append(
                {
                    **line,
                    "supplier_code": sku.sku if sku else None,
                    "cost_per_unit": sku.price if sku else None,
                }
            )
        log.info(
            "%d of %d lines priced from the supplier",
            sum(1 for p in priced if p["supplier_code"]),
            len(priced),
        )
        return priced

    priced = price_from_supplier(to_restock, supplier_catalogue.output)

    @task
    def report_unmatched_products(priced: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Say which products need restocking but are not in the supplier's catalogue.

        They are not booked (nobody will deliver them), but they must not go unnoticed: the log
        lists them and the XCom carries them for whoever orders by hand.
        """
        unmatched = [line for line in priced if not line["supplier_code"]]
        if unmatched:
            log.warning(
                "%d products need restocking but Altacolor does not carry them; order them by hand:\n%s",
                len(unmatched),
                "\n".join(
                    f"  location {line['location_id']}, {line['storage_title']}: {line['title']} "
                    f"(article {line['article']}, barcode {line['barcode']}): "
                    f"{line['on_hand']:g} on hand, {line['quantity']} to order"
                    for line in unmatched
                ),
            )
        return unmatched

    @task
    def group_receipts_by_storage(priced: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The keyword arguments of one receipt per (location, storage), sorted.

        The sorting matters: the operator's exactly-once key includes the map index, so a
        re-run must give each storage the same index.
        """
        run_id = get_current_context()["run_id"]
        by_storage: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for line in priced:
            if line["supplier_code"]:
                by_storage[(line["location_id"], line["storage_id"])].append(line)
        receipts = []
        for (location_id, storage_id), lines in sorted(by_storage.items()):
            total = sum(line["quantity"] * line["cost_per_unit"] for line in lines)
            receipts.append(
                {
                    "location_id": location_id,
                    "storage_id": storage_id,
                    "comment": (
                        f"Restock of {len(lines)} products below critical amount for "
                        f"{lines[0]['storage_title']}, Altacolor prices, total {total:.2f} (run {run_id})"
                    ),
                    "transactions": [
                        {
                            "good_id": line["good_id"],
                            "amount": line["quantity"],
                            "cost_per_unit": line["cost_per_unit"],
                            "operation_unit_type": 1,  # whole sale units
                            "comment": (
                                f"Altacolor {line['supplier_code']}: {line['on_hand']:g} on hand, "
                                f"critical {line['critical_amount']:g}, desired {line['desired_amount']:g}"
                            ),
                        }
                        for line in lines
                    ],
                }
            )
        return receipts

    # One mapped task instance, and one receipt document, per (location, storage).
    receipts = CreateStorageOperationOperator.partial(
        task_id="create_receipt",
        operation_type="receipt",
        master_id="{{ params.master_id }}",
        outlets=[ALTEGIO_RECEIPTS],
        map_index_template="location {{ task.location_id }} storage {{ task.storage_id }}",
    ).expand_kwargs(group_receipts_by_storage(priced))

    @task(trigger_rule="none_failed")  # also when every line was unmatched and no receipt was made
    def summarise_receipts(created: list[dict[str, Any]], unmatched: list[dict[str, Any]]) -> dict[str, Any]:
        """One line per receipt document, plus the count of products left to order by hand."""
        created = created[:]  # every mapped result, in one request
        for result in created:
            state = "created" if result["created"] else "already existed"
            log.info(
                "Receipt document %s %s: %d lines",
                result["document_id"],
                state,
                len(result["transaction_ids"]),
            )
        return {
            "documents": [result["document_id"] for result in created],
            "unmatched": len(unmatched),
        }

    reported = report_unmatched_products(priced)
    anything_to_restock(to_restock) >> supplier_catalogue
    summarise_receipts(receipts.output, reported)


altegio_restock()
