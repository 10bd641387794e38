"""LowStockReportOperator: every morning, what each salon of the chain should
order."""

from __future__ import annotations

from airflow.sdk import dag, task

from airflow_provider_altegio.operators.storage import LowStockReportOperator


@dag(schedule="0 6 * * *", catchup=False, tags=["example"])
def low_stock_report_example() -> None:
    # One mapped task instance per location of the chain.
    reports = LowStockReportOperator.partial(task_id="low_stock").expand(
        location_id=[1001, 1002]
    )

    @task
    def order_list(reports: list[list[dict]]) -> list[str]:
        # quantity: whole sale units (a bottle, a box), as a supplier sells
        return [
            f"{line['location_id']}: {line['quantity']} {line['unit']} "
            f"{line['title']}"
            for report in reports
            for line in report
        ]

    order_list(reports.output)


low_stock_report_example()
