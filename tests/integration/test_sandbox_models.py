"""The sandbox speaks the documented API: its responses parse with the provider's models, and
the bodies the request models build are accepted by it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from airflow_provider_altegio.models.altacolor import (
    AltacolorProductResponse,
    AltacolorSearchResult,
    encode_search,
)
from airflow_provider_altegio.models.altegio import (
    AuthResult,
    Category,
    CategoryNode,
    DocumentType,
    Product,
    ProductTreeElement,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
)

pytestmark = pytest.mark.integration

LOCATION = 1001


def _data(response: httpx.Response) -> Any:
    assert response.is_success, response.text
    return response.json()["data"]


def test_altegio_responses_parse(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    products = [Product.model_validate(p) for p in _data(api.get(f"/goods/{LOCATION}", params={"count": 50}))]
    assert all(p.good_id and p.last_change_date and p.actual_amounts for p in products)
    assert products[0].amount_in(3101) == products[0].actual_amounts[0].amount
    assert isinstance(products[0].last_change_date, datetime)
    single = _data(api.get(f"/goods/{LOCATION}/{products[0].good_id}"))
    assert Product.model_validate(single) == products[0]
    assert all(
        Storage.model_validate(s).for_services is not None for s in _data(api.get(f"/storages/{LOCATION}"))
    )
    roots = [Category.model_validate(c) for c in _data(api.get(f"/goods_categories/{LOCATION}"))]
    assert roots[0].title == "Hair care"
    search = _data(api.get(f"/goods/search/{LOCATION}", params={"term": "gel"}))
    tree = [ProductTreeElement.model_validate(e) for e in search]
    assert tree[0].title == "Gel systems"
    assert tree[0].is_category is True
    assert all(e.is_item for e in tree[1:])
    node = CategoryNode.model_validate(_data(api.get(f"/goods/category_node/{LOCATION}/101")))
    assert node.children_count == 4
    auth = api.post("/auth", json={"login": altegio_sandbox.login, "password": altegio_sandbox.password})
    assert AuthResult.model_validate(_data(auth)).user_token == altegio_sandbox.user_token
    for item in _data(api.get(f"/storages/transactions/{LOCATION}")):
        transaction = Transaction.model_validate(item)
        assert transaction.good_id
        assert transaction.storage_id
        assert transaction.document_id


@pytest.mark.parametrize("kind", ["receipt", "sale", "usage", "write_off"])
def test_request_models_are_accepted_and_results_parse(
    altegio_sandbox_client: httpx.Client, kind: str
) -> None:
    api = altegio_sandbox_client
    request = StorageOperationRequest.model_validate(
        {
            "type_id": kind,
            "storage_id": 3101,
            "create_date": datetime(2026, 11, 20, 15, 30, tzinfo=timezone(timedelta(hours=-5))),
            "comment": "models round trip",
            "master_id": 990101,
            "transactions": [{"good_id": 10000003, "amount": 2, "cost_per_unit": 4}],
        }
    )
    result = StorageOperationResult.model_validate(
        _data(api.post(f"/storage_operations/operation/{LOCATION}", json=request.to_api()))
    )
    assert result.document.type_id == DocumentType.parse(kind)
    signed = [t.amount for t in result.transactions]
    assert signed == {"receipt": [2]}.get(kind, [-2])
    document = StorageDocument.model_validate(
        _data(api.get(f"/storage_operations/documents/{LOCATION}/{result.document.id}"))
    )
    assert document.comment == "models round trip"
    listed = _data(api.get(f"/storage_operations/documents/goods_transactions/{result.document.id}"))
    assert [Transaction.model_validate(t).id for t in listed] == [t.id for t in result.transactions]


def test_altacolor_responses_parse(altegio_sandbox: Any) -> None:
    form = {
        **altegio_sandbox.altacolor_params(),
        **encode_search(
            {"field": "product_id", "condition": ">", "value": 0}, limit=10, sort_by="product_id"
        ),
    }
    found = AltacolorSearchResult.model_validate(
        httpx.post(f"{altegio_sandbox.altacolor_url}/api/json/manage_products/find", data=form).json()
    )
    assert found.response_status is not None
    assert not found.response_status.is_error
    assert len(found.products) == 10
    assert found.total > 10
    assert all(p.product_code and p.date_modified for p in found.products)
    ids = ",".join(str(p.product_id) for p in found.products[:3])
    got = AltacolorProductResponse.model_validate(
        httpx.get(
            f"{altegio_sandbox.altacolor_url}/api/json/manage_products/get",
            params={**altegio_sandbox.altacolor_params(), "ids": ids},
        ).json()
    )
    assert [p.product_id for p in got.items] == [p.product_id for p in found.products[:3]]
    assert all(p.skus and p.skus[0].price and p.skus[0].dn_sku_id for p in got.items)  # details: prices
