"""The lineage of whole example DAGs, as Airflow's OpenLineage listener emits it (``file``
transport) while ``dag.test()`` runs them against the sandbox: the datasets each task read and
wrote, and the run facets a person running the pipeline reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
#: Where jsonschema finds the run facet's schema (published with the docs).
FACET_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "AltegioRunFacet.json"


def load(filename: str, dag_id: str) -> Any:
    from airflow_provider_altegio.compat import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES / filename))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def names(datasets: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in datasets}


def namespace(api: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{api}://{parts.hostname}:{parts.port}"


def check_facets_and_secrets(events: Any, sandbox: Any) -> None:
    """Every provider facet matches its published schema, and no secret of either connection
    appears anywhere in the events."""
    import jsonschema

    schema = json.loads(FACET_SCHEMA.read_text())
    facets = [event["run"]["facets"]["altegio"] for event in events if "altegio" in event["run"]["facets"]]
    assert facets
    for facet in facets:
        jsonschema.validate(facet, {**schema, "$ref": "#/$defs/AltegioRunFacet"})
    text = events.path.read_text()
    for secret in (sandbox.partner_token, sandbox.user_token, sandbox.password, sandbox.altacolor_password):
        assert secret not in text


@pytest.fixture
def secret_connections(altegio_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox connections with every credential they can hold: tokens, login and password."""
    altegio = altegio_sandbox.altegio_connection()
    altegio.update(login=altegio_sandbox.login, password=altegio_sandbox.password)
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(altegio))
    return altegio_sandbox


