"""Product, category and catalogue-search operators inside real DAGs (``dag.test()``) against the
sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import DAG, Asset

from airflow_provider_altegio.operators.products import (
    AltacolorSearchProductsOperator,
    CreateProductCategoryOperator,
    CreateProductOperator,
    DeleteProductCategoryOperator,
    DeleteProductOperator,
    GetProductOperator,
    ListProductCategoriesOperator,
    SearchProductsOperator,
    UpdateProductCategoryOperator,
    UpdateProductOperator,
)
from airflow_provider_altegio.results import read_items

pytestmark = pytest.mark.integration


def _states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


@pytest.fixture
def location_id(altegio_sandbox: Any) -> int:
    return int(altegio_sandbox.location_ids[0])


@pytest.fixture
def catalogue(location_id: int) -> list[Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    return list(AltegioHook().iter_products(location_id))


def test_search_products(
    location_id: int, catalogue: list[Any], run_dag: Any, xcom: Any, tmp_path: Any
) -> None:
    sample = next(p for p in catalogue if p.article and p.category_id)
    with DAG("search_products", schedule=None, params={"term": sample.article}) as dag:
        SearchProductsOperator(task_id="everything", location_id=location_id, page_size=50)
        SearchProductsOperator(task_id="by_term", location_id=str(location_id), term="{{ params.term }}")
        SearchProductsOperator(
            task_id="by_category", location_id=location_id, category_id=str(sample.category_id)
        )
        SearchProductsOperator(
            task_id="to_file", location_id=location_id, output_path=str(tmp_path / "catalogue.jsonl")
        )
        SearchProductsOperator(
            task_id="changed_recently",
            location_id=location_id,
            changed_after="{{ data_interval_start }}",
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    everything = xcom(dag_run, "everything")["items"]
    assert xcom(dag_run, "everything")["count"] == len(everything) == len(catalogue)
    assert {"good_id", "title", "article", "barcode", "actual_amounts", "critical_amount"} <= set(
        everything[0]
    )
    assert sample.good_id in {p["good_id"] for p in xcom(dag_run, "by_term")["items"]}
    assert {p["category_id"] for p in xcom(dag_run, "by_category")["items"]} == {sample.category_id}
    written = xcom(dag_run, "to_file")
    path = f"file://{tmp_path / 'catalogue.jsonl'}"
    assert written == {"count": len(catalogue), "items": None, "path": path}
    assert [p["good_id"] for p in read_items(written)] == [p.good_id for p in catalogue]
    lines = (tmp_path / "catalogue.jsonl").read_text().splitlines()
    assert [json.loads(line)["good_id"] for line in lines] == [p.good_id for p in catalogue]
    assert xcom(dag_run, "changed_recently") == {"count": 0, "items": [], "path": None}


def test_search_validation_fails_before_any_request(location_id: int, run_dag: Any) -> None:
    with DAG("search_invalid", schedule=None) as dag:
        SearchProductsOperator(task_id="bad_date", location_id=location_id, changed_after="last tuesday")
        SearchProductsOperator(
            task_id="inverted",
            location_id=location_id,
            changed_after="2026-02-01",
            changed_before="2026-01-01",
        )
        SearchProductsOperator(task_id="bad_category", location_id=location_id, category_id="hair")
        AltacolorSearchProductsOperator(
            task_id="bad_condition",
            conditions=[{"field": "date_modified", "condition": "between", "value": "x"}],
        )
    dag_run = run_dag(dag)
    assert set(_states(dag_run).values()) == {"failed"}


def test_altacolor_search(altegio_sandbox: Any, run_dag: Any, xcom: Any, tmp_path: Any) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    supplier = list(AltacolorHook().iter_products([{"field": "id", "condition": ">", "value": 0}]))
    sample = supplier[0]
    with DAG("altacolor_search", schedule=None, params={"code": sample.product_code}) as dag:
        AltacolorSearchProductsOperator(
            task_id="by_code",
            conditions=[{"field": "product_code", "condition": "==", "value": "{{ params.code }}"}],
        )
        AltacolorSearchProductsOperator(
            task_id="raw_codes", conditions={"field": 1, "condition": 1, "string": sample.product_code}
        )
        AltacolorSearchProductsOperator(
            task_id="modified_between",
            conditions=[
                {"field": "date_modified", "condition": "between", "value": ["2000-01-01", "2100-01-01"]},
                {"field": "product_id", "condition": ">", "value": 0},
            ],
            sort_by="product_code",
            page_size=40,
        )
        AltacolorSearchProductsOperator(
            task_id="whole_catalogue", output_path=str(tmp_path / "supplier.jsonl")
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert [p["product_id"] for p in xcom(dag_run, "by_code")["items"]] == [sample.product_id]
    assert xcom(dag_run, "raw_codes") == xcom(dag_run, "by_code")
    between = xcom(dag_run, "modified_between")["items"]
    assert len(between) == len(supplier)
    codes = [p["product_code"] for p in between]
    assert codes == sorted(codes)
    assert xcom(dag_run, "whole_catalogue")["count"] == len(supplier)


def test_product_and_category_lifecycle(
    location_id: int, altegio_sandbox: Any, run_dag: Any, xcom: Any
) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    template = next(iter(AltegioHook().iter_products(location_id, page_size=5)))
    catalogue_asset = Asset("altegio://catalogue")
    # The product the first task creates, as every later task addresses it.
    created = {
        "location_id": location_id,
        "product_id": "{{ ti.xcom_pull(task_ids='create_product')['good_id'] }}",
    }
    with DAG("product_lifecycle", schedule=None) as dag:
        roots = ListProductCategoriesOperator(task_id="roots", location_id=location_id)
        category = CreateProductCategoryOperator(
            task_id="create_category",
            location_id=location_id,
            category={"title": "Airflow test shelf", "article": "AF-1"},
            outlets=[catalogue_asset],
        )
        rename = UpdateProductCategoryOperator(
            task_id="rename_category",
            location_id=location_id,
            category_id="{{ ti.xcom_pull(task_ids='create_category')['id'] }}",
            changes={"title": "Airflow shelf"},
        )
        product = CreateProductOperator(
            task_id="create_product",
            location_id=location_id,
            product={
                "title": "Airflow test serum",
                "category_id": "{{ ti.xcom_pull(task_ids='create_category')['id'] }}",
                "sale_unit_id": template.unit_id,
                "service_unit_id": template.service_unit_id,
                "article": "AF-SERUM",
                "cost": 19.9,
            },
            outlets=[catalogue_asset],
        )
        update = UpdateProductOperator(
            task_id="update_product",
            **created,
            changes={"critical_amount": 3, "desired_amount": 12},
        )
        read_back = GetProductOperator(
            task_id="get_product",
            **created,
        )
        delete = DeleteProductOperator(
            task_id="delete_product",
            **created,
        )
        delete_again = DeleteProductOperator(
            task_id="delete_product_again",
            **created,
            ignore_missing=True,
        )
        drop_category = DeleteProductCategoryOperator(
            task_id="delete_category",
            location_id=location_id,
            category_id="{{ ti.xcom_pull(task_ids='create_category')['id'] }}",
        )
        (
            roots
            >> category
            >> rename
            >> product
            >> update
            >> read_back
            >> delete
            >> delete_again
            >> drop_category
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success", _states(dag_run)
    assert xcom(dag_run, "roots")
    created = xcom(dag_run, "create_product")
    assert created["title"] == "Airflow test serum"
    assert xcom(dag_run, "rename_category")["title"] == "Airflow shelf"
    fetched = xcom(dag_run, "get_product")
    assert (fetched["critical_amount"], fetched["desired_amount"]) == (3, 12)
    assert xcom(dag_run, "delete_product") == {"good_id": created["good_id"], "deleted": True}
    assert xcom(dag_run, "delete_product_again") == {"good_id": created["good_id"], "deleted": False}
    assert xcom(dag_run, "delete_category")["deleted"] is True

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [
            event.extra
            for event in session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == catalogue_asset.uri)
        ]
    assert {"location_id": location_id, "good_id": created["good_id"]} in [
        {k: extra.get(k) for k in ("location_id", "good_id")} for extra in extras
    ]


def test_invalid_product_writes_nothing(location_id: int, catalogue: list[Any], run_dag: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with DAG("product_invalid", schedule=None) as dag:
        CreateProductOperator(task_id="no_title", location_id=location_id, product={"category_id": 1})
        CreateProductOperator(task_id="not_a_mapping", location_id=location_id, product="[1, 2]")
        UpdateProductOperator(
            task_id="bad_change",
            location_id=location_id,
            product_id=catalogue[0].good_id,
            changes={"cost": "free"},
        )
        CreateProductCategoryOperator(
            task_id="bad_category", location_id=location_id, category={"titel": "x"}
        )
    dag_run = run_dag(dag)
    assert set(_states(dag_run).values()) == {"failed"}
    after = list(AltegioHook().iter_products(location_id))
    assert [p.to_json_dict() for p in after] == [p.to_json_dict() for p in catalogue]
