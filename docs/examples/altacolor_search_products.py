"""AltacolorSearchProductsOperator: supplier products by conditions."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_altegio.operators.products import (
    AltacolorSearchProductsOperator,
)


@dag(schedule="@daily", tags=["example"])
def altacolor_search_products_example() -> None:
    # One product by its code (what matches an Altegio article or barcode).
    AltacolorSearchProductsOperator(
        task_id="find_by_code",
        conditions={
            "field": "product_code",
            "condition": "==",
            "value": "SOL-BD-00001",
        },
    )

    # Conditions are joined with AND; dates are UTC; "between" takes two.
    AltacolorSearchProductsOperator(
        task_id="changed_in_interval",
        conditions=[
            {"field": "supplier", "condition": "==", "value": "Lumina Pro"},
            {
                "field": "date_modified",
                "condition": "between",
                "value": [
                    "2020-01-01T00:00:00",
                    "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%S') }}",
                ],
            },
        ],
        sort_by="date_modified",
        output_path="file:///tmp/altacolor/{{ ds }}/changed.jsonl",
    )


altacolor_search_products_example()
