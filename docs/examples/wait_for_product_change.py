"""WaitForProductChangeSensor: wait, deferred, for products changed in the
last 15 minutes."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from airflow_provider_altegio.compat import CronTriggerTimetable
from airflow_provider_altegio.sensors.products import (
    WaitForProductChangeSensor,
)


@dag(
    # The 15-minute interval makes the default changed_after (the
    # interval's start) reach back to the previous run.
    schedule=CronTriggerTimetable(
        "*/15 * * * *", timezone="UTC", interval=timedelta(minutes=15)
    ),
    catchup=False,
    tags=["example"],
)
def wait_for_product_change_example() -> None:
    changed = WaitForProductChangeSensor(
        task_id="wait_for_changes",
        location_id=1001,
        category_id=111,  # shampoos only
        deferrable=True,  # wait in the triggerer, not in a worker slot
        poke_interval=60,
        timeout=14 * 60,
        soft_fail=True,  # nothing changed: skipped, not failed
    )

    @task
    def changed_titles(changes: dict) -> list[str]:
        # The sensor hands on ids and a count: read what you need of them.
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        with AltegioHook() as hook:
            return [
                hook.get_product(i, 1001).title for i in changes["product_ids"]
            ]

    changed_titles(changed.output)


wait_for_product_change_example()
