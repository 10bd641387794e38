"""Purchase orders: drafting from shortages and the supplier's details, a person's changes,
the delivery checked against the order, and the files the supplier gets."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed
from airflow_provider_altegio.workflows.restock import PurchaseOrder


def shortage(
    good_id: int, article: str, quantity: int, storage_id: int = 31, location_id: int = 1
) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "storage_id": storage_id,
        "storage_title": "Retail shelf",
        "good_id": good_id,
        "title": f"Product {good_id}",
        "article": article,
        "barcode": None,
        "unit": "pcs",
        "on_hand": 1.0,
        "critical_amount": 2.0,
        "desired_amount": 1.0 + quantity,
        "quantity": quantity,
    }


CATALOGUE = [
    AltacolorProductDetailed.model_validate(
        {
            "product_id": 7,
            "product_code": "SH-1",
            "skus": [{"dn_sku_id": 70, "sku": "SH-1-500", "price": "12.5"}],
        }
    ),
    AltacolorProductDetailed.model_validate(
        {
            "product_id": 8,
            "product_code": "CO-2",
            "skus": [{"sku": "CO-2-250", "price": 4}, {"sku": "CO-2-1000", "price": 9}],
        }
    ),
]


@pytest.fixture
def order() -> PurchaseOrder:
    return PurchaseOrder.draft(
        "PO-1",
        [
            shortage(102, "CO-2-1000", 3, storage_id=32, location_id=2),
            shortage(101, "SH-1-500", 5),
            shortage(103, "CO-2", 2),  # a product code with two sizes names no variant
            shortage(104, "NOPE", 1),
        ],
        CATALOGUE,
    )


def test_draft_prices_lines_from_the_matching_variant_and_lists_what_is_not_carried(
    order: PurchaseOrder,
) -> None:
    assert [(x.line, x.good_id, x.supplier_code, x.cost_per_unit, x.quantity) for x in order.lines] == [
        (1, 101, "SH-1-500", 12.5, 5),
        (2, 102, "CO-2-1000", 9.0, 3),
    ]
    assert [item.good_id for item in order.not_carried] == [103, 104]
    assert order.total == pytest.approx(5 * 12.5 + 3 * 9)


def test_changed_quantities_apply_by_line_number_and_zero_drops_a_line(order: PurchaseOrder) -> None:
    changed = order.with_quantities({"1": 8, 2: "0"})
    assert [(x.line, x.quantity) for x in changed.lines] == [(1, 8)]
    assert order.with_quantities({}) == order
    assert order.with_quantities(None) == order


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"9": 1}, "quantities['9']", "order PO-1 has no line 9"),
        ({"1": -1}, "quantities['1']", "must be at least 0"),
        ({"1": 1.5}, "quantities['1']", "whole number"),
        ({"first": 1}, "quantities key 'first'", "whole number"),
        ([1, 2], "quantities", "must map line numbers to quantities"),
    ],
)
def test_bad_changes_name_the_line(order: PurchaseOrder, changes: Any, field: str, problem: str) -> None:
    with pytest.raises(InvalidRequestError) as error:
        order.with_quantities(changes)
    assert error.value.field == field
    assert problem in error.value.problem


def test_delivery_books_what_arrived_at_the_order_prices_and_reports_the_rest(order: PurchaseOrder) -> None:
    delivery = order.receive({"1": 4}, [{"code": "FREE", "amount": 1}], "DN-1")
    assert [(x.line, x.ordered, x.received) for x in delivery.short] == [(1, 5, 4)]
    assert delivery.over == []
    assert delivery.extra_items == [{"code": "FREE", "amount": 1}]
    assert "line 1 Product 101: ordered 5, arrived 4" in delivery.report()
    assert "not ordered: {'code': 'FREE', 'amount': 1}" in delivery.report()
    receipts = delivery.receipts()
    # One receipt per (location, storage), sorted; what arrived, at the order's price.
    assert [(r["location_id"], r["storage_id"]) for r in receipts] == [(1, 31), (2, 32)]
    assert receipts[0]["transactions"] == [
        {
            "good_id": 101,
            "amount": 4,
            "cost_per_unit": 12.5,
            "operation_unit_type": 1,
            "comment": "PO-1 line 1, supplier code SH-1-500, ordered 5",
        }
    ]
    assert receipts[1]["transactions"][0]["amount"] == 3


def test_a_line_that_did_not_come_is_not_booked(order: PurchaseOrder) -> None:
    receipts = order.receive({"1": 0, "2": 0}).receipts()
    assert receipts == []
    with pytest.raises(InvalidRequestError) as error:
        order.receive({"3": 1})
    assert error.value.field == "received['3']"


def test_order_files_list_every_line(order: PurchaseOrder) -> None:
    rows = list(csv.DictReader(io.StringIO(order.to_csv())))
    assert [
        (r["line"], r["supplier_code"], r["quantity"], r["unit_price"], r["line_total"]) for r in rows
    ] == [
        ("1", "SH-1-500", "5", "12.50", "62.50"),
        ("2", "CO-2-1000", "3", "9.00", "27.00"),
    ]
    text = order.to_markdown()
    assert "Purchase order **PO-1** to Altacolor: 2 lines, total 89.50" in text
    assert "| 1 | 1 | Retail shelf | Product 101 (SH-1-500) |" in text
    assert "Not carried by Altacolor" in text
    assert "Product 104 (article NOPE" in text


def test_an_order_round_trips_through_json(order: PurchaseOrder) -> None:
    assert PurchaseOrder.model_validate(order.model_dump(mode="json")) == order
