"""DeleteStorageDocumentOperator: a write-off booked by mistake, undone."""

from __future__ import annotations

from airflow.sdk import dag

from airflow_provider_altegio.operators.storage import (
    CreateStorageOperationOperator,
    DeleteStorageDocumentOperator,
)


@dag(schedule=None, tags=["example"])
def delete_storage_document_example() -> None:
    mistake = CreateStorageOperationOperator(
        task_id="write_off",
        location_id=1001,
        operation_type="write_off",
        storage_id=3101,
        transactions=[{"good_id": 10000001, "amount": 1}],
        comment="Broken bottle (wrong product)",
        master_id=990101,  # who it is booked by: the API requires one
    )
    undo = DeleteStorageDocumentOperator(
        task_id="undo_write_off",
        location_id=1001,
        # the document the write-off created; its stock comes back
        document_id="{{ ti.xcom_pull('write_off')['document_id'] }}",
    )
    mistake >> undo


delete_storage_document_example()
