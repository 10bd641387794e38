"""The first DAG of the getting-started page: find low shampoos, book a delivery of the
first one."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from airflow_provider_altegio.compat import AirflowSkipException
from airflow_provider_altegio.operators.products import SearchProductsOperator
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
from airflow_provider_altegio.results import read_items


@dag(schedule=None, tags=["example"])
def first_dag() -> None:
    shampoos = SearchProductsOperator(task_id="find_shampoos", term="shampoo")

    @task(multiple_outputs=True)
    def plan_delivery(found: dict[str, Any]) -> dict[str, Any]:
        for p in read_items(found):  # the products, from the XCom or from output_path
            stock = {a["storage_id"]: a["amount"] for a in p["actual_amounts"]}
            if sum(stock.values()) <= p["critical_amount"]:
                storage_id = max(stock, key=lambda s: stock[s])
                amount = p["desired_amount"] - sum(stock.values())
                return {
                    "storage_id": storage_id,
                    "lines": [{"good_id": p["good_id"], "amount": amount}],
                }
        raise AirflowSkipException("no shampoo is running low")

    plan = plan_delivery(shampoos.output)
    CreateStorageOperationOperator(
        task_id="book_delivery",
        operation_type="receipt",
        storage_id=plan["storage_id"],
        transactions=plan["lines"],
        comment="Delivery",
        master_id=990101,  # the team member it is booked by: the API requires one
    )


first_dag()
