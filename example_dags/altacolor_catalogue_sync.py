"""Keep Altegio products in step with the Altacolor supplier catalogue, matched by article.

Every night it reads the supplier products modified since the previous run (Altacolor's Date
Modified condition over the run's data interval) and, for each location of the chain (mapped
task instances: Altegio keeps products per location), its Altegio catalogue, then:

* a supplier product whose ``product_code`` is the ``article`` of an Altegio product updates that
  product's cost price (``actual_cost``) when the supplier's price changed. Titles, selling prices
  and stock levels are the salon's own and are left alone;
* a supplier product with no such article is created in Altegio, in a category for the supplier
  (created on the first run), priced at the supplier's price times ``markup``.

**Nothing is written unless asked.** By default a run is a dry run: it reports what it would
update and create (``report_catalogue_sync``) and stops. ``dry_run: false`` applies the cost
price updates; creating products is a separate opt-in, ``create_products: true``, since a first
run would otherwise add every supplier product the salon does not stock. ``suppliers`` and
``brands`` narrow both to the lines the salon actually buys.

Trigger it by hand with ``{"modified_since": "2000-01-01T00:00:00"}`` for a full first sync.

This DAG shows the other way of using the provider: the hooks inside ``@task`` functions, for
bulk work where one mapped operator per product would be thousands of task instances. Creating
is find-or-create by article, so a retry after a lost answer, or a re-run of the same run,
never creates a product twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta, timezone
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_altegio.compat import CronTriggerTimetable
from airflow_provider_altegio.operators.products import (
    AltacolorSearchProductsOperator,
    SearchProductsOperator,
    UpdateProductsOperator,
)
from airflow_provider_altegio.results import read_items
from airflow_provider_altegio.workflows.stocklists import location_choices, location_param

log = logging.getLogger("altacolor_catalogue_sync")  # __name__ is mangled when Airflow imports DAG files

#: Where both catalogues are written as JSON lines for this run (see the ``work_dir`` param).
RUN_DIR = "{{ params.work_dir }}/{{ dag.dag_id }}/{{ run_id | replace(':', '-') }}"
#: Each location's Altegio catalogue in RUN_DIR: written by one task, read by another.
LOCATION_FILE = "altegio_products_{location_id}.jsonl"


@dag(
    dag_id="altacolor_catalogue_sync",
    description="Create and update Altegio products from the Altacolor supplier catalogue, by article",
    # Nightly; the one-day interval is what "modified since the previous run" reads.
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "location_ids": Param(
            **location_param(location_choices(), multiple=True),
            title="Locations",
            description="Locations to sync. Empty: the location_id of the altegio_default connection.",
        ),
        "modified_since": Param(
            None,
            type=["null", "string"],
            title="Modified since",
            description="ISO date-time. Empty: the start of the run's data interval (the previous night).",
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Report what would change and write nothing. Off: cost prices are updated.",
        ),
        "create_products": Param(
            False,
            type="boolean",
            title="Create products",
            description="Also create the supplier products the salon does not stock (with dry_run off).",
        ),
        "suppliers": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Suppliers",
            description="Only these suppliers' products (as Altacolor names them). Empty: every supplier.",
        ),
        "brands": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Brands",
            description="Only these brands (from the products' details). Empty: every brand.",
        ),
        "category_title": Param("Altacolor catalogue", type="string", title="Category for new products"),
        "markup": Param(1.8, type="number", minimum=1, title="Selling price = supplier price x markup"),
        "sale_unit_id": Param(1, type="integer", title="Sale unit id for new products"),
        "service_unit_id": Param(1, type="integer", title="Service unit id for new products"),
        "work_dir": Param(
            "file:///tmp/altacolor_catalogue_sync",
            type="string",
            title="Working directory",
            description="Where the catalogues are written as JSON lines (any ObjectStoragePath URL).",
        ),
    },
    tags=["altegio", "altacolor", "catalogue", "example"],
    doc_md=__doc__,
)
def altacolor_catalogue_sync() -> None:
    @task
    def build_supplier_conditions(params: dict[str, Any], dag_run: Any = None) -> list[dict[str, Any]]:
        """Altacolor search conditions: modified after the param, else after the start of the
        run's data interval (a run triggered without one, from the CLI say: after the day before
        it was due); one supplier narrows the search itself (several are filtered after
        reading: conditions are joined with AND)."""
        start = dag_run.data_interval_start or dag_run.run_after - timedelta(days=1)
        since = params["modified_since"] or start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        log.info("Reading supplier products modified after %s", since)
        conditions = [{"field": "date_modified", "condition": ">", "value": since}]
        if len(params["suppliers"]) == 1:
            conditions.append({"field": "supplier", "condition": "==", "value": params["suppliers"][0]})
        return conditions

    supplier_products = AltacolorSearchProductsOperator(
        task_id="read_supplier_products",
        conditions=build_supplier_conditions(),
        output_path=RUN_DIR + "/supplier_products.jsonl",
    )

    @task
    def supplier_prices(supplier: dict[str, Any], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each supplier variant's code with its title and price. A search gives no prices: they
        come from the products' details, asked once for every location, 100 at a time. Each SKU
        (a size of a supplier product) is one Altegio product, matched by its code as the article."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        suppliers, brands = set(params["suppliers"]), set(params["brands"])
        ids = [
            item["product_id"]
            for item in read_items(supplier)
            if item.get("product_id") and (not suppliers or item.get("supplier") in suppliers)
        ]
        with AltacolorHook() as hook:
            details = [p for p in hook.get_products(ids) if not brands or p.brand in brands]
        return {
            (sku.sku or "").strip(): {
                "title": " ".join(
                    filter(None, [item.product_name or sku.sku, sku.size if len(item.skus) > 1 else None])
                ),
                "price": sku.price,
            }
            for item in details
            for sku in item.skus
            if (sku.sku or "").strip() and sku.price  # nothing to match on, or to price it with
        }

    @task
    def resolve_locations(params: dict[str, Any]) -> list[int]:
        """The locations to sync: the ``location_ids`` param, else the connection's default."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        with AltegioHook() as hook:
            return hook.resolve_location_ids(params["location_ids"])

    locations = resolve_locations()

    # One mapped task instance per location: its catalogue, as JSON lines, in pages of 1000 (the
    # largest the API serves: 3 requests for 2,000 products, where pages of 100 take 21).
    altegio_products = SearchProductsOperator.partial(
        task_id="read_altegio_products",
        page_size=1000,
        output_path=RUN_DIR + "/" + LOCATION_FILE.format(location_id="{{ task.location_id }}"),
        map_index_template="location {{ task.location_id }}",
    ).expand(location_id=locations)

    @task(map_index_template="location {{ location_id }}")
    def plan_catalogue_sync(
        location_id: int, prices: dict[str, dict[str, Any]], run_dir: str
    ) -> dict[str, Any]:
        """A location's products to create and cost prices to update, from its catalogue file."""
        path = f"{run_dir}/{LOCATION_FILE.format(location_id=location_id)}"
        stocked = {str(p["article"]).strip(): p for p in read_items({"path": path}) if p.get("article")}
        create, update = [], []
        for code, variant in prices.items():
            existing = stocked.get(code)
            if existing is None:
                create.append({"article": code, "title": variant["title"], "price": variant["price"]})
            elif abs(float(existing.get("actual_cost") or 0) - variant["price"]) >= 0.005:
                update.append(
                    {"good_id": existing["good_id"], "article": code, "actual_cost": variant["price"]}
                )
        log.info(
            "Location %s: %d products to create, %d cost prices to update",
            location_id,
            len(create),
            len(update),
        )
        return {"location_id": location_id, "create": create, "update": update}

    planned = plan_catalogue_sync.partial(
        prices=supplier_prices(supplier_products.output), run_dir=RUN_DIR
    ).expand(location_id=locations)
    altegio_products >> planned
    plans = planned  # every location's plan, each naming its location

    @task
    def report_catalogue_sync(plans: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """What the sync changes (or would, in a dry run): one line per update and creation."""
        for plan in plans:
            for item in plan["update"]:
                log.info(
                    "location %s: cost price of %s (good %s) -> %.2f",
                    plan["location_id"],
                    item["article"],
                    item["good_id"],
                    item["actual_cost"],
                )
            for item in plan["create"]:
                log.info(
                    "location %s: new product %s %r at %.2f",
                    plan["location_id"],
                    item["article"],
                    item["title"],
                    item["price"],
                )
        updates = sum(len(plan["update"]) for plan in plans)
        creations = sum(len(plan["create"]) for plan in plans)
        mode = "dry run: nothing written" if params["dry_run"] else "applying"
        creating = "created" if params["create_products"] and not params["dry_run"] else "not created"
        log.info(
            "%d cost prices to update, %d products to create (%s); %s", updates, creations, creating, mode
        )
        return {"update": updates, "create": creations, "dry_run": params["dry_run"]}

    report = report_catalogue_sync(plans)

    @task.short_circuit
    def writing(params: dict[str, Any]) -> bool:
        """Stop here (the writes skipped, the run successful) in a dry run."""
        return not params["dry_run"]

    @task.short_circuit
    def creating(params: dict[str, Any]) -> bool:
        """Creating products is opt-in, on top of writing."""
        return bool(params["create_products"]) and not params["dry_run"]

    @task
    def cost_price_changes(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The keyword arguments of one bulk update per location with something to change."""
        return [{"location_id": p["location_id"], "changes": p["update"]} for p in plans if p["update"]]

    # One mapped task instance per location. Only products whose cost price still differs are
    # sent, so a retry after a failure, or a re-run, picks up where the last try stopped; every
    # product is reported.
    update_cost_prices = UpdateProductsOperator.partial(
        task_id="update_cost_prices", map_index_template="location {{ task.location_id }}"
    ).expand_kwargs(cost_price_changes(plans))

    @task
    def new_products(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One set of new products per location with some."""
        return [{"location_id": p["location_id"], "create": p["create"]} for p in plans if p["create"]]

    @task(map_index_template="location {{ plan['location_id'] }}")
    def create_new_products(plan: dict[str, Any], params: dict[str, Any]) -> list[int]:
        """Create each new product of a location unless a product with its article exists
        (find-or-create), in the supplier's category (created when missing)."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        location_id, created = plan["location_id"], []
        with AltegioHook() as hook:
            category_id = _supplier_category(hook, location_id, params["category_title"])
            for item in plan["create"]:
                # Looked up again right before creating: an earlier try may have created it and
                # lost the answer, and the plan was made before that.
                if any(
                    p.article == item["article"]
                    for p in hook.iter_products(location_id, term=item["article"])
                ):
                    continue
                product = hook.create_product(
                    {
                        "title": item["title"],
                        "article": item["article"],
                        "category_id": category_id,
                        "sale_unit_id": params["sale_unit_id"],
                        "service_unit_id": params["service_unit_id"],
                        "actual_cost": item["price"],
                        "cost": round(item["price"] * params["markup"], 2),
                        "comment": "Imported from the Altacolor catalogue",
                    },
                    location_id,
                )
                created.append(int(product.good_id))
        log.info("Location %s: created %d products", location_id, len(created))
        return created

    may_write = writing()
    may_create = creating()
    report >> may_write >> update_cost_prices
    report >> may_write >> may_create
    to_create = new_products(plans)
    may_create >> to_create
    create_new_products.expand(plan=to_create)


def _supplier_category(hook: Any, location_id: int, title: str) -> int:
    """The id of the location's root category ``title`` for new supplier products, created
    when missing."""
    for category in hook.list_categories(0, location_id):
        if category.title == title:
            return int(category.id)
    created = hook.create_category({"title": title}, location_id)
    log.info("Location %s: created category %s (%s)", location_id, created.id, created.title)
    return int(created.id)


altacolor_catalogue_sync()
