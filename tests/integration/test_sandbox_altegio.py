"""The sandbox's Altegio catalogue endpoints over real HTTP: auth, paging, search, categories.

Uses the plugin's session sandbox (300 products per location, reset before each test).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

LOCATION = 1001
FRANCHISE = 1003
AUTH_NEEDED = {"success": False, "data": None, "meta": {"message": "Authentication needed."}}


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def _errors(response: httpx.Response, status: int = 422) -> dict[str, list[str]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    errors: dict[str, list[str]] = body["meta"].get("errors", {})
    return errors


# -- authentication and access ----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-partner, User sandbox-user-token",
        "Bearer sandbox-partner-token",
        "Bearer sandbox-partner-token, User wrong-user",
    ],
)
def test_bad_tokens_get_the_documented_401(altegio_sandbox: Any, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{altegio_sandbox.altegio_url}/goods/{LOCATION}", headers=headers)
    assert response.status_code == 401
    assert response.json() == AUTH_NEEDED


def test_auth_exchanges_login_for_the_user_token(altegio_sandbox: Any) -> None:
    headers = {"Authorization": f"Bearer {altegio_sandbox.partner_token}"}
    url = f"{altegio_sandbox.altegio_url}/auth"
    ok = httpx.post(
        url, headers=headers, json={"login": altegio_sandbox.login, "password": altegio_sandbox.password}
    )
    assert _data(ok, 201)["user_token"] == altegio_sandbox.user_token
    wrong = httpx.post(url, headers=headers, json={"login": altegio_sandbox.login, "password": "nope"})
    assert wrong.status_code == 401
    assert _errors(httpx.post(url, headers=headers, json={}), 422).keys() == {"login", "password"}


def test_location_access(altegio_sandbox_client: httpx.Client) -> None:
    forbidden = altegio_sandbox_client.get(f"/goods/{FRANCHISE}")
    assert forbidden.status_code == 403
    assert forbidden.json()["meta"]["message"]
    assert altegio_sandbox_client.get("/goods/999999").status_code == 404
    companies = _data(altegio_sandbox_client.get("/companies", params={"my": 1}))
    assert [c["id"] for c in companies] == [1001, 1002]
    assert FRANCHISE in [c["id"] for c in _data(altegio_sandbox_client.get("/companies"))]


def test_unknown_ids_routes_and_bodies_keep_the_error_shape(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    assert _errors(api.get(f"/goods/{LOCATION}/1"), 404) == {}
    assert _errors(api.get("/no/such/endpoint"), 404) == {}
    assert _errors(api.patch(f"/goods/{LOCATION}"), 405) == {}
    bad_json = api.post(
        f"/goods/{LOCATION}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert _errors(bad_json, 400) == {}
    assert "body" in _errors(api.post(f"/goods/{LOCATION}", json=[1, 2]))
    assert "count" in _errors(api.get(f"/goods/{LOCATION}", params={"count": 5000}))
    assert "page" in _errors(api.get(f"/goods/{LOCATION}", params={"page": "x"}))


# -- paging and filters ----------------------------------------------------------------------


def test_pages_are_disjoint_and_the_last_one_is_short(altegio_sandbox_client: httpx.Client) -> None:
    seen: list[int] = []
    sizes: list[int] = []
    page = 1
    while True:
        items = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"page": page, "count": 70}))
        sizes.append(len(items))
        seen.extend(item["good_id"] for item in items)
        if len(items) < 70:
            break
        page += 1
    assert sizes == [70, 70, 70, 70, 20]
    assert seen == sorted(set(seen))
    assert len(_data(altegio_sandbox_client.get(f"/goods/{LOCATION}"))) == 25  # documented default count


def test_product_shape(altegio_sandbox_client: httpx.Client) -> None:
    product = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}/10000001"))
    assert product["good_id"] == 10000001
    assert product["label"] == f"{product['title']} ({product['article']})"
    assert len(product["barcode"]) == 13
    assert {a["storage_id"] for a in product["actual_amounts"]} == {3101, 3102}
    assert product["unit_short_title"] == "pcs"
    assert product["last_change_date"].endswith("-0500")


@pytest.mark.parametrize("location", [LOCATION, 1002])
def test_seeded_titles_articles_and_barcodes_are_unique(
    altegio_sandbox_client: httpx.Client, location: int
) -> None:
    items = _data(altegio_sandbox_client.get(f"/goods/{location}", params={"count": 1000}))
    assert len(items) == 300
    for key in ("title", "article", "barcode"):
        values = [p[key] for p in items]
        assert len(set(values)) == len(values), key
    assert not any("#" in p["title"] for p in items)  # the default catalogue needs no line numbers


def test_some_stock_is_below_critical(altegio_sandbox_client: httpx.Client) -> None:
    items = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"count": 300}))
    low = [p for p in items if sum(a["amount"] for a in p["actual_amounts"]) <= p["critical_amount"]]
    assert 0 < len(low) < len(items) / 2


@pytest.mark.parametrize("field", ["title", "article", "barcode"])
def test_term_matches_title_article_or_barcode(altegio_sandbox_client: httpx.Client, field: str) -> None:
    target = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}/10000042"))
    term = target[field] if field != "title" else target["title"].split()[-3].upper()
    found = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"term": term, "count": 1000}))
    assert target["good_id"] in [p["good_id"] for p in found]
    lowered = term.lower()
    assert all(lowered in f"{p['title']} {p['article']} {p['barcode']}".lower() for p in found)


def test_category_filter_includes_subcategories(altegio_sandbox_client: httpx.Client) -> None:
    hair = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"category_id": 101, "count": 1000}))
    shampoo = _data(
        altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"category_id": 111, "count": 1000})
    )
    assert {p["category_id"] for p in hair} <= {111, 112, 113, 114}
    assert {p["category_id"] for p in shampoo} == {111}
    assert 0 < len(shampoo) < len(hair)
    assert altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"category_id": 777}).status_code == 404


@pytest.mark.parametrize(
    ("form", "suffix"),
    [
        ("%Y-%m-%dT%H:%M:%S%z", ""),  # 2026-01-01T12:00:00-0500
        ("%Y-%m-%dT%H:%M:%S.000", "-05:00"),  # 2026-09-21T23:00:00.000-05:00
        ("%Y-%m-%d %H:%M:%S", ""),  # the location's wall clock, no offset
    ],
)
def test_changed_after_sees_an_edit(altegio_sandbox_client: httpx.Client, form: str, suffix: str) -> None:
    api = altegio_sandbox_client
    before = _data(api.get(f"/goods/{LOCATION}/10000007"))
    edited = _data(api.put(f"/goods/{LOCATION}/10000007", json={"title": "Renamed shampoo", "cost": 19.5}))
    assert edited["title"] == "Renamed shampoo"
    assert edited["last_change_date"] > before["last_change_date"]
    changed = datetime.strptime(edited["last_change_date"], "%Y-%m-%dT%H:%M:%S%z")
    since = changed.astimezone(timezone(timedelta(hours=-5))) - timedelta(seconds=1)
    stamp = since.strftime(form) + suffix
    found = _data(api.get(f"/goods/{LOCATION}", params={"changed_after": stamp, "count": 1000}))
    assert [p["good_id"] for p in found] == [10000007]
    older = _data(api.get(f"/goods/{LOCATION}", params={"changed_before": stamp, "count": 1000}))
    assert 10000007 not in [p["good_id"] for p in older]
    assert len(older) == 299
    assert "changed_after" in _errors(api.get(f"/goods/{LOCATION}", params={"changed_after": "yesterday"}))


# -- product and category writes --------------------------------------------------------------


def test_create_update_delete_product(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    body = {
        "title": "Argan Oil 100 ml",
        "category_id": 114,
        "sale_unit_id": 1,
        "service_unit_id": 2,
        "article": "NEW-1",
        "barcode": "2000000000017",
        "unit_equals": 100,
        "cost": 25,
        "actual_cost": 11,
        "critical_amount": 2,
        "desired_amount": 6,
    }
    created = _data(api.post(f"/goods/{LOCATION}", json=body), 201)
    good_id = created["good_id"]
    assert created["is_chain"] is False
    assert all(a["amount"] == 0 for a in created["actual_amounts"])
    rules = [{"type": 1, "base_unit": "service"}, {"type": 3, "base_unit": "sale"}]
    updated = _data(
        api.put(f"/goods/{LOCATION}/{good_id}", json={"comment": "new", "correction_rules": rules})
    )
    assert updated["comment"] == "new"
    assert updated["correction_rules"] == rules
    assert [p["good_id"] for p in _data(api.get(f"/goods/{LOCATION}", params={"term": "new-1"}))] == [good_id]
    assert _data(api.delete(f"/goods/{LOCATION}/{good_id}")) is None
    assert api.get(f"/goods/{LOCATION}/{good_id}").status_code == 404


def test_product_validation(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    errors = _errors(
        api.post(f"/goods/{LOCATION}", json={"category_id": 99999, "cost": -1, "sale_unit_id": 42})
    )
    assert set(errors) == {"title", "category_id", "cost", "sale_unit_id", "service_unit_id"}
    assert "correction_rules.0.base_unit" in _errors(
        api.put(f"/goods/{LOCATION}/10000001", json={"correction_rules": [{"type": 1, "base_unit": "box"}]})
    )


def test_categories(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    roots = _data(api.get(f"/goods_categories/{LOCATION}/0"))
    assert [c["title"] for c in roots] == ["Hair care", "Colouring", "Manicure", "Consumables", "Skin care"]
    assert all(c["parent_category_id"] is None for c in roots)
    children = api.get(f"/company/{LOCATION}/goods_categories/101").json()
    assert children["meta"] == {"count": 4}
    by_ids = _data(api.get(f"/goods_categories/multiple/{LOCATION}", params=[("ids[]", 111), ("ids[]", 131)]))
    assert [c["title"] for c in by_ids] == ["Shampoo", "Nail polish"]
    created = _data(
        api.post(f"/goods_categories/{LOCATION}", json={"title": "Barbering", "parent_category_id": 101})
    )
    assert created["parent_category_id"] == 101
    renamed = _data(api.put(f"/goods_categories/{LOCATION}/{created['id']}", json={"title": "Barber"}))
    assert renamed["title"] == "Barber"
    assert "parent_category_id" in _errors(
        api.put(f"/goods_categories/{LOCATION}/101", json={"parent_category_id": created["id"]})
    )
    assert "category_id" in _errors(api.delete(f"/goods_categories/{LOCATION}/111"))  # still has products
    assert _data(api.delete(f"/goods_categories/{LOCATION}/{created['id']}")) is None
    assert api.get(f"/goods_categories/{LOCATION}/{created['id']}").status_code == 404
    assert "title" in _errors(api.post(f"/goods_categories/{LOCATION}", json={}))


def test_goods_search_without_term_lists_root_categories(altegio_sandbox_client: httpx.Client) -> None:
    found = altegio_sandbox_client.get(f"/goods/search/{LOCATION}", params={"count": 2}).json()
    assert found["meta"] == {"count": 5}  # count is ignored without a term
    assert all(e["is_category"] and e["parent_id"] == 0 for e in found["data"])


def test_goods_search_puts_categories_first(altegio_sandbox_client: httpx.Client) -> None:
    found = _data(
        altegio_sandbox_client.get(f"/goods/search/{LOCATION}", params={"term": "shampoo", "count": 6})
    )
    assert len(found) == 6
    assert found[0] == {
        "parent_id": 101,
        "item_id": 0,
        "category_id": 111,
        "title": "Shampoo",
        "is_chain": True,
        "is_category": True,
        "is_item": False,
    }
    assert all(e["is_item"] and "Shampoo" in e["title"] and e["category_id"] == 0 for e in found[1:])
    only_products = _data(
        altegio_sandbox_client.get(f"/goods/search/{LOCATION}", params={"term": "SOL-", "count": 3})
    )
    assert [e["is_item"] for e in only_products] == [True, True, True]


def test_category_node_pages_its_children(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    node = _data(api.get(f"/goods/category_node/{LOCATION}/101"))
    assert node["category_id"] == 101
    assert node["children_count"] == 4
    assert [c["title"] for c in node["children"]] == ["Shampoo", "Conditioner", "Styling", "Treatments"]
    leaf = _data(api.get(f"/goods/category_node/{LOCATION}/111", params={"count": 5, "page": 2}))
    assert len(leaf["children"]) == 5
    assert all(c["is_item"] and c["parent_id"] == 111 for c in leaf["children"])
    assert leaf["children_count"] > 5


def test_storages(altegio_sandbox_client: httpx.Client) -> None:
    storages = _data(altegio_sandbox_client.get(f"/storages/{LOCATION}"))
    # Written as the official example writes it: for_service (the field table says for_services).
    assert [(s["id"], s["for_sale"], s["for_service"]) for s in storages] == [(3101, 1, 0), (3102, 0, 1)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("changed_after=2030-01-01T00:00:00+0400", 0),  # "+" unencoded: arrives as a space
        ("changed_after=2030-01-01T00:00:00%2B04:00", 0),
        ("changed_before=2025-01-06T09:00:00Z", 1),  # only the first seeded product is that old
        ("changed_before=1736157600", 1),  # the same instant as unix seconds
        ("changed_after=''&changed_before=", 300),  # empty values, as the documented examples send
    ],
)
def test_date_forms_in_raw_query_strings(
    altegio_sandbox_client: httpx.Client, query: str, expected: int
) -> None:
    found = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}?count=1000&{query}"))
    assert len(found) == expected


def test_uri_form_connections_reach_the_sandbox(altegio_sandbox: Any, monkeypatch: Any) -> None:
    """The sandbox's connections written as Airflow URIs (``AIRFLOW_CONN_...='altegio://...'``)
    work as their JSON forms do: scheme, port and path survive."""
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_AS_URI", altegio_sandbox.altegio_conn_uri())
    monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_AS_URI", altegio_sandbox.altacolor_conn_uri())
    with AltegioHook("altegio_as_uri") as hook:
        assert hook.get_conn().config.base_url == altegio_sandbox.altegio_url
        assert hook.list_storages(altegio_sandbox.location_id)
    with AltacolorHook("altacolor_as_uri") as supplier:
        assert supplier.test_connection()[0]


def test_goods_and_transactions_are_shaped_as_live_clients_read_them(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    """Goods carry ``salon_id`` and their category's title as ``category`` (a live integration's
    types); transactions carry ``type`` as a title, the product and storage only nested, and the
    client under ``clients``, as the reference's example; the hook reads both."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    (good,) = _data(altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"count": 1}))
    assert good["salon_id"] == LOCATION
    assert isinstance(good["category"], str)
    assert good["category"]
    (tx,) = _data(altegio_sandbox_client.get(f"/storages/transactions/{LOCATION}", params={"count": 1}))
    assert isinstance(tx["type"], str)
    assert "good_id" not in tx
    assert "storage_id" not in tx
    assert tx["good"]["id"]
    assert tx["storage"]["id"]
    assert "clients" in tx
    assert "client" not in tx
    with AltegioHook() as hook:
        (read,) = list(itertools.islice(hook.iter_transactions(LOCATION, page_size=1), 1))
        assert (read.good_id, read.storage_id) == (tx["good"]["id"], tx["storage"]["id"])
        product = next(iter(hook.iter_products(LOCATION, page_size=1)))
        assert (product.salon_id, product.category) == (LOCATION, good["category"])


def test_a_trailing_slash_is_the_same_path(altegio_sandbox_client: httpx.Client) -> None:
    """YCLIENTS' documents write ``/company/{id}/``; a client generated from them sends it."""
    company = _data(altegio_sandbox_client.get(f"/company/{LOCATION}/"))
    assert company["id"] == LOCATION
    assert len(_data(altegio_sandbox_client.get(f"/storages/{LOCATION}/"))) == 2
