"""Book a delivery of the first shampoo that runs low, exactly once.

It books stock, so it runs only when started (no schedule). The location and
the team member the receipt is booked by are the connection's `location_id`
and `master_id` extras; the storage and the product come from the search.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from airflow_provider_altegio.compat import AirflowSkipException
from airflow_provider_altegio.operators.products import SearchProductsOperator
from airflow_provider_altegio.operators.storage import (
    CreateStorageOperationOperator,
)
from airflow_provider_altegio.results import read_items


@dag(schedule=None)
def first_dag() -> None:
    shampoos = SearchProductsOperator(task_id="find_shampoos", term="shampoo")

    @task(multiple_outputs=True)
    def plan_delivery(found: dict[str, Any]) -> dict[str, Any]:
        """Top the first low shampoo up to its desired amount, in the storage
        that holds most of it."""
        for product in read_items(found):  # from the XCom or output_path
            stock = {
                held["storage_id"]: held["amount"]
                for held in product["actual_amounts"]
            }
            on_hand = sum(stock.values())
            if on_hand <= product["critical_amount"]:
                amount = product["desired_amount"] - on_hand
                return {
                    "storage_id": max(stock, key=stock.__getitem__),
                    "lines": [
                        {"good_id": product["good_id"], "amount": amount}
                    ],
                }
        raise AirflowSkipException("no shampoo is running low")

    # find_shampoos >> plan_delivery >> book_delivery, through their XComs.
    plan = plan_delivery(shampoos.output)
    CreateStorageOperationOperator(
        task_id="book_delivery",
        operation_type="receipt",
        storage_id=plan["storage_id"],
        transactions=plan["lines"],
        comment="Delivery",
    )


first_dag()
