"""A document filled in parts (``POST /storage_operations/documents`` then
``.../goods_transactions``) against the sandbox: lines added exactly once across re-runs and a
lost answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altegio import TransactionRequest
from airflow_provider_altegio.workflows.booking import Booker

pytestmark = pytest.mark.integration

STORAGE = 3101  # the sandbox's first retail shelf


@pytest.fixture
def hook(altegio_sandbox: Any) -> Any:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as altegio:
        yield altegio


def _products(hook: Any, location: int, count: int) -> list[Any]:
    return [p for p in hook.iter_products(location) if p.amount_in(STORAGE) >= 3][:count]


def test_a_delivery_in_two_loads_lands_once_however_often_it_is_booked(
    altegio_sandbox: Any, hook: Any
) -> None:
    location = altegio_sandbox.location_id
    first, second = _products(hook, location, 2)
    document = hook.create_storage_document(
        {
            "type_id": "receipt",
            "storage_id": STORAGE,
            "create_date": "2026-11-20 14:00",
            "comment": "Load 1 of 2",
        },
        location,
    )
    assert document.id is not None
    assert document.storage_id == STORAGE
    booker = Booker(hook, location, since=datetime.now(tz=timezone.utc) - timedelta(days=1))
    lines = [
        TransactionRequest.from_input({"good_id": first.good_id, "amount": 2, "cost_per_unit": 4}),
        TransactionRequest.from_input({"good_id": second.good_id, "amount": 1, "cost_per_unit": 6}),
    ]
    ids = booker.add_lines_once(document.id, lines, "delivery-42")
    assert booker.add_lines_once(document.id, lines, "delivery-42") == ids  # a re-run adds nothing
    stored = hook.list_document_transactions(document.id)
    assert sorted(tx.id for tx in stored) == sorted(ids)
    assert hook.get_product(first.good_id, location).amount_in(STORAGE) == pytest.approx(
        first.amount_in(STORAGE) + 2
    )


def test_a_lost_answer_to_a_line_is_found_not_added_twice(altegio_sandbox: Any, hook: Any) -> None:
    location = altegio_sandbox.location_id
    (product,) = _products(hook, location, 1)
    document = hook.create_storage_document(
        {"type_id": 7, "storage_id": STORAGE, "create_date": datetime.now(tz=timezone.utc)}, location
    )
    altegio_sandbox.faults.add(
        "POST", f"/api/v1/storage_operations/goods_transactions/{location}", drop="after", count=1
    )
    booker = Booker(hook, location, since=datetime.now(tz=timezone.utc) - timedelta(days=1))
    line = TransactionRequest.from_input({"good_id": product.good_id, "amount": 1})
    (added,) = booker.add_lines_once(document.id, [line], "write-off-7")
    (stored,) = hook.list_document_transactions(document.id)
    assert stored.id == added
    assert stored.amount == pytest.approx(-1)  # a write-off (type 7 on this endpoint) takes stock out
    assert hook.get_product(product.good_id, location).amount_in(STORAGE) == pytest.approx(
        product.amount_in(STORAGE) - 1
    )


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"type_id": "usage", "storage_id": STORAGE, "create_date": "2026-11-20"}, "document.type_id"),
        ({"type_id": "receipt", "create_date": "2026-11-20"}, "document.storage_id"),
        ({"type_id": "receipt", "storage_id": STORAGE}, "document.create_date"),
    ],
)
def test_a_bad_document_is_refused_before_any_request(
    altegio_sandbox: Any, hook: Any, document: dict[str, Any], field: str
) -> None:
    altegio_sandbox.clear_requests()
    with pytest.raises(InvalidRequestError) as info:
        hook.create_storage_document(document, altegio_sandbox.location_id)
    assert info.value.field == field
    assert altegio_sandbox.requests("POST") == []
