"""ListStorageTransactionsOperator: the stock movements of the run's data
interval."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from airflow_provider_altegio.compat import CronTriggerTimetable
from airflow_provider_altegio.operators.storage import (
    ListStorageTransactionsOperator,
)


# Nightly, over the previous 24 hours: the interval gives each run a data
# interval to read.
@dag(
    schedule=CronTriggerTimetable(
        "0 2 * * *", timezone="UTC", interval=timedelta(days=1)
    ),
    catchup=False,
    tags=["example"],
)
def list_storage_transactions_example() -> None:
    ListStorageTransactionsOperator(
        task_id="yesterdays_movements",
        location_id=1001,
        changed_after="{{ data_interval_start }}",
        changed_before="{{ data_interval_end }}",
    )
    ListStorageTransactionsOperator(
        task_id="may_movements_to_file",
        location_id=1001,
        date_from="2026-05-01",
        date_to="2026-05-31",
        output_path="file:///tmp/altegio/transactions-2026-05.jsonl",
    )


list_storage_transactions_example()
