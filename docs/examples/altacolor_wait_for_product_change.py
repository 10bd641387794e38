"""AltacolorWaitForProductChangeSensor: wait for the supplier to change
one brand's products."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from airflow_provider_altegio.compat import CronTriggerTimetable
from airflow_provider_altegio.sensors.products import (
    AltacolorWaitForProductChangeSensor,
)


@dag(
    schedule=CronTriggerTimetable(
        "0 * * * *", timezone="UTC", interval=timedelta(hours=1)
    ),
    catchup=False,
    tags=["example"],
)
def altacolor_wait_for_product_change_example() -> None:
    AltacolorWaitForProductChangeSensor(
        task_id="wait_for_supplier_changes",
        conditions={
            "field": "supplier",
            "condition": "==",
            "value": "Lumina Pro",
        },
        deferrable=True,
        poke_interval=300,
        timeout=55 * 60,
        soft_fail=True,
    )


altacolor_wait_for_product_change_example()
