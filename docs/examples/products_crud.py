"""Create, read, update and delete an Altegio product."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_altegio.operators.products import (
    CreateProductOperator,
    DeleteProductOperator,
    GetProductOperator,
    UpdateProductOperator,
)

NEW_ID = "{{ ti.xcom_pull(task_ids='create_product')['good_id'] }}"


@dag(schedule=None, tags=["example"])
def products_crud_example() -> None:
    create = CreateProductOperator(
        task_id="create_product",
        location_id=1001,
        product={
            "title": "Argan Oil Serum 100 ml",
            "article": "ARG-100",
            "category_id": 114,
            "sale_unit_id": 1,  # sold per piece
            "service_unit_id": 2,  # used up in ml
            "unit_equals": 100,  # 1 piece = 100 ml
            "cost": 24.0,
            "actual_cost": 11.5,
            "critical_amount": 2,
            "desired_amount": 6,
        },
    )
    read = GetProductOperator(
        task_id="get_product", location_id=1001, product_id=NEW_ID
    )
    update = UpdateProductOperator(
        task_id="raise_price",
        location_id=1001,
        product_id=NEW_ID,
        changes={"cost": 26.0, "critical_amount": 3},
    )
    delete = DeleteProductOperator(
        task_id="delete_product",
        location_id=1001,
        product_id=NEW_ID,
        ignore_missing=True,  # a retry after a delete that worked succeeds
    )
    create >> read >> update >> delete


products_crud_example()
