"""AltegioHook inside a task: bulk reads and writes with one connection and
one rate limit."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(schedule=None, tags=["example"])
def altegio_hook_example() -> None:
    @task
    def stock_report(location_id: int = 1001) -> dict[str, float]:
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        # One persistent HTTP client for every call, closed after the block.
        with AltegioHook(altegio_conn_id="altegio_default") as hook:
            storages = {s.id: s.title for s in hook.list_storages(location_id)}
            totals = dict.fromkeys(storages.values(), 0.0)
            for product in hook.iter_products(
                location_id
            ):  # streams page by page
                for storage_id, title in storages.items():
                    totals[title] += product.amount_in(storage_id)
        return totals

    stock_report()


altegio_hook_example()
