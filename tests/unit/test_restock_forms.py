"""The restock's forms and what is on order: the fields a person fills, the answers they can and
cannot use (each problem named), and the order book across runs (back-orders, retries)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed
from airflow_provider_altegio.workflows.restock import OrderBook, OrderStore, PurchaseOrder

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def shortage(
    good_id: int, article: str, on_hand: float, desired: float, location_id: int = 1
) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "storage_id": 31,
        "storage_title": "Retail shelf",
        "good_id": good_id,
        "title": f"Product {good_id}",
        "article": article,
        "unit": "pcs",
        "on_hand": on_hand,
        "critical_amount": 2.0,
        "desired_amount": desired,
        "quantity": 0,  # recomputed when drafting
    }


CATALOGUE = [
    AltacolorProductDetailed.model_validate(
        {"product_id": 7, "product_code": "SH-1", "skus": [{"sku": "SH-1-500", "price": "12.5"}]}
    ),
    AltacolorProductDetailed.model_validate(
        {"product_id": 8, "product_code": "CO-2", "skus": [{"sku": "CO-2-1000", "price": 9}]}
    ),
]
SHORTAGES = [
    shortage(101, "SH-1-500", 1.0, 6.0),
    shortage(102, "CO-2-1000", 0.4, 3.0),
    shortage(103, "NOPE", 0, 2),
]


def draft(order_id: str = "PO-1", book: OrderBook | None = None) -> PurchaseOrder:
    on_order = book.on_order(NOW, exclude=order_id) if book else None
    back_orders = book.back_orders(NOW, exclude=order_id) if book else ()
    return PurchaseOrder.draft(order_id, SHORTAGES, CATALOGUE, on_order=on_order, back_orders=back_orders)


# --- the approval -----------------------------------------------------------------------------


def test_the_approval_is_one_required_number_field_per_line_labelled_with_its_product() -> None:
    form = draft().approval_form()
    assert list(form.fields) == ["line_1", "line_2"]
    line = form.fields["line_1"]
    assert (line.default, line.title) == (5, "1. Product 101")
    assert line.schema == {"type": "integer", "minimum": 0}  # required: the type admits no null
    assert "on hand 1, critical 2, desired 6 pcs" in line.description
    assert "SH-1-500 at 12.50 per pcs" in line.description
    assert (
        "**Not carried by Altacolor**, to order elsewhere (1): Product 103 (article NOPE): 2 pcs."
        in form.body
    )
    assert "total 89.50 as drafted" in form.body  # 5 x 12.50 + 3 x 9


def test_an_approval_as_the_form_sends_it_changes_quantities_and_drops_zeros() -> None:
    order, problems = draft().read_approval({"line_1": 8, "line_2": 0})
    assert problems == []
    assert [(line.line, line.quantity) for line in order.lines] == [(1, 8)]
    unchanged, problems = draft().read_approval({})  # an API answer giving nothing keeps the draft
    assert (unchanged, problems) == (draft(), [])


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"line_1": 10.5}, "line 1 (Product 101): must be a whole number, got 10.5"),
        ({"line_1": -1}, "line 1 (Product 101): must be at least 0, got -1"),
        ({"line_1": None}, "line 1 (Product 101): give a whole number of 0 or more"),
        ({"line_9": 1}, "order PO-1 has no line 9"),
        ({"colour": "red"}, "colour: not a field of this form"),
        (
            {"line_1": 0, "line_2": 0},
            "Every quantity is 0, so nothing would be ordered: reject the order instead.",
        ),
        ({"quantities": {"9": 1}}, "order PO-1 has no line 9"),  # the answer's shape before 0.3
        ({"quantities": [1]}, "quantities: must map line numbers to quantities, got [1]"),
    ],
)
def test_an_approval_that_cannot_be_used_names_every_problem(answer: dict[str, Any], problem: str) -> None:
    assert draft().read_approval(answer)[1] == [problem]


def test_the_shape_before_0_3_still_changes_quantities() -> None:
    order, problems = draft().read_approval({"quantities": {"2": 4}})
    assert problems == []
    assert [(line.line, line.quantity) for line in order.lines] == [(1, 5), (2, 4)]


# --- the delivery -----------------------------------------------------------------------------


def test_the_delivery_form_requires_only_the_lines() -> None:
    form = draft().delivery_form()
    assert list(form.fields) == ["line_1", "line_2", "extra_items", "delivery_note"]
    assert form.fields["line_1"].default == 5
    assert form.fields["line_1"].schema["type"] == "integer"
    for optional in ("extra_items", "delivery_note"):
        assert "null" in form.fields[optional].schema["type"], optional
        assert form.fields[optional].default is None
    items = form.fields["extra_items"].schema
    assert items["items"]["type"] == "object"  # objects, not lines of text
    assert "**Cancelled**" in form.body


def test_a_delivery_as_the_form_sends_it() -> None:
    answer = {
        "line_1": 3,
        "line_2": 2,
        "extra_items": [{"code": " FREE-1 ", "amount": "2", "note": "sample"}],
        "delivery_note": None,
    }
    delivery, problems = draft().read_delivery(["Delivered"], answer)
    assert problems == []
    assert delivery is not None
    assert [(line.line, line.received) for line in delivery.lines] == [(1, 3), (2, 2)]
    assert delivery.extra_items == [{"code": "FREE-1", "amount": 2, "note": "sample"}]
    assert delivery.note == ""
    assert draft().read_delivery(["Cancelled"], {"line_1": 5, "line_2": 2}) == (None, [])


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"line_1": 2.5}, "line 1 (Product 101): must be a whole number, got 2.5"),
        ({"line_7": 1}, "order PO-1 has no line 7"),
        (
            {"extra_items": ["FREE-1"]},
            "Delivered but not ordered, item 1: give its code and amount, "
            'e.g. {"code": "ALT-123", "amount": 2}',
        ),
        (
            {"extra_items": [{"code": "FREE-1"}]},
            "Delivered but not ordered, item 1 (FREE-1): amount is required",
        ),
        (
            {"extra_items": {"code": "FREE-1"}},
            'Delivered but not ordered: must be a list like [{"code": "ALT-123", "amount": 2}]',
        ),
    ],
)
def test_a_delivery_that_cannot_be_used_names_every_problem(answer: dict[str, Any], problem: str) -> None:
    assert draft().read_delivery(["Delivered"], answer) == (None, [problem])


# --- what is on order -------------------------------------------------------------------------


def delivered_short(book: OrderBook) -> PurchaseOrder:
    """PO-1 sent with 5 of product 101 and 2 of 102; 3 of 101 and both of 102 arrived."""
    order = draft("PO-1", book)
    book.reserve(order, NOW - timedelta(days=3))
    book.approve(order, NOW - timedelta(days=2))
    delivery, _ = order.read_delivery(["Delivered"], {"line_1": 3})
    assert delivery is not None
    book.record_delivery(delivery, NOW - timedelta(days=1))
    return order


def test_what_a_delivery_left_short_stays_on_order_and_is_taken_off_the_next_draft() -> None:
    book = OrderBook(OrderStore())
    delivered_short(book)
    assert book.on_order(NOW) == {(1, 101): 2}
    next_order = draft("PO-2", book)
    # 1 on hand + 2 on order, 6 desired: 3 to order (5 without the back-order); 102 as before.
    assert [(line.good_id, line.quantity, line.on_order) for line in next_order.lines] == [
        (101, 3, 2),
        (102, 3, 0),
    ]
    (back,) = next_order.back_orders
    assert (back.key, back.outstanding, back.cost_per_unit) == ("back_order_PO-1_1", 2, 12.5)
    assert "PO-1 line 1: Product 101 (2 pcs to come)" in next_order.approval_form().body
    assert next_order.delivery_form().fields["back_order_PO-1_1"].default == 0


def test_a_shortage_that_what_is_on_order_covers_is_not_ordered_but_listed() -> None:
    book = OrderBook(OrderStore())
    book.approve(draft("PO-1").with_quantities({"1": 5}), NOW)  # sent: 5 of 101, 3 of 102
    next_order = draft("PO-2", book)
    assert next_order.lines == []
    assert [item.good_id for item in next_order.covered] == [101, 102]
    assert next_order.back_orders == []  # sent, not yet delivered: not a back-order


def test_a_back_order_arriving_later_is_booked_against_its_order_and_then_forgotten() -> None:
    book = OrderBook(OrderStore())
    delivered_short(book)
    later = draft("PO-2", book)
    book.approve(later, NOW)
    delivery, problems = later.read_delivery(["Delivered"], {"back_order_PO-1_1": 2})
    assert problems == []
    assert delivery is not None
    receipts = delivery.receipts()
    back = [t for r in receipts for t in r["transactions"] if "(back-order)" in t["comment"]]
    assert back == [
        {
            "good_id": 101,
            "amount": 2,
            "cost_per_unit": 12.5,
            "operation_unit_type": 1,
            "comment": "PO-1 line 1 (back-order), supplier code SH-1-500",
        }
    ]
    book.record_delivery(delivery, NOW)
    book.record_delivery(delivery, NOW)  # a retried task: the same entries, not twice as much
    assert book.on_order(NOW) == {}
    assert book.store.keys(book.prefix) == []  # both orders arrived in full: nothing kept


def test_a_back_order_cannot_arrive_twice_or_be_both_received_and_cancelled() -> None:
    book = OrderBook(OrderStore())
    delivered_short(book)
    later = draft("PO-2", book)
    # Meanwhile another run booked the 2: only what is still on order now may arrive.
    assert later.read_delivery(["Delivered"], {"back_order_PO-1_1": 2}, outstanding={})[1] == [
        "PO-1 line 1: Product 101: 2 arrived, but only 0 are still on order (put the rest under "
        "Delivered but not ordered)"
    ]
    assert later.read_delivery(
        ["Delivered"], {"back_order_PO-1_1": 1, "cancelled_back_orders": ["back_order_PO-1_1"]}
    )[1] == ["PO-1 line 1: Product 101: both arrived and cancelled"]
    assert later.read_delivery(["Cancelled"], {"back_order_PO-1_1": 1})[1] == [
        "Cancelled means nothing of this order came, but back-orders are given: choose Delivered "
        "and set this order's lines to 0 instead."
    ]


def test_a_cancelled_back_order_is_no_longer_on_order() -> None:
    book = OrderBook(OrderStore())
    delivered_short(book)
    later = draft("PO-2", book)
    delivery, problems = later.read_delivery(["Delivered"], {"cancelled_back_orders": ["back_order_PO-1_1"]})
    assert problems == []
    assert delivery is not None
    book.record_delivery(delivery, NOW)
    assert (1, 101) not in book.on_order(NOW)
    assert "PO-1" not in {b.order_id for b in book.back_orders(NOW)}


def test_drafts_and_sent_orders_count_until_their_forms_time_out() -> None:
    book = OrderBook(OrderStore(), approval_wait=timedelta(days=3), delivery_wait=timedelta(days=21))
    book.reserve(draft("PO-1"), NOW)
    assert book.on_order(NOW + timedelta(days=2)) == {(1, 101): 5, (1, 102): 3}
    assert book.on_order(NOW + timedelta(days=2), exclude="PO-1") == {}  # a retried draft
    assert book.on_order(NOW + timedelta(days=4)) == {}  # its run never finished
    book.approve(draft("PO-1"), NOW)
    assert book.on_order(NOW + timedelta(days=20)) == {(1, 101): 5, (1, 102): 3}
    book.drop("PO-1")  # rejected, or cancelled
    assert book.on_order(NOW) == {}


# --- the run's cause --------------------------------------------------------------------------


def test_the_product_that_started_the_run_is_named_when_the_order_lacks_it() -> None:
    order = draft().note_trigger(1, [103])
    assert order.notices == [
        "This run started because Product 103 (location 1) ran low, but Altacolor does not carry "
        "it, so it is not in this order: order it elsewhere."
    ]
    assert order.approval_form().body.startswith(f"> **{order.notices[0]}**")
    assert draft().note_trigger(1, [101]).notices == []  # it is on line 1
    assert draft().note_trigger(2, [103]).notices == []  # another location's product of that id
