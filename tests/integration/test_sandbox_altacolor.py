"""The sandbox's Altacolor API: conditions, AND, sorting, paging, get, and every status code."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

FIND = "/api/json/manage_products/find"
GET = "/api/json/manage_products/get"
EVERYTHING = {"field": 4, "condition": 4, "string": 0}  # product id > 0, as real clients list a catalogue


@pytest.fixture
def store(altegio_sandbox: Any) -> Iterator[httpx.Client]:
    """A client of the reset sandbox's Altacolor API, credentials in the query string."""
    with httpx.Client(
        base_url=altegio_sandbox.altacolor_url, params=altegio_sandbox.altacolor_params()
    ) as client:
        yield client


def _find(store: httpx.Client, **form: Any) -> dict[str, Any]:
    response = store.post(FIND, data=form)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _catalogue(store: httpx.Client) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    while True:
        page = _find(store, **EVERYTHING, offset=len(products), sortby=4)
        products.extend(page["products"])
        if len(products) >= page["total"]:
            return products


def _status(body: dict[str, Any]) -> tuple[int, str]:
    return body["response_status"]["code"], body["response_status"]["severity"]


def test_catalogue_pages_by_offset_until_total(store: httpx.Client) -> None:
    first = _find(store, **EVERYTHING, limit=100)
    assert _status(first) == (10001, "SUCCESS")
    assert len(first["products"]) == 100
    everything = _catalogue(store)
    assert len(everything) == first["total"]
    assert len({p["product_id"] for p in everything}) == first["total"]
    counted = _find(store, **EVERYTHING, limit=0)
    assert counted["products"] == []
    assert counted["total"] == first["total"]


def test_supplier_codes_match_some_altegio_articles(
    store: httpx.Client, altegio_sandbox_client: httpx.Client
) -> None:
    codes = {p["product_code"] for p in _catalogue(store)}
    goods = altegio_sandbox_client.get("/goods/1001", params={"count": 300}).json()["data"]
    articles = {g["article"] for g in goods}
    assert 0.4 * len(articles) < len(codes & articles) < len(articles)
    assert codes - articles  # the supplier also sells what the salon does not stock
    article = sorted(codes & articles)[0]
    found = _find(store, field=1, condition=1, string=article.lower())
    assert [p["product_code"] for p in found["products"]] == [article]
    assert "skus" not in found["products"][0]  # find answers Product: no variants, no prices


def test_get_answers_product_details_with_variants(store: httpx.Client) -> None:
    """Prices come from get's ProductDetailed: SKUs with codes, sizes, dn_sku_id and prices;
    every fifth product has a second size."""
    ids = [p["product_id"] for p in _catalogue(store)][:10]
    response = store.get("/api/json/manage_products/get", params={"ids": ",".join(map(str, ids))}).json()
    details = {p["product_id"]: p for p in response["products"]}
    assert set(details) == set(ids)
    multi = [p for p in details.values() if len(p["skus"]) > 1]
    assert multi
    for product in details.values():
        assert product["brand"]
        assert product["skus"][0]["sku"] == product["product_code"]
        assert all(s["price"] > 0 and s["dn_sku_id"] for s in product["skus"])
    sizes = {s["size"] for s in multi[0]["skus"]}
    assert sizes == {"STD", "XL"}


_OPS: dict[int, Callable[[Any, Any], bool]] = {
    1: operator.eq,
    2: operator.ne,
    3: operator.lt,
    4: operator.gt,
    5: operator.le,
    6: operator.ge,
}


