"""CreateStorageOperationOperator: a delivery booked, then a damaged bottle
written off."""

from __future__ import annotations

from airflow.sdk import Asset, dag

from airflow_provider_altegio.operators.storage import (
    CreateStorageOperationOperator,
)

RECEIPTS = Asset("altegio://lumiere/receipts")


@dag(
    schedule=None,
    # master_id: who the documents are booked by (the API requires one).
    params={"storage_id": 3101, "good_id": 10000001, "master_id": 990101},
    tags=["example"],
)
def create_storage_operation_example() -> None:
    delivery = CreateStorageOperationOperator(
        task_id="book_delivery",
        location_id=1001,
        operation_type="receipt",
        storage_id="{{ params.storage_id }}",
        transactions=[
            {
                "good_id": "{{ params.good_id }}",
                "amount": 6,
                "cost_per_unit": 4.5,
            },
        ],
        comment="Delivery note {{ ds_nodash }}",
        master_id="{{ params.master_id }}",
        outlets=[RECEIPTS],  # the asset event's extra carries the document id
    )
    damaged = CreateStorageOperationOperator(
        task_id="write_off_damaged",
        location_id=1001,
        operation_type="write_off",
        storage_id="{{ params.storage_id }}",
        transactions=[
            # 1 bottle in the sale unit, and 50 ml in the service unit
            # (operation_unit_type=2)
            {
                "good_id": "{{ params.good_id }}",
                "amount": 1,
                "comment": "broken",
            },
            {
                "good_id": "{{ params.good_id }}",
                "amount": 50,
                "operation_unit_type": 2,
                "comment": "spilled",
            },
        ],
        comment="Damaged in delivery",
        master_id="{{ params.master_id }}",
    )
    delivery >> damaged


create_storage_operation_example()
