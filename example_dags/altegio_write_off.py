"""Write off a damage list: one write-off document per storage, reasons included.

For a full stocktake (counts compared with the stock, approval, then booking), see
``altegio_stocktake``.

Trigger it by hand with the list in the run's params, either inline::

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
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_altegio.compat import AirflowFailException, AirflowSkipException
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator

log = logging.getLogger("altegio_write_off")  # __name__ is mangled when Airflow imports DAG files

_LINE_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "barcode or article"},
        "barcode": {"type": "string"},
        "article": {"type": "string"},
        "amount": {"type": ["number", "string"]},
        "reason": {"type": "string"},
        "unit": {"type": "string", "enum": ["sale", "service"]},
        "storage_id": {"type": ["integer", "null"]},
        "location_id": {"type": ["integer", "null"]},
    },
}


@dag(
    dag_id="altegio_write_off",
    description="Write off a damage list, one document per storage",
    schedule=None,  # triggered by hand (or by another DAG) with the list in its params
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "master_id": Param(
            990101,
            type="integer",
            minimum=1,
            title="Team member",
            description="The staff member the documents are booked by (the API requires one).",
        ),
        "lines": Param(
            [],
            type="array",
            items=_LINE_SCHEMA,
            title="Lines",
            description="Lines to write off: code (or barcode / article), amount, reason, unit, storage_id.",
        ),
        "csv_path": Param(
            None,
            type=["null", "string"],
            title="CSV file",
            description="A CSV with the same columns, read in addition to the lines above.",
        ),
        "location_id": Param(
            None,
            type=["null", "integer"],
            title="Location",
            description="Empty: the location_id of the altegio_default connection.",
        ),
        "storage_id": Param(
            None,
            type=["null", "integer"],
            title="Default storage",
            description="Storage for lines without one. Empty: the location's storage for sale.",
        ),
        "reason_prefix": Param("Stocktake write-off", type="string", title="Document comment"),
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
        """The lines from the params and the CSV file, numbered, each checked for shape.

        A line that cannot be read keeps a ``problem``; the batch decision comes later, once
        every problem is known.
        """
        from airflow_provider_altegio.models.stocklists import read_lines

        lines = read_lines(params["lines"], params.get("csv_path"), label="params line")
        if not lines:
            raise AirflowFailException(
                "Nothing to write off: give 'lines' or 'csv_path' in the run's params."
            )
        log.info("Read %d write-off lines", len(lines))
        return [line.model_dump(mode="json") for line in lines]

    @task(multiple_outputs=False)
    def match_lines_to_products(lines: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """Find the one product each code names, and the storage each line writes off from.

        Codes are looked up by ``AltegioHook.match_lines`` (a search per code for a short list,
        one walk of the catalogue for a long one) and kept only on an exact barcode or article.
        """
        from airflow_provider_altegio.hooks.altegio import AltegioHook
        from airflow_provider_altegio.models.stocklists import ProductLine

        with AltegioHook() as hook:
            matched = hook.match_lines(
                [ProductLine.model_validate(line) for line in lines],
                params.get("location_id"),
                params.get("storage_id"),
            )
        return {"lines": [line.model_dump(mode="json") for line in matched]}

    @task(multiple_outputs=False)
    def check_lines_against_stock(matched: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Check each amount against the stock on hand; stop the batch on bad lines.

        Several lines for one product in one storage are added up, amounts in the service unit
        are converted with ``unit_equals``. Unless ``skip_bad_lines`` is set, any bad line fails
        the task (without retries: bad input does not get better by trying again), so nothing
        downstream writes anything.
        """
        from airflow_provider_altegio.models.stocklists import ProductLine, problems_report

        lines = [ProductLine.model_validate(line) for line in matched["lines"]]
        taken: dict[tuple[int, int, int], float] = defaultdict(float)
        for line in lines:
            if line.problem or line.product is None or line.storage_id is None:
                continue
            on_hand = line.product.amount_in(line.storage_id)
            key = (line.location_id or 0, line.storage_id, line.product.good_id or 0)
            if taken[key] + line.in_sale_units > on_hand + 1e-9:
                line.problem = (
                    f"{line.describe()} is more than the {on_hand:g} "
                    f"{line.product.unit_short_title or 'units'} on hand in {line.storage_title}"
                    + (f" (other lines already take {taken[key]:g})" if taken[key] else "")
                )
                continue
            taken[key] += line.in_sale_units

        bad = [line for line in lines if line.problem]
        if bad:
            report = problems_report(bad)
            if not params["skip_bad_lines"]:
                raise AirflowFailException(
                    f"{len(bad)} of {len(lines)} write-off lines are bad; nothing was written off. "
                    f"Fix them, or re-run with skip_bad_lines=true to write off the other lines.\n{report}"
                )
            log.warning("Skipping %d bad write-off lines:\n%s", len(bad), report)
        if len(bad) == len(lines):
            raise AirflowSkipException("No good lines left to write off")
        return {**matched, "lines": [line.model_dump(mode="json") for line in lines]}

    @task
    def build_write_off_documents(checked: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        """The keyword arguments of one write-off per storage, reasons in the comments, sorted.

        The sorting matters: the operator's exactly-once key includes the map index, so a
        re-run must give each storage the same index.
        """
        from airflow_provider_altegio.models.stocklists import UNIT_TYPES, ProductLine, cost_per_unit

        by_storage: dict[tuple[int, int], list[ProductLine]] = defaultdict(list)
        for line in map(ProductLine.model_validate, checked["lines"]):
            if not line.problem and line.location_id is not None and line.storage_id is not None:
                by_storage[(line.location_id, line.storage_id)].append(line)
        documents = []
        for (location_id, storage_id), lines in sorted(by_storage.items()):
            reasons = Counter(line.reason for line in lines)
            summary = "; ".join(
                f"{reason} x{count}" if count > 1 else reason for reason, count in reasons.items()
            )
            documents.append(
                {
                    "location_id": location_id,
                    "storage_id": storage_id,
                    "comment": f"{params['reason_prefix']}: {summary}",
                    "transactions": [
                        {
                            "good_id": line.product.good_id,
                            "amount": line.amount,
                            "operation_unit_type": UNIT_TYPES[line.unit],
                            "cost_per_unit": cost_per_unit(line.product, line.unit),
                            "comment": line.reason,
                        }
                        for line in lines
                        if line.product is not None
                    ],
                }
            )
        return documents

    lines = read_write_off_lines()
    matched = match_lines_to_products(lines)
    checked = check_lines_against_stock(matched)

    write_offs = CreateStorageOperationOperator.partial(
        task_id="create_write_off",
        operation_type="write_off",
        master_id="{{ params.master_id }}",
        map_index_template="location {{ task.location_id }} storage {{ task.storage_id }}",
    ).expand_kwargs(build_write_off_documents(checked))

    @task
    def summarise_write_offs(created: list[dict[str, Any]], checked: dict[str, Any]) -> dict[str, Any]:
        """One line per write-off document, and the count of bad lines that were skipped."""
        created = created[:]  # every mapped result, in one request
        bad_lines = [line for line in checked["lines"] if line["problem"]]
        for result in created:
            state = "created" if result["created"] else "already existed"
            log.info(
                "Write-off document %s %s: %d lines",
                result["document_id"],
                state,
                len(result["transaction_ids"]),
            )
        return {"documents": [r["document_id"] for r in created], "skipped_lines": len(bad_lines)}

    summarise_write_offs(write_offs.output, checked)


altegio_write_off()
