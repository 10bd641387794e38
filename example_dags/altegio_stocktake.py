"""Stocktake: compare what was counted on the shelves with Altegio, approve, book the difference.

Trigger it with the counts in the run's params. In the trigger form, type (or paste from a
spreadsheet) one line per count: the code, what was counted, then optionally its unit and
storage::

    2049275657760, 3
    SAL-DS-00003, 22500, service, 3102

The same as JSON (``airflow dags trigger --conf``, the REST API)::

    {"location_id": 1001, "counts": [
        {"barcode": "2049275657760", "counted": 3},
        {"article": "SAL-DS-00003", "counted": 22500, "unit": "service", "storage_id": 3102}
    ]}

or as a CSV file (any ``ObjectStoragePath`` URL or local path) with a header row::

    {"csv_path": "s3://salon-stocktakes/2026-11-downtown.csv"}

    code,counted,unit,storage_id
    2049275657760,3,,
    SAL-DS-00003,22500,service,3102

Columns: ``code`` (a barcode or an article; ``barcode`` and ``article`` columns work too),
``counted`` (0 for an empty shelf), and optionally ``unit``, ``storage_id`` (default: the
``storage_id`` param, else the location's storage for sale) and ``location_id`` (default: the
``location_id`` param): one sheet can hold a whole chain's counts, and the documents are mapped
task instances per location and storage.

**Units are explicit.** A count is in the product's *sale* unit (``sale``, the default: bottles,
pieces) or its *service* unit (``service``: ml, g, as the colour bar measures an open bottle);
``unit_equals`` converts between them. The report gives every difference in both:
``-500 ml = -1 pcs of 500 ml``. Several lines for one product and storage are added up.

1. ``compare_with_stock`` matches every line to exactly one product and storage and compares
   the counts with the stock on hand. Any bad line (unknown or ambiguous code, a count that is
   not a number of 0 or more, an unknown storage) fails the run before anything is written, and
   the error lists every bad line. Products that were not counted are left as they are.
2. ``approve_stocktake`` (Airflow's ``ApprovalOperator``) shows the differences to a manager.
   A rejection books nothing.
3. Shortfalls are booked as one write-off per storage. Surpluses are reported; with
   ``book_surpluses`` they are booked as a receipt per storage at the product's cost price
   (Altegio's API documents no stocktake document type, so a receipt is the documented way to
   add stock). Each document is a mapped ``CreateStorageOperationOperator``: exactly once, even
   when a task is retried or an answer is lost.

Count and book close together: sales made between the count and the booking are not in the
count.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from airflow_provider_altegio.compat import AirflowFailException
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
from airflow_provider_altegio.workflows.stocklists import line_schema, location_choices, location_param

log = logging.getLogger("altegio_stocktake")  # __name__ is mangled when Airflow imports DAG files

#: The columns of a line typed in the form, in order (a first line naming them sets others).
COLUMNS = ("code", "counted", "unit", "storage_id", "location_id")


@dag(
    dag_id="altegio_stocktake",
    description="Compare counted stock with Altegio, approve, and book the differences",
    schedule=None,  # triggered by hand (or by another DAG) with the counts in its params
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "location_id": Param(
            **location_param(location_choices(), multiple=False),
            title="Location",
            description="Empty: the location_id of the altegio_default connection.",
        ),
        "storage_id": Param(
            None,
            type=["null", "integer"],
            title="Default storage",
            description="Storage for counts without one. Empty: the location's storage for sale.",
        ),
        "counts": Param(
            None,
            type=["null", "array", "string"],
            items=line_schema("counted", reason=False),
            title="Counts",
            description="One line per count: code (barcode or article), counted[, unit (sale or "
            "service)[, storage id[, location id]]], e.g. 2049275657760, 3",
        ),
        "csv_path": Param(
            None,
            type=["null", "string"],
            title="CSV file",
            description="A CSV with the same columns, read in addition to the counts above.",
        ),
        "book_surpluses": Param(
            False,
            type="boolean",
            title="Book surpluses",
            description="Also book counted surpluses, as a receipt at cost price. Default: report them.",
        ),
        "master_id": Param(
            None,
            type=["null", "integer"],
            title="Team member",
            description="Who books the documents. Empty: the master_id of the altegio_default connection.",
        ),
        "comment": Param("Stocktake", type="string", title="Document comment"),
    },
    tags=["altegio", "inventory", "example"],
    doc_md=__doc__,
)
def altegio_stocktake() -> None:
    @task(multiple_outputs=False)
    def compare_with_stock(params: dict[str, Any]) -> dict[str, Any]:
        """Every count matched to its product and storage and compared with the stock on hand.

        Fails without retries, listing every bad line, when any line cannot be used.
        """
        from airflow_provider_altegio.hooks.altegio import AltegioHook
        from airflow_provider_altegio.workflows.stocklists import (
            count_differences,
            differences_markdown,
            match_lines,
            problems_report,
            read_lines,
        )

        lines = read_lines(
            params["counts"],
            params.get("csv_path"),
            label="counts line",
            amount_field="counted",
            allow_zero=True,
            columns=COLUMNS,
        )
        if not lines:
            raise AirflowFailException("Nothing counted: give 'counts' or 'csv_path' in the run's params.")
        with AltegioHook() as hook:
            match_lines(hook, lines, params.get("location_id"), params.get("storage_id"))
        if bad := [line for line in lines if line.problem]:
            report = problems_report(bad)
            raise AirflowFailException(
                f"{len(bad)} of {len(lines)} stocktake lines are bad; nothing was booked.\n{report}"
            )
        differences = [difference.report() for difference in count_differences(lines)]
        for d in differences:
            log.info("%s in %s: %s", d["title"], d["storage_title"], d["explained"])
        return {
            "locations": sorted({d["location_id"] for d in differences}),
            "differences": differences,
            "markdown": differences_markdown(differences),
        }

    compared = compare_with_stock()

    @task.short_circuit
    def anything_to_correct(compared: dict[str, Any]) -> bool:
        """Stop here (run successful, nothing booked) when every count matches the stock."""
        return any(d["difference"] for d in compared["differences"])

    approval = ApprovalOperator(
        task_id="approve_stocktake",
        subject="Approve the stocktake of location(s) "
        "{{ ti.xcom_pull(task_ids='compare_with_stock')['locations'] | join(', ') }}",
        body="{{ ti.xcom_pull(task_ids='compare_with_stock')['markdown'] }}",
        response_timeout=timedelta(days=3),
        ignore_downstream_trigger_rules=True,
    )
    anything_to_correct(compared) >> approval

    @task
    def build_stocktake_documents(compared: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        """One write-off per (location, storage) for the shortfalls and, with ``book_surpluses``,
        one receipt per (location, storage) for the surpluses."""
        from airflow_provider_altegio.workflows.stocklists import UNIT_TYPES, per_storage

        rows = [
            (
                (d["location_id"], d["storage_id"], "write_off" if d["difference"] < 0 else "receipt"),
                {
                    "good_id": d["good_id"],
                    "amount": abs(d["difference"]),
                    "operation_unit_type": UNIT_TYPES[d["unit"]],
                    "cost_per_unit": d["cost_per_unit"],
                    "comment": f"counted {d['counted']:g} {d['unit_name']}: {d['explained']}",
                },
            )
            for d in compared["differences"]
            if d["difference"] < 0 or (d["difference"] > 0 and params["book_surpluses"])
        ]
        shortfall = {"write_off": "shortfall", "receipt": "surplus"}
        return per_storage(rows, lambda kind, _: f"{params['comment']}: {shortfall[kind]}")

    documents = build_stocktake_documents(compared)
    approval >> documents

    booked = CreateStorageOperationOperator.partial(
        task_id="book_stocktake",
        master_id="{{ params.master_id }}",
        # Each shortfall is the stock on hand less the count: what compare_with_stock read, not
        # worth a request per product again.
        allow_negative_stock=True,
        map_index_template="{{ task.operation_type }}: location {{ task.location_id }}, "
        "storage {{ task.storage_id }}",
    ).expand_kwargs(documents)

    @task(multiple_outputs=False)
    def summarise_stocktake(booked: Any, compared: dict[str, Any]) -> dict[str, Any]:
        """The documents booked, and how many counts differed in each direction."""
        booked = booked[:]  # every mapped result, in one request
        differences = compared["differences"]
        return {
            "documents": [result["document_id"] for result in booked],
            "short": sum(1 for d in differences if d["difference"] < 0),
            "surplus": sum(1 for d in differences if d["difference"] > 0),
            "as_counted": sum(1 for d in differences if not d["difference"]),
        }

    summarise_stocktake(booked.output, compared)


altegio_stocktake()
