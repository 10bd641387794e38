"""UpdateProductsOperator: new cost prices and stock levels for several
products."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_altegio.operators.products import UpdateProductsOperator


@dag(schedule=None, tags=["example"], default_args={"retries": 3})
def update_products_example() -> None:
    UpdateProductsOperator(
        task_id="new_price_list",
        location_id=1001,
        # Each change names its product by good_id, article or barcode. Only
        # products whose values differ are sent: a retry picks up where the
        # last try stopped.
        changes=[
            {"article": "NOR-SH-00001", "actual_cost": 19.2},
            {
                "barcode": "2049275657777",
                "critical_amount": 6,
                "desired_amount": 18,
            },
            # Unchanged: no request.
            {"good_id": 10000003, "actual_cost": 5.08},
        ],
    )


update_products_example()
