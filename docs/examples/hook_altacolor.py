"""AltacolorHook inside a task: the supplier's price of a few product codes."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(schedule=None, tags=["example"])
def altacolor_hook_example() -> None:
    @task
    def supplier_prices(codes: list[str]) -> dict[str, float | None]:
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        prices: dict[str, float | None] = {}
        with AltacolorHook(altacolor_conn_id="altacolor_default") as hook:
            for code in codes:
                by_code = {"field": "product_code", "condition": "=="}
                found = hook.search_products(
                    {**by_code, "value": code}, limit=1
                )
                skus = found.products[0].skus if found.products else []
                offers = [sku.price for sku in skus if sku.price]
                prices[code] = min(offers, default=None)
        return prices

    supplier_prices(["SOL-BD-00001", "NAI-NP-00002", "NOT-A-CODE"])


altacolor_hook_example()
