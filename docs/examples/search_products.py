"""SearchProductsOperator: every product of a location matching a term, as
XCom or as JSON lines."""

from __future__ import annotations

from airflow.sdk import dag, task

from airflow_provider_altegio.operators.products import SearchProductsOperator
from airflow_provider_altegio.results import read_items


@dag(schedule=None, tags=["example"])
def search_products_example() -> None:
    # Name, article or barcode; location_id defaults to the connection's
    # extra.
    shampoos = SearchProductsOperator(task_id="find_shampoos", term="shampoo")

    # A whole catalogue is better written to storage than pushed through XCom.
    SearchProductsOperator(
        task_id="export_catalogue",
        location_id=1001,
        # Or s3://bucket/...: any ObjectStoragePath.
        output_path="file:///tmp/altegio/{{ ds }}/products.jsonl",
    )

    @task
    def count_low_stock(found: dict) -> int:
        # {"count": N, "items": [...], "path": None}; read_items also reads an
        # output_path file.
        return sum(
            1
            for p in read_items(found)
            if sum(a["amount"] for a in p["actual_amounts"])
            <= (p["critical_amount"] or 0)
        )

    count_low_stock(shampoos.output)


search_products_example()
