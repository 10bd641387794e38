"""ListStoragesOperator: the storages of a location."""

from __future__ import annotations

from airflow.sdk import dag, task

from airflow_provider_altegio.operators.storage import ListStoragesOperator


@dag(schedule=None, tags=["example"])
def list_storages_example() -> None:
    storages = ListStoragesOperator(task_id="list_storages", location_id=1001)

    @task
    def storage_for_sale(storages: list[dict]) -> int:
        return next(s["id"] for s in storages if s["for_sale"])

    storage_for_sale(storages.output)


list_storages_example()