def test_catalogue_sync_reads_both_catalogues_writes_files_and_updates_products(
    secret_connections: Any, run_dag: Any, xcom: Any, tmp_path: Path, lineage_events: Any
) -> None:
    """``altacolor_catalogue_sync``: the supplier catalogue and the location's products are read
    (with their counts) into files named as the OpenLineage spec names local files, and the cost
    price update reads and writes the location's products."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    sandbox = secret_connections
    location = sandbox.location_ids[0]
    with AltegioHook() as altegio_hook, AltacolorHook() as altacolor_hook:
        articles = {p.article for p in altegio_hook.iter_products(location)}
        supplier = altacolor_hook.iter_products([{"field": "product_id", "condition": ">", "value": "0"}])
        known = next(item for item in supplier if item.product_code in articles)
    since = (datetime.now(tz=timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
    sandbox.change_supplier_product(known.product_id, price=123.45)
    conf = {
        "location_ids": [location],
        "modified_since": since,
        "work_dir": tmp_path.as_uri(),
        "dry_run": False,
    }

    dag_run = run_dag(load("altacolor_catalogue_sync.py", "altacolor_catalogue_sync"), run_conf=conf)
    assert dag_run.state == "success"
    events = lineage_events.read()
    altegio = namespace("altegio", sandbox.altegio_url)
    altacolor = namespace("altacolor", sandbox.altacolor_url)
    products = (altegio, f"locations/{location}/products")

    for event_type in ("START", "COMPLETE"):  # the datasets are known before the task runs
        (supplier_read,) = lineage_events.of("read_supplier_products", event_type)
        supplier_file = xcom(dag_run, "read_supplier_products")
        assert names(supplier_read["inputs"]) == {(altacolor, "catalogue")}
        assert names(supplier_read["outputs"]) == {("file", urlsplit(supplier_file["path"]).path)}
        (products_read,) = lineage_events.of("read_altegio_products", event_type)
        products_file = xcom(dag_run, "read_altegio_products", map_index=0)
        assert names(products_read["inputs"]) == {products}
        assert names(products_read["outputs"]) == {("file", urlsplit(products_file["path"]).path)}
        (update,) = lineage_events.of("update_cost_prices", event_type)
        assert names(update["inputs"]) == names(update["outputs"]) == {products}

    # The counts: on the datasets (the standard statistics facets) and in the provider's facet.
    (supplier_read,) = lineage_events.of("read_supplier_products", "COMPLETE")
    assert supplier_read["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] == supplier_file["count"]
    assert (
        supplier_read["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == supplier_file["count"]
    )
    assert supplier_read["run"]["facets"]["altegio"]["result"] == {"count": supplier_file["count"]}
    (products_read,) = lineage_events.of("read_altegio_products", "COMPLETE")
    assert products_read["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] == products_file["count"]
    assert products_read["run"]["facets"]["altegio"]["locationId"] == location
    (update,) = lineage_events.of("update_cost_prices", "COMPLETE")
    report = xcom(dag_run, "update_cost_prices", map_index=0)
    assert update["run"]["facets"]["altegio"]["result"] == {
        "updated": report["updated"],
        "unchanged": report["unchanged"],
        "failed": 0,
        "unknown": 0,
    }
    assert report["updated"] >= 1
    # Tasks that use the hooks inside @task functions report nothing of the provider's own.
    assert not any("altegio" in e["run"]["facets"] for e in lineage_events.of("supplier_prices", "COMPLETE"))
    check_facets_and_secrets(events, sandbox)


def test_write_off_names_documents_storages_keys_and_rate_limit_waits(
    secret_connections: Any, run_dag: Any, xcom: Any, lineage_events: Any
) -> None:
    """``altegio_write_off``: each booking writes the location's documents and the stock of its
    storage; its events carry the idempotency key (already at the start), the document booked
    and the HTTP 429 it waited out."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    sandbox = secret_connections
    location = sandbox.location_ids[0]
    with AltegioHook() as hook:
        retail = next(s.id for s in hook.list_storages(location) if s.for_sale)
        product = next(p for p in hook.iter_products(location) if p.amount_in(retail) >= 3 and p.barcode)
    # The API asks the booking to slow down once: the task waits it out and says so.
    sandbox.faults.add("POST", "/storage_operations/operation/*", status=429, retry_after=1, count=1)
    lines = [{"barcode": product.barcode, "amount": 2, "reason": "broken in delivery"}]

    dag_run = run_dag(
        load("altegio_write_off.py", "altegio_write_off"), run_conf={"location_id": location, "lines": lines}
    )
    assert dag_run.state == "success"
    events = lineage_events.read()
    booked = xcom(dag_run, "create_write_off", map_index=0)
    altegio = namespace("altegio", sandbox.altegio_url)
    (start,) = lineage_events.of("create_write_off", "START")
    (complete,) = lineage_events.of("create_write_off", "COMPLETE")
    for event in (start, complete):
        assert event["inputs"] == []
        assert names(event["outputs"]) == {
            (altegio, f"locations/{location}/documents"),
            (altegio, f"locations/{location}/storages/{retail}"),
        }
        assert event["run"]["facets"]["altegio"]["keys"] == [booked["key"]]
    facet = complete["run"]["facets"]["altegio"]
    assert facet["result"] == {"documents": booked["documents"]}
    assert facet["result"]["documents"][0]["document_id"] == booked["document_id"]
    assert facet["rateLimitWaits"] == 1
    assert facet["rateLimitWaitSeconds"] > 0
    check_facets_and_secrets(events, sandbox)


def test_a_failed_booking_names_what_it_was_writing_and_its_key(
    altegio_sandbox: Any, run_dag: Any, lineage_events: Any
) -> None:
    """The fail event of a booking refused before anything was written (an unknown storage)
    still names its datasets and the key to look for, and has no result."""
    import pendulum
    from airflow.sdk import DAG

    from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator

    location = altegio_sandbox.location_ids[0]
    with DAG("lineage_failed_booking", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        CreateStorageOperationOperator(
            task_id="book",
            location_id=location,
            operation_type="receipt",
            storage_id=999999,
            transactions=[{"good_id": 1, "amount": 1, "cost_per_unit": 1}],
            retries=0,
        )
    assert run_dag(dag).state == "failed"
    lineage_events.read()
    (start,) = lineage_events.of("book", "START")
    (fail,) = lineage_events.of("book", "FAIL")
    altegio = namespace("altegio", altegio_sandbox.altegio_url)
    assert names(fail["outputs"]) == {
        (altegio, f"locations/{location}/documents"),
        (altegio, f"locations/{location}/storages/999999"),
    }
    facet = fail["run"]["facets"]["altegio"]
    assert facet["keys"] == start["run"]["facets"]["altegio"]["keys"]
    assert len(facet["keys"]) == 1
    assert "result" not in facet
    assert "location 1001 has no storage 999999" in fail["run"]["facets"]["errorMessage"]["message"]
