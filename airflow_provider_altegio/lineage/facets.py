"""The OpenLineage objects of a :class:`~airflow_provider_altegio.lineage.Lineage`: datasets, the
standard statistics facets and the provider's run facet. Imports OpenLineage: only the operators'
lineage methods import this module, so the provider works where the extra is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    RunFacet,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
)

from airflow_provider_altegio.lineage import file_dataset

if TYPE_CHECKING:
    from airflow_provider_altegio.lineage import Lineage

#: The key of :class:`AltegioRunFacet` in a run's facets.
RUN_FACET = "altegio"
SCHEMA_URL = (
    "https://airflow-provider-altegio.readthedocs.io/en/latest/schemas/AltegioRunFacet.json"
    "#/$defs/AltegioRunFacet"
)


@attr.define
class AltegioRunFacet(RunFacet):
    """What an Altegio or Altacolor task did, for whoever runs the pipeline.

    :ivar api: ``altegio`` or ``altacolor``.
    :ivar locationId: the Altegio location (company) the task worked in.
    :ivar result: the task's XCom in brief: the count of a read, the ids a write made or
        changed, the counts of a bulk update, the documents booked (``document_id``,
        ``transaction_ids``, ``created``, ``key``).
    :ivar keys: the idempotency keys of the documents a booking creates, known before it books.
    :ivar rateLimitWaits: HTTP 429 answers the task waited out.
    :ivar rateLimitWaitSeconds: how long it waited for them in all.
    :ivar budgetWaitSeconds: how long its requests waited for the account's shared rate budget
        (5/s and 200/min), which keeps them from getting 429s.
    """

    api: str = attr.field()
    locationId: int | None = attr.field(default=None)
    result: dict[str, Any] | None = attr.field(default=None)
    keys: list[str] | None = attr.field(default=None)
    rateLimitWaits: int | None = attr.field(default=None)
    rateLimitWaitSeconds: float | None = attr.field(default=None)
    budgetWaitSeconds: float | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def operator_lineage(lineage: Lineage) -> OperatorLineage:  # type: ignore[type-arg]
    """The ``OperatorLineage`` Airflow's OpenLineage listener emits for ``lineage``."""
    input_facets: dict[str, Any] = {}
    if lineage.rows_read is not None and len(lineage.reads) == 1:
        input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=lineage.rows_read
        )
    inputs = [InputDataset(lineage.namespace, name, inputFacets=input_facets) for name in lineage.reads]
    outputs: list[Dataset] = [OutputDataset(lineage.namespace, name) for name in lineage.writes]
    for path, rows in lineage.files:
        namespace, name = file_dataset(path)
        statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
        outputs.append(
            OutputDataset(
                namespace, name, outputFacets={"outputStatistics": statistics} if rows is not None else {}
            )
        )
    run = AltegioRunFacet(**{key: value for key, value in lineage.run.items() if value is not None})
    return OperatorLineage(inputs=list(inputs), outputs=outputs, run_facets={RUN_FACET: run})
