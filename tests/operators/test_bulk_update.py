"""Bulk product updates against the sandbox: only what differs is sent, refusals are reported
per product, and running the same changes again after a failure redoes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_altegio.exceptions import AltegioAPIError, InvalidRequestError
from airflow_provider_altegio.operators.products import UpdateProductsOperator
from airflow_provider_altegio.workflows.catalogue import update_products

pytestmark = pytest.mark.integration


@pytest.fixture
def hook(altegio_sandbox: Any) -> Iterator[Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as altegio:
        yield altegio


@pytest.fixture
def sample(altegio_sandbox: Any, hook: Any) -> dict[str, Any]:
    location = altegio_sandbox.location_ids[0]
    products = [p for p in hook.iter_products(location) if p.article and p.barcode][:4]
    return {"location": location, "products": products}


def puts(sandbox: Any) -> list[str]:
    return [entry["path"] for entry in sandbox.requests("PUT")]


def changes_for(products: list[Any]) -> list[dict[str, Any]]:
    p1, p2, p3, p4 = products
    return [
        {"good_id": p1.good_id, "actual_cost": (p1.actual_cost or 0) + 1.25},
        {"article": p2.article, "critical_amount": (p2.critical_amount or 0) + 2, "desired_amount": 40},
        {"barcode": p3.barcode, "actual_cost": p3.actual_cost},  # already so: no request
        {"article": p4.article, "desired_amount": 30},
    ]


def test_only_differing_products_are_sent_and_refusals_are_reported(
    altegio_sandbox: Any, hook: Any, sample: dict[str, Any]
) -> None:
    location, products = sample["location"], sample["products"]
    p4 = products[3]
    altegio_sandbox.faults.add(
        "PUT", f"/goods/{location}/{p4.good_id}", status=422, message="Locked", count=1
    )
    altegio_sandbox.clear_requests()

    report = update_products(hook, changes_for(products), location)

    assert [(o.change, o.good_id, o.outcome) for o in report.outcomes] == [
        (0, products[0].good_id, "updated"),
        (1, products[1].good_id, "updated"),
        (2, products[2].good_id, "unchanged"),
        (3, p4.good_id, "failed"),
    ]
    assert report.outcomes[1].fields == {
        "critical_amount": (products[1].critical_amount or 0) + 2,
        "desired_amount": 40,
    }
    assert "Locked" in (report.outcomes[3].error or "")
    assert report.summary() == "2 updated, 1 unchanged, 1 failed, 0 unknown"
    assert len(puts(altegio_sandbox)) == 3
    assert hook.get_product(products[0].good_id, location).actual_cost == pytest.approx(
        (products[0].actual_cost or 0) + 1.25
    )

    # The same changes again: only the refused product is sent.
    altegio_sandbox.clear_requests()
    again = update_products(hook, changes_for(products), location)
    assert [o.outcome for o in again.outcomes] == ["unchanged", "unchanged", "unchanged", "updated"]
    assert puts(altegio_sandbox) == [f"/api/v1/goods/{location}/{p4.good_id}"]


def test_a_run_stopped_by_a_server_failure_resumes_without_redoing(
    altegio_sandbox: Any, sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    location, products = sample["location"], sample["products"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(altegio_sandbox.altegio_connection(max_retries=0))
    )
    altegio_sandbox.faults.add("PUT", f"/goods/{location}/{products[1].good_id}", status=503, count=1)
    altegio_sandbox.clear_requests()
    with AltegioHook() as hook, pytest.raises(AltegioAPIError):
        update_products(hook, changes_for(products), location)
    assert len(puts(altegio_sandbox)) == 2  # the first was applied, the second failed

    altegio_sandbox.clear_requests()
    with AltegioHook() as hook:
        report = update_products(hook, changes_for(products), location)
    assert [o.outcome for o in report.outcomes] == ["unchanged", "updated", "unchanged", "updated"]
    assert sorted(puts(altegio_sandbox)) == sorted(
        f"/api/v1/goods/{location}/{p.good_id}" for p in (products[1], products[3])
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"article": "NO-SUCH-ARTICLE", "actual_cost": 1}, "changes[1].article", "no product with article"),
        ({"good_id": "x", "actual_cost": 1}, "changes[1].good_id", "whole number"),
        ({"actual_cost": 1}, "changes[1]", "must name its product"),
        ({"article": "A", "critical_amount": -1}, "changes[1].critical_amount", "must be 0 or more"),
        ({"article": "A", "price": 1}, "changes[1].price", "is not a field"),
        ({"article": "A"}, "changes[1]", "changes no field"),
    ],
)
def test_bad_changes_fail_before_anything_is_written(
    altegio_sandbox: Any, hook: Any, sample: dict[str, Any], change: dict[str, Any], field: str, problem: str
) -> None:
    first = {"good_id": sample["products"][0].good_id, "actual_cost": 99}
    altegio_sandbox.clear_requests()
    with pytest.raises(InvalidRequestError) as error:
        update_products(hook, [first, change], sample["location"])
    assert error.value.field == field
    assert problem in error.value.problem
    assert puts(altegio_sandbox) == []


def test_unknown_products_can_be_skipped(altegio_sandbox: Any, hook: Any, sample: dict[str, Any]) -> None:
    report = update_products(
        hook,
        [
            {"article": "NO-SUCH-ARTICLE", "actual_cost": 1},
            {"good_id": sample["products"][0].good_id, "netto": 7},
        ],
        sample["location"],
        skip_unknown=True,
    )
    assert [o.outcome for o in report.outcomes] == ["unknown", "updated"]


def test_operator_reports_every_product_and_fails_once_on_refusals(
    altegio_sandbox: Any, sample: dict[str, Any], run_dag: Any, xcom: Any
) -> None:
    location, products = sample["location"], sample["products"]
    altegio_sandbox.faults.add("PUT", f"/goods/{location}/{products[3].good_id}", status=400, count=None)
    with DAG("bulk_update", schedule=None, default_args={"retries": 2}) as dag:
        UpdateProductsOperator(
            task_id="update", changes=json.dumps(changes_for(products)), location_id=location
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "failed"
    (ti,) = dag_run.get_task_instances()
    assert ti.try_number == 1  # the same refusal would come again: no retry
    report = xcom(dag_run, "update", key="report")
    assert {k: report[k] for k in ("updated", "unchanged", "failed", "unknown")} == {
        "updated": 2,
        "unchanged": 1,
        "failed": 1,
        "unknown": 0,
    }
    assert report["outcomes"][3]["good_id"] == products[3].good_id

    altegio_sandbox.faults.clear()
    with DAG("bulk_update_again", schedule=None) as dag:
        UpdateProductsOperator(task_id="update", changes=changes_for(products), location_id=location)
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    result = xcom(dag_run, "update")
    assert (result["updated"], result["unchanged"], result["failed"]) == (1, 3, 0)
