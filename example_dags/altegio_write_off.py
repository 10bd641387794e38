"""Write off a damage list: one write-off document per storage, reasons included.

For a full stocktake (counts compared with the stock, approval, then booking), see
``altegio_stocktake``.

Trigger it by hand with the list in the run's params. In the trigger form, type (or paste from
a spreadsheet) one line per product: its code, the amount, then optionally the reason, the unit
and the storage; a **Reason** picked from the list applies to lines that give none::

    2049275657760, 2, broken in delivery
    SAL-DS-00003, 250, spilled, service, 3102

The same as JSON (``airflow dags trigger --conf``, the REST API)::

    {"location_id": 1001, "lines": [
        {"barcode": "2049275657760", "amount": 2, "reason": "broken in delivery"},
        {"article": "SAL-DS-00003", "amount": 250, "unit": "service", "storage_id": 3102,
         "reason": "spilled"}
    ]}

or as a CSV file (any ``ObjectStoragePath`` URL or local path) with a header row::

    {"csv_path": "s3://salon-stocktakes/2026-11-downtown.csv"}

    code,amount,reason,unit,storage_id
    2049275657760,2,broken in delivery,,
    SAL-DS-00003,250,spilled,service,3102

Columns: ``code`` (a barcode or an article; ``barcode`` and ``article`` columns work too),
``amount``, ``reason``, and optionally ``unit`` (``sale``, the default, or ``service``: ml, g...)
``storage_id`` (default: the ``storage_id`` param, else the location's storage for sale) and
``location_id`` (default: the ``location_id`` param), so one list can cover several locations
of a chain: the documents are mapped task instances per location and storage.

Every line is matched to exactly one product and checked against the stock on hand in its
storage (amounts in the service unit are converted with the product's ``unit_equals``; several
lines for one product are added up). A bad line -- unknown or ambiguous code, an amount that is
not a positive number, more than is on hand, an unknown storage -- stops the whole batch before
anything is written, and the error lists every bad line. Set ``skip_bad_lines`` to write off the
good lines anyway; the bad ones are then reported and left out.

Re-running the run creates nothing twice: each document is a mapped
``CreateStorageOperationOperator``, which stamps a key of its task instance into the document
comment and looks for it before creating again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_altegio.compat import AirflowFailException, AirflowSkipException
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
from airflow_provider_altegio.workflows.stocklists import line_schema, location_choices, location_param

log = logging.getLogger("altegio_write_off")  # __name__ is mangled when Airflow imports DAG files

#: The columns of a line typed in the form, in order (a first line naming them sets others).
COLUMNS = ("code", "amount", "reason", "unit", "storage_id", "location_id")
#: The reasons offered in the form, for lines that give none.
REASONS = [
    "damaged",
    "broken in delivery",
    "expired",
    "spilled",
    "used for testing",
    "lost or stolen",
    "other",
]


@dag(
    dag_id="altegio_write_off",
    description="Write off a damage list, one document per storage",
    schedule=None,  # triggered by hand (or by another DAG) with the list in its params
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "lines": Param(
            None,
            type=["null", "array", "string"],
            items=line_schema("amount"),
            title="Lines",
            description="One line per product: code (barcode or article), amount[, reason[, unit (sale "
            "or service)[, storage id[, location id]]]], e.g. 2049275657760, 2, broken in delivery",
        ),
        "reason": Param(
            "damaged",
            type="string",
            enum=REASONS,
            title="Reason",
            description="The reason of the lines that give none.",
        ),
        "csv_path": Param(
            None,
            type=["null", "string"],
            title="CSV file",
            description="A CSV with the same columns, read in addition to the lines above.",
        ),
        "location_id": Param(
            **location_param(location_choices(), multiple=False),
            title="Location",
            description="Empty: the location_id of the altegio_default connection.",
        ),
        "storage_id": Param(
            None,
            type=["null", "integer"],
            title="Default storage",
            description="Storage for lines without one. Empty: the location's storage for sale.",
        ),
        "master_id": Param(
            None,
            type=["null", "integer"],
            title="Team member",
            description="Who books the documents. Empty: the master_id of the altegio_default connection.",
        ),
        "reason_prefix": Param("Damage write-off", type="string", title="Document comment"),
        "skip_bad_lines": Param(
            False,
            type="boolean",
            title="Skip bad lines",
            description="Write off the good lines and report the bad ones, instead of stopping the batch.",
        ),
    },
    tags=["altegio", "inventory", "example"],
    doc_md=__doc__,
)
def altegio_write_off() -> None:
    @task
    def read_write_off_lines(params: dict[str, Any]) -> list[dict[str, Any]]:
        """The lines from the params and the CSV file, numbered; a line that cannot be read keeps
        a ``problem``, so that every problem is known before the batch is decided."""
        from airflow_provider_altegio.workflows.stocklists import read_lines

        lines = read_lines(
            params["lines"],
            params.get("csv_path"),
            label="params line",
            columns=COLUMNS,
            default_reason=params.get("reason") or "no reason given",
        )
        if not lines:
            raise AirflowFailException(
                "Nothing to write off: give 'lines' or 'csv_path' in the run's params."
            )
        log.info("Read %d write-off lines", len(lines))
        return [line.model_dump(mode="json") for line in lines]

    @task
    def match_lines_to_products(lines: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        """The one product each code names (a search per code for a short list, one walk of the
        catalogue for a long one; exact barcode or article only) and the storage of each line."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook
        from airflow_provider_altegio.workflows.stocklists import ProductLine, match_lines

        with AltegioHook() as hook:
            matched = match_lines(
                hook,
                [ProductLine.model_validate(line) for line in lines],
                params.get("location_id"),
                params.get("storage_id"),
            )
        return [line.model_dump(mode="json") for line in matched]

    @task
    def check_lines_against_stock(
        matched: list[dict[str, Any]], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Each amount against the stock on hand (lines of one product added up, service units
        converted). A bad line fails the task without retries (bad input does not get better by
        trying again), unless ``skip_bad_lines``: so nothing is written half-way."""
        from airflow_provider_altegio.workflows.stocklists import ProductLine, mark_overdrawn, problems_report

        lines = [ProductLine.model_validate(line) for line in matched]
        mark_overdrawn(lines)
        if bad := [line for line in lines if line.problem]:
            report = problems_report(bad)
            if not params["skip_bad_lines"]:
                raise AirflowFailException(
                    f"{len(bad)} of {len(lines)} write-off lines are bad; nothing was written off. "
                    f"Fix them, or re-run with skip_bad_lines=true to write off the other lines.\n{report}"
                )
            log.warning("Skipping %d bad write-off lines:\n%s", len(bad), report)
        if len(bad) == len(lines):
            raise AirflowSkipException("No good lines left to write off")
        return [line.model_dump(mode="json") for line in lines]

    @task
    def build_write_off_documents(
        checked: list[dict[str, Any]], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One write-off per storage, each line's reason on its transaction."""
        from airflow_provider_altegio.workflows.stocklists import ProductLine, write_offs

        return write_offs(map(ProductLine.model_validate, checked), params["reason_prefix"])

    lines = read_write_off_lines()
    checked = check_lines_against_stock(match_lines_to_products(lines))

    write_off = CreateStorageOperationOperator.partial(
        task_id="create_write_off",
        master_id="{{ params.master_id }}",
        # check_lines_against_stock checked these very lines moments ago: not a request per product again.
        allow_negative_stock=True,
        map_index_template="location {{ task.location_id }} storage {{ task.storage_id }}",
    ).expand_kwargs(build_write_off_documents(checked))

    @task
    def summarise_write_offs(created: Any, checked: list[dict[str, Any]]) -> dict[str, Any]:
        """One line per write-off document, and the count of bad lines that were skipped."""
        created = created[:]  # every mapped result, in one request
        for result in created:
            state = "created" if result["created"] else "already existed"
            log.info(
                "Write-off document %s %s: %d lines",
                result["document_id"],
                state,
                len(result["transaction_ids"]),
            )
        return {
            "documents": [result["document_id"] for result in created],
            "skipped_lines": sum(1 for line in checked if line["problem"]),
        }

    summarise_write_offs(write_off.output, checked)


altegio_write_off()