@pytest.mark.parametrize("condition", sorted(_OPS))
@pytest.mark.parametrize(
    ("field", "key"), [(1, "product_code"), (2, "product_name"), (3, "supplier"), (4, "product_id")]
)
def test_every_field_and_condition(store: httpx.Client, field: int, key: str, condition: int) -> None:
    everything = _catalogue(store)
    pivot = sorted(everything, key=lambda p: p["product_id"])[len(everything) // 2][key]

    def norm(value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    expected = sorted(p["product_id"] for p in everything if _OPS[condition](norm(p[key]), norm(pivot)))
    found = _find(store, field=field, condition=condition, string=pivot, sortby=4, limit=100)
    assert found["total"] == len(expected)
    assert [p["product_id"] for p in found["products"]] == expected[:100]


def test_date_modified_conditions_and_changes(altegio_sandbox: Any, store: httpx.Client) -> None:
    everything = _catalogue(store)
    dates = sorted(p["date_modified"] for p in everything)
    low, high = dates[10], dates[-10]
    between = _find(store, field=5, condition=7, date1=low, date2=high, limit=0)
    assert between["total"] == sum(low <= d <= high for d in dates)
    assert _find(store, field=5, condition=4, date1=dates[-1], limit=0)["total"] == 0
    product_id = everything[3]["product_id"]
    altegio_sandbox.change_supplier_product(product_id, price=99.5)
    details = store.get("/api/json/manage_products/get", params={"id": product_id}).json()["product"]
    assert details["skus"][0]["price"] == 99.5
    newer = _find(store, field=5, condition=4, date1=dates[-1])
    assert [p["product_id"] for p in newer["products"]] == [product_id]


def test_conditions_are_joined_with_and(store: httpx.Client) -> None:
    everything = _catalogue(store)
    supplier = everything[0]["supplier"]
    pivot = everything[len(everything) // 2]["product_id"]
    form = {
        "conditions[1][field]": 3,
        "conditions[1][condition]": 1,
        "conditions[1][string]": supplier,
        "conditions[2][field]": 4,
        "conditions[2][condition]": 6,
        "conditions[2][string]": pivot,
    }
    found = _find(store, **form, sortby=4)
    expected = [p["product_id"] for p in everything if p["supplier"] == supplier and p["product_id"] >= pivot]
    assert [p["product_id"] for p in found["products"]] == expected
    assert 0 < found["total"] < len(everything)


@pytest.mark.parametrize(
    ("sortby", "key"),
    [
        (1, "product_code"),
        (2, "product_name"),
        (3, "supplier"),
        (4, "product_id"),
        (5, "date_modified"),
        (6, "sort_position"),
    ],
)
def test_sorting(store: httpx.Client, sortby: int, key: str) -> None:
    products = _find(store, **EVERYTHING, sortby=sortby)["products"]
    values = [(p[key], p["product_id"]) for p in products]
    assert values == sorted(values)


def test_default_sort_is_sort_position(store: httpx.Client) -> None:
    assert _find(store, **EVERYTHING) == _find(store, **EVERYTHING, sortby=6)


@pytest.mark.parametrize(
    ("form", "code", "description"),
    [
        ({}, 50002, "No conditions specified"),
        ({"condition": 1, "string": "x"}, 50003, "Condition 1 'field' is missing"),
        (
            {"conditions[1][field]": 1, "conditions[1][string]": "x"},
            50003,
            "Condition 1 'condition' is missing",
        ),
        ({"field": 5, "condition": 4}, 50003, "date1 is invalid"),
        ({"field": 5, "condition": 4, "date1": "01/02/2018"}, 50003, "date1 is invalid"),
        # Only the documented form: UTC, YYYY-MM-DDTHH:MM:SS, no offset, no space, no fraction.
        ({"field": 5, "condition": 4, "date1": "2018-02-01 00:00:00"}, 50003, "date1 is invalid"),
        ({"field": 5, "condition": 4, "date1": "2018-02-01T00:00:00Z"}, 50003, "date1 is invalid"),
        ({"field": 5, "condition": 4, "date1": "2018-02-01T00:00:00-0500"}, 50003, "date1 is invalid"),
        ({"field": 5, "condition": 4, "date1": "2018-02-01"}, 50003, "date1 is invalid"),
        ({"field": 5, "condition": 7, "date1": "2018-02-01T00:00:00"}, 50003, "date2 is invalid"),
        ({**EVERYTHING, "limit": 101}, 50004, "Invalid limit or offset"),
        ({**EVERYTHING, "limit": -1}, 50004, "Invalid limit or offset"),
        ({**EVERYTHING, "offset": -5}, 50004, "Invalid limit or offset"),
        ({**EVERYTHING, "offset": "x"}, 50004, "Invalid limit or offset"),
        ({"field": 9, "condition": 1, "string": "x"}, 50005, "Invalid request parameters"),
        ({"field": 1, "condition": 8, "string": "x"}, 50005, "Invalid request parameters"),
        ({"field": 1, "condition": 7, "string": "x"}, 50005, "Invalid request parameters"),
        ({"field": 4, "condition": 1, "string": "abc"}, 50005, "Invalid request parameters"),
        ({"field": 2, "condition": 1}, 50005, "Invalid request parameters"),
        ({**EVERYTHING, "sortby": 7}, 50005, "Invalid request parameters"),
    ],
)
def test_error_codes(store: httpx.Client, form: dict[str, Any], code: int, description: str) -> None:
    body = _find(store, **form)
    assert body == {"response_status": {"code": code, "severity": "ERROR", "description": description}}


def test_authentication_and_enablement(altegio_sandbox: Any, store: httpx.Client) -> None:
    url = f"{altegio_sandbox.altacolor_url}{FIND}"
    wrong = httpx.post(
        url, data={"username": altegio_sandbox.altacolor_username, "password": "x", **EVERYTHING}
    )
    assert _status(wrong.json()) == (30001, "ERROR")
    assert wrong.json()["response_status"]["description"] == "Authentication failed"
    in_query = httpx.post(url, params=altegio_sandbox.altacolor_params(), data=EVERYTHING)
    assert _status(in_query.json()) == (10001, "SUCCESS")
    altegio_sandbox.configure(altacolor_enabled=False)
    disabled = _find(store, **EVERYTHING)
    assert disabled["response_status"] == {
        "code": 31000,
        "severity": "ERROR",
        "description": "API not enabled on your site",
    }


def test_get_by_id_and_ids(altegio_sandbox: Any, store: httpx.Client) -> None:
    ids = [p["product_id"] for p in _catalogue(store)]

    def get(**params: Any) -> dict[str, Any]:
        body: dict[str, Any] = store.get(GET, params=params).json()
        return body

    single = get(id=ids[0])
    assert _status(single) == (10001, "SUCCESS")
    assert single["product"]["product_id"] == ids[0]
    assert "description" in single["product"]
    several = get(ids=",".join(map(str, ids[:100])))
    assert [p["product_id"] for p in several["products"]] == ids[:100]
    assert get(id=1) == {
        "response_status": {"code": 40004, "severity": "WARNING", "description": "Product ID Not Found"}
    }
    partly = get(ids=f"{ids[0]},1")
    assert _status(partly) == (40004, "WARNING")
    assert [p["product_id"] for p in partly["products"]] == ids[:1]
    assert _status(get(ids=",".join(map(str, ids[:101])))) == (50005, "ERROR")
    assert _status(get()) == (50005, "ERROR")
    anonymous = httpx.get(f"{altegio_sandbox.altacolor_url}{GET}", params={"id": ids[0]}).json()
    assert _status(anonymous) == (30001, "ERROR")
