"""List, create, rename and delete Altegio product categories."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_altegio.operators.products import (
    CreateProductCategoryOperator,
    DeleteProductCategoryOperator,
    ListProductCategoriesOperator,
    UpdateProductCategoryOperator,
)

NEW_ID = "{{ ti.xcom_pull(task_ids='create_category')['id'] }}"


@dag(schedule=None, tags=["example"])
def categories_crud_example() -> None:
    roots = ListProductCategoriesOperator(
        task_id="list_root_categories", location_id=1001
    )
    create = CreateProductCategoryOperator(
        task_id="create_category",
        location_id=1001,
        category={
            "title": "Seasonal",
            "parent_category_id": 101,
            "article": "HAIR-SEAS",
        },
    )
    rename = UpdateProductCategoryOperator(
        task_id="rename_category",
        location_id=1001,
        category_id=NEW_ID,
        changes={"title": "Seasonal (winter)"},
    )
    delete = DeleteProductCategoryOperator(
        task_id="delete_category",
        location_id=1001,
        category_id=NEW_ID,
        ignore_missing=True,
    )
    roots >> create >> rename >> delete


categories_crud_example()
