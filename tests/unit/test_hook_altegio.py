"""AltegioHook: connection handling, the /auth flow, every endpoint's request shape and parsing,
input validation before any request, error paths, and secrets kept out of everything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from airflow_provider_altegio.core.ratelimit import RateLimiter
from airflow_provider_altegio.exceptions import (
    AltegioAPIError,
    AltegioAuthError,
    AltegioNotFoundError,
    AltegioValidationError,
    AmbiguousWriteError,
    InvalidRequestError,
    MalformedResponseError,
)
from airflow_provider_altegio.hooks.altegio import AltegioHook
from airflow_provider_altegio.models.altegio import DocumentType, Product, StorageOperationRequest
from airflow_provider_altegio.workflows.restock import low_stock

if TYPE_CHECKING:
    from fakes import SleepRecorder

BASE = "https://api.example/api/v1"
PARTNER = "partner-token-SECRET-1"
USER = "user-token-SECRET-2"
PASSWORD = "login-password-SECRET-3"
AUTH_TOKEN = "auth-issued-token-SECRET-4"
SECRETS = (PARTNER, USER, PASSWORD, AUTH_TOKEN)


def ok(data: Any, meta: Any = None) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data, "meta": [] if meta is None else meta})


@pytest.fixture
def connect(
    monkeypatch: pytest.MonkeyPatch, core_options: Any, sleeps: SleepRecorder
) -> Callable[..., AltegioHook]:
    """Define connection ``altegio_test`` from keyword overrides and return a hook on it."""

    def make(
        *, host: str | None = BASE, login: str | None = None, password: str | None = None, **extra: Any
    ) -> AltegioHook:
        extras = {
            "partner_token": PARTNER,
            "user_token": USER,
            "location_id": 42,
            "requests_per_second": 0,
            "requests_per_minute": 0,
            "max_retries": 2,
            **extra,
        }
        conn: dict[str, Any] = {
            "conn_type": "altegio",
            "host": host,
            "extra": {k: v for k, v in extras.items() if v is not None},
        }
        if login is not None:
            conn["login"] = login
        if password is not None:
            conn["password"] = password
        monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_TEST", json.dumps(conn))
        hook = AltegioHook("altegio_test")
        core_options(sleep=sleeps, asleep=sleeps.asleep)
        return hook

    return make


@pytest.fixture
def hook(connect: Callable[..., AltegioHook]) -> AltegioHook:
    return connect()


def body_of(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def params_of(route: respx.Route, index: int = -1) -> list[tuple[str, str]]:
    return list(route.calls[index].request.url.params.multi_items())


# -- connection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, "https://api.alteg.io/api/v1"),
        ("", "https://api.alteg.io/api/v1"),
        ("https://api.yclients.com/api/v1/", "https://api.yclients.com/api/v1"),
        ("api.alteg.io/api/v1", "https://api.alteg.io/api/v1"),
        ("http://127.0.0.1:8787/api/v1", "http://127.0.0.1:8787/api/v1"),
    ],
)
def test_base_url_from_host(connect: Callable[..., AltegioHook], host: str | None, expected: str) -> None:
    assert connect(host=host).get_conn().config.base_url == expected


def test_connection_extras_are_read_tolerantly(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(
        timeout="12.5",
        max_retries="4",
        requests_per_second="3",
        requests_per_minute="100",
        verify_ssl="false",
    )
    core = hook.get_conn()
    assert core.config.timeout == 12.5
    assert core.config.verify_ssl is False
    assert core.retry.max_retries == 4
    assert core.limiter is not None
    assert (core.limiter.per_second, core.limiter.per_minute) == (3, 100)
    assert hook.location_id == 42


def test_turning_tls_verification_off_is_logged(
    connect: Callable[..., AltegioHook], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING)
    connect(verify_ssl=False).get_conn()
    # the hook logs through Airflow's task logger, which may print instead of propagating
    logged = caplog.text + capsys.readouterr().out
    assert "TLS certificate verification is OFF for connection altegio_test" in logged


def test_defaults_verify_tls_and_use_documented_limits(connect: Callable[..., AltegioHook]) -> None:
    core = connect(requests_per_second=None, requests_per_minute=None, max_retries=None).get_conn()
    assert core.config.verify_ssl is True
    assert core.retry.max_retries == 5
    assert core.limiter is not None
    assert (core.limiter.per_second, core.limiter.per_minute) == (5, 200)


def test_prefixed_ui_extras_are_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "altegio",
        "extra": {
            "extra__altegio__partner_token": PARTNER,
            "extra__altegio__location_id": "7",
            "user_token": "",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_UI", json.dumps(conn))
    hook = AltegioHook("altegio_ui")
    assert hook.location_id == 7
    assert hook.get_conn().dialect.prepare  # built without a user token
    assert not hook.get_conn().dialect.has_user_token  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"partner_token": None}, "partner_token"),
        ({"partner_token": "  "}, "partner_token"),
        ({"timeout": "soon"}, "extra.timeout"),
        ({"timeout": 0}, "extra.timeout"),
        ({"max_retries": "-1"}, "extra.max_retries"),
        ({"max_retries": 2.5}, "extra.max_retries"),
        ({"requests_per_second": "fast"}, "extra.requests_per_second"),
        ({"verify_ssl": "maybe"}, "extra.verify_ssl"),
        ({"location_id": "abc"}, "extra.location_id"),
    ],
)
def test_bad_connections_are_named(
    connect: Callable[..., AltegioHook], extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        connect(**extra).get_conn()
    assert info.value.field == field


def test_location_resolution(connect: Callable[..., AltegioHook]) -> None:
    hook = connect()
    assert hook.resolve_location_id() == 42
    assert hook.resolve_location_id("7") == 7
    assert hook.resolve_location_id(8) == 8
    for bad in (0, -3, "x", True, 1.5):
        with pytest.raises(InvalidRequestError, match=r"^location_id: "):
            hook.resolve_location_id(bad)  # type: ignore[arg-type]
    without = connect(location_id=None)
    assert without.location_id is None
    with pytest.raises(InvalidRequestError, match=r"^location_id: is required") as info:
        without.resolve_location_id()
    assert info.value.field == "location_id"


def test_chain_locations_resolution(connect: Callable[..., AltegioHook]) -> None:
    hook = connect()
    assert hook.resolve_location_ids([]) == [42]
    assert hook.resolve_location_ids(None) == [42]
    assert hook.resolve_location_ids([1002, "1001", 1002]) == [1001, 1002]
    with pytest.raises(InvalidRequestError) as info:
        hook.resolve_location_ids([1001, 0])
    assert info.value.field == "location_ids[1]"


# -- auth --------------------------------------------------------------------------------------


def test_user_token_is_obtained_once_through_auth(
    connect: Callable[..., AltegioHook], monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []
    monkeypatch.setattr(
        "airflow_provider_altegio.compat.mask_secret", lambda value, name=None: masked.append(value)
    )
    hook = connect(user_token=None, login="owner@example.com", password=PASSWORD)
    with respx.mock() as mock:
        auth = mock.post(f"{BASE}/auth").mock(
            return_value=ok({"user_token": AUTH_TOKEN, "id": 1, "name": "Owner"})
        )
        storages = mock.get(f"{BASE}/storages/42").mock(return_value=ok([]))
        hook.list_storages()
        hook.list_storages()
    assert auth.call_count == 1
    assert body_of(auth) == {"login": "owner@example.com", "password": PASSWORD}
    assert auth.calls[0].request.headers["Authorization"] == f"Bearer {PARTNER}"
    assert storages.calls[-1].request.headers["Authorization"] == f"Bearer {PARTNER}, User {AUTH_TOKEN}"
    # every derived secret went to Airflow's masker: tokens, password, both Authorization values
    for secret in (
        PARTNER,
        PASSWORD,
        AUTH_TOKEN,
        f"Bearer {PARTNER}",
        f"Bearer {PARTNER}, User {AUTH_TOKEN}",
    ):
        assert secret in masked


def test_auth_in_async_path_uses_async_masking(
    connect: Callable[..., AltegioHook], monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []

    async def amask(value: str, name: str | None = None) -> None:
        masked.append(value)

    monkeypatch.setattr("airflow_provider_altegio.compat.amask_secret", amask)
    hook = connect(user_token=None, login="owner@example.com", password=PASSWORD)

    async def go() -> list[Product]:
        try:
            return await hook.achanged_products("2026-01-01T00:00:00Z")
        finally:
            await hook.aclose()

    with respx.mock() as mock:
        auth = mock.post(f"{BASE}/auth").mock(return_value=ok({"user_token": AUTH_TOKEN}))
        goods = mock.get(f"{BASE}/goods/42").mock(return_value=ok([{"good_id": 1}]))
        assert [p.good_id for p in asyncio.run(go())] == [1]
    assert auth.call_count == 1
    assert goods.calls[0].request.headers["Authorization"].endswith(f"User {AUTH_TOKEN}")
    assert AUTH_TOKEN in masked


def test_auth_failure_is_an_auth_error_without_secrets(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(user_token=None, login="owner@example.com", password=PASSWORD)
    with respx.mock() as mock:
        mock.post(f"{BASE}/auth").mock(
            return_value=httpx.Response(
                401, json={"success": False, "data": None, "meta": {"message": f"Wrong password {PASSWORD}"}}
            )
        )
        with pytest.raises(AltegioAuthError, match="Wrong password \\*\\*\\*") as info:
            hook.list_storages()
    assert_clean(info.value)


def test_auth_answer_without_token_is_malformed(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(user_token=None, login="owner@example.com", password=PASSWORD)
    with respx.mock() as mock:
        mock.post(f"{BASE}/auth").mock(return_value=ok({"id": 1}))
        with pytest.raises(MalformedResponseError, match="user_token"):
            hook.list_storages()


def test_no_user_token_and_no_login_sends_partner_only(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(user_token=None)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/storages/42").mock(return_value=ok([]))
        hook.list_storages()
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {PARTNER}"


# -- products ----------------------------------------------------------------------------------


def goods_pages(total: int) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        page, count = int(request.url.params["page"]), int(request.url.params["count"])
        start = (page - 1) * count
        items = [
            {"good_id": str(i), "title": f"P{i}", "actual_amounts": [{"storage_id": "1", "amount": "2.5"}]}
            for i in range(start, min(total, start + count))
        ]
        return ok(items)

    return respond


def test_iter_products_request_shape_and_paging(hook: AltegioHook) -> None:
    after = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/42").mock(side_effect=goods_pages(5))
        products = hook.iter_products(
            term="shampoo",
            category_id="777",
            changed_after=after,
            changed_before="2026-02-01 00:00:00",
            page_size=2,
        )
        assert route.call_count == 0  # a generator: nothing is fetched until consumed
        items = list(products)
    assert [p.good_id for p in items] == [0, 1, 2, 3, 4]
    assert items[0].amount_in(1) == 2.5
    assert route.call_count in (3, 4)  # and at most the read-ahead's bet on page 4
    assert params_of(route, 0) == [
        ("term", "shampoo"),
        ("category_id", "777"),
        ("changed_after", "2026-01-01T12:00:00-0500"),
        ("changed_before", "2026-02-01T00:00:00+0000"),
        ("page", "1"),
        ("count", "2"),
    ]
    assert route.calls[0].request.headers["Accept"] == "application/vnd.api.v2+json"
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {PARTNER}, User {USER}"
    assert route.calls[2].request.url.params["page"] == "3"


def test_iter_products_streams_page_by_page(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/9").mock(side_effect=goods_pages(10))
        products = hook.iter_products(9, page_size=3)
        next(products)
        assert route.call_count <= 2  # the page being read, and at most one read ahead
        list(products)
    assert route.call_count in (4, 5)  # and at most the read-ahead's bet on page 5


def test_page_size_from_hook_default_and_bounds(connect: Callable[..., AltegioHook]) -> None:
    hook = AltegioHook("altegio_test", page_size=50)
    assert hook.page_size == 50
    with pytest.raises(InvalidRequestError, match="page_size"):
        AltegioHook("altegio_test", page_size=5000)
    hook = connect()
    with pytest.raises(InvalidRequestError, match="page_size"):
        hook.iter_products(page_size=0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"changed_after": "yesterday"}, "changed_after"),
        ({"changed_before": "2026-13-01"}, "changed_before"),
        ({"category_id": -1}, "category_id"),
        ({"location_id": "abc"}, "location_id"),
    ],
)
def test_iter_products_validates_before_any_request(
    hook: AltegioHook, kwargs: dict[str, Any], field: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=".*").mock(return_value=ok([]))
        with pytest.raises(InvalidRequestError) as info:
            hook.iter_products(**kwargs)
    assert info.value.field == field
    assert route.call_count == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_changed_products_asks_for_the_change_window_and_keeps_the_wanted_ids(
    hook: AltegioHook, mode: str
) -> None:
    query: dict[str, Any] = {"changed_after": "2026-01-01T12:00:00-05:00", "product_ids": [0, 2], "term": "x"}

    async def go() -> list[Product]:
        try:
            return await hook.achanged_products(**query)
        finally:
            await hook.aclose()

    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/42").mock(side_effect=goods_pages(3))
        products = hook.changed_products(**query) if mode == "sync" else asyncio.run(go())
    assert [p.good_id for p in products] == [0, 2]
    assert route.call_count == 1
    assert params_of(route, 0) == [
        ("term", "x"),
        ("changed_after", "2026-01-01T12:00:00-0500"),
        ("page", "1"),
        ("count", "100"),
    ]


@pytest.mark.parametrize("data", [[{"good_id": 5, "title": "A"}], {"good_id": 5, "title": "A"}])
def test_get_product_reads_a_list_of_one_or_an_object(hook: AltegioHook, data: Any) -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/42/5").mock(return_value=ok(data))
        assert hook.get_product(5).title == "A"


def test_get_product_not_found(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/42/5").mock(return_value=ok([]))
        mock.get(f"{BASE}/goods/42/6").mock(
            return_value=httpx.Response(404, json={"success": False, "meta": {"message": "Not found"}})
        )
        with pytest.raises(AltegioNotFoundError, match="no Product"):
            hook.get_product(5)
        with pytest.raises(AltegioNotFoundError, match="Not found") as info:
            hook.get_product(6)
    assert info.value.status_code == 404
    # The message says which of the user's connections the request went through.
    assert f"(connection {hook.conn_id!r}): HTTP 404: Not found" in str(info.value)
    assert info.value.connection_id == hook.conn_id


def test_create_product_body_and_result(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/goods/42").mock(
            return_value=httpx.Response(
                201, json={"success": True, "data": {"good_id": 99, "title": "Shampoo"}}
            )
        )
        product = hook.create_product(
            {
                "title": "Shampoo",
                "category_id": 289632,
                "unit_id": 216762,
                "service_unit_id": 216762,
                "cost": 1000,
            }
        )
    assert product.good_id == 99
    assert body_of(route) == {
        "title": "Shampoo",
        "category_id": 289632,
        "sale_unit_id": 216762,
        "service_unit_id": 216762,
        "cost": 1000.0,
    }
    assert route.calls[0].request.headers["Content-Type"] == "application/json"


def test_create_product_validates_before_any_request(hook: AltegioHook) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{BASE}/goods/42").mock(return_value=ok({}))
        with pytest.raises(InvalidRequestError) as info:
            hook.create_product({"title": "x", "category_id": 1, "sale_unit_id": 0, "service_unit_id": 1})
        assert info.value.field == "sale_unit_id"
        with pytest.raises(InvalidRequestError, match="title"):
            hook.create_product({"category_id": 1, "sale_unit_id": 1, "service_unit_id": 1})
    assert route.call_count == 0


def test_create_product_5xx_is_ambiguous_and_not_repeated(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/goods/42").mock(return_value=httpx.Response(502))
        with pytest.raises(AmbiguousWriteError):
            hook.create_product({"title": "x", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1})
    assert route.call_count == 1


def test_create_product_unreadable_result_is_ambiguous(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        mock.post(f"{BASE}/goods/42").mock(return_value=ok({"good_id": "not-a-number"}))
        with pytest.raises(AmbiguousWriteError, match="may have been applied") as info:
            hook.create_product({"title": "x", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1})
    assert isinstance(info.value.__cause__, MalformedResponseError)


def test_update_product_with_correction_rules(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.put(f"{BASE}/goods/42/5").mock(return_value=ok([{"good_id": 5, "title": "New"}]))
        product = hook.update_product(
            5,
            {
                "title": "New",
                "correction_rules": [
                    {"type": 1, "base_unit": "service"},
                    {"type": "receipt", "base_unit": "sale"},
                ],
            },
        )
    assert product.title == "New"
    assert body_of(route) == {
        "title": "New",
        "correction_rules": [{"type": 1, "base_unit": "service"}, {"type": 3, "base_unit": "sale"}],
    }


def test_update_product_needs_a_change(hook: AltegioHook) -> None:
    with pytest.raises(InvalidRequestError, match=r"^changes: "):
        hook.update_product(5, {})
    with pytest.raises(InvalidRequestError) as info:
        hook.update_product(5, {"colour": "red"})
    assert info.value.field == "colour"


def test_delete_product(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.delete(f"{BASE}/goods/42/5").mock(return_value=httpx.Response(202))
        assert hook.delete_product(5) is None
    assert route.call_count == 1
    with pytest.raises(InvalidRequestError, match=r"^product_id: "):
        hook.delete_product(0)


def test_search_goods(hook: AltegioHook) -> None:
    data = [
        {
            "parent_id": 0,
            "item_id": 0,
            "category_id": 123,
            "title": "Root",
            "is_chain": True,
            "is_category": True,
            "is_item": False,
        }
    ]
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/search/42").mock(return_value=ok(data, {"count": 1}))
        elements = hook.search_goods("sham", count=10)
        hook.search_goods()
    assert elements[0].category_id == 123
    assert elements[0].is_category is True
    # Both documented spellings: the text's search_term/max_count and the curl's term/count.
    assert params_of(route, 0) == [
        ("search_term", "sham"),
        ("term", "sham"),
        ("max_count", "10"),
        ("count", "10"),
    ]
    assert params_of(route, 1) == []
    with pytest.raises(InvalidRequestError, match=r"^count: "):
        hook.search_goods("x", count=101)


# -- categories --------------------------------------------------------------------------------


def test_list_categories_root_and_children(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        root = mock.get(f"{BASE}/goods_categories/42/0").mock(
            return_value=ok([{"id": "1", "title": "Hair", "parent_category_id": None}], {"count": 1})
        )
        child = mock.get(f"{BASE}/goods_categories/42/1").mock(return_value=ok([]))
        assert [c.id for c in hook.list_categories()] == [1]
        assert hook.list_categories(1) == []
    assert root.call_count == child.call_count == 1


def test_get_categories_by_ids(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods_categories/multiple/42").mock(
            return_value=ok([{"id": 1, "title": "A"}, {"id": 2, "title": "B"}])
        )
        categories = hook.get_categories([1, "2"])
        assert hook.get_categories([]) == []
    assert [c.title for c in categories] == ["A", "B"]
    assert route.call_count == 1
    assert params_of(route) == [("ids[]", "1"), ("ids[]", "2")]
    with pytest.raises(InvalidRequestError, match=r"^category_ids\[1\]: "):
        hook.get_categories([1, "x"])


def test_get_category_node(hook: AltegioHook) -> None:
    data = {
        "category_id": 123,
        "title": "Root",
        "children": [{"item_id": 789, "category_id": 0, "is_item": True}],
        "children_count": 1,
    }
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/category_node/42/123").mock(return_value=ok(data))
        node = hook.get_category_node(123, page=2, count=50)
    assert node.children[0].item_id == 789
    assert node.children_count == 1
    assert params_of(route) == [("page", "2"), ("count", "50")]
    with pytest.raises(InvalidRequestError, match=r"^count: "):
        hook.get_category_node(123, count=1001)


def test_create_update_delete_category(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        create = mock.post(f"{BASE}/goods_categories/42").mock(
            return_value=ok({"id": 5, "title": "Manicure", "parent_category_id": 1})
        )
        update = mock.put(f"{BASE}/goods_categories/42/5").mock(return_value=ok({"id": 5, "title": "Nails"}))
        delete = mock.delete(f"{BASE}/goods_categories/42/5").mock(return_value=httpx.Response(202))
        assert hook.create_category({"title": "Manicure", "parent_category_id": 1, "article": "a1"}).id == 5
        assert hook.update_category(5, {"title": "Nails"}).title == "Nails"
        hook.delete_category(5)
    assert body_of(create) == {"title": "Manicure", "parent_category_id": 1, "article": "a1"}
    assert body_of(update) == {"title": "Nails"}
    assert delete.call_count == 1
    with pytest.raises(InvalidRequestError, match=r"^title: "):
        hook.create_category({"title": ""})


# -- storages, transactions, operations --------------------------------------------------------


def test_list_storages_reads_both_spellings(hook: AltegioHook) -> None:
    data = [
        {"id": 1, "title": "Consumables", "for_service": 1, "for_sale": 0},
        {"id": "2", "title": "Goods", "for_services": "0", "for_sale": "1"},
    ]
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=ok(data))
        storages = hook.list_storages()
    assert [(s.id, s.for_services, s.for_sale) for s in storages] == [(1, True, False), (2, False, True)]


def test_iter_transactions_request_shape(hook: AltegioHook) -> None:
    tx = {
        "id": 1,
        "document_id": 9,
        "type_id": 1,
        "good": {"id": "3", "title": "X"},
        "storage": {"id": 4},
        "amount": "-2",
    }
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/storages/transactions/42").mock(return_value=ok([tx]))
        items = list(
            hook.iter_transactions(
                start_date=date(2026, 1, 1),
                end_date=datetime(2026, 1, 31, 23, 0, tzinfo=timezone.utc),
                document_id="9",
                changed_after="2026-01-01T00:00:00-05:00",
            )
        )
    assert (items[0].good_id, items[0].storage_id, items[0].amount) == (3, 4, -2.0)
    assert params_of(route) == [
        ("start_date", "2026-01-01"),
        ("end_date", "2026-01-31"),
        ("document_id", "9"),
        ("changed_after", "2026-01-01T00:00:00-0500"),
        ("page", "1"),
        ("count", "100"),
    ]


OPERATION = {
    "type_id": "receipt",
    "storage_id": 91271,
    "create_date": "2026-09-21T23:00:00-05:00",
    "master_id": 7,
    "comment": "restock",
    "transactions": [{"good_id": 232674, "amount": 2, "cost_per_unit": 100, "discount": 10}],
}
RESULT = {
    "document": {"id": 22255506, "type_id": 3, "storage_id": 91271, "create_date": "2017-04-25 14:00:00"},
    "transactions": [
        {"id": 3428012, "document_id": 22255506, "good_id": 232674, "amount": 2, "storage_id": 91271}
    ],
}


def test_create_storage_operation_body_is_the_official_form(hook: AltegioHook) -> None:
    """Held to the official field list, not to what the sandbox accepts: ``goods_transactions``,
    ``create_date`` ISO-8601 with its offset, ``master_id`` on the document and every line."""
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/storage_operations/operation/42").mock(return_value=ok(RESULT))
        result = hook.create_storage_operation(OPERATION)
    assert result.document.id == 22255506
    assert result.transactions[0].good_id == 232674
    assert body_of(route) == {
        "type_id": 3,
        "storage_id": 91271,
        "create_date": "2026-09-21T23:00:00.000-05:00",
        "master_id": 7,
        "comment": "restock",
        "goods_transactions": [
            {
                "good_id": 232674,
                "amount": 2,
                "cost_per_unit": 100,
                "discount": 10,
                "cost": 180,
                "operation_unit_type": 1,
                "master_id": 7,
            }
        ],
    }


def test_a_date_without_offset_is_the_locations_wall_clock(hook: AltegioHook) -> None:
    """Placed in the location's zone, read once from ``GET /company/{id}``, never sent as UTC."""
    company = {"id": 42, "title": "Downtown", "timezone": "3"}
    with respx.mock() as mock:
        zone = mock.get(f"{BASE}/company/42").mock(return_value=ok(company))
        route = mock.post(f"{BASE}/storage_operations/operation/42").mock(return_value=ok(RESULT))
        hook.create_storage_operation({**OPERATION, "create_date": "2026-03-01 10:30:00"})
        hook.create_storage_operation({**OPERATION, "create_date": "2026-03-02 09:00"})
    assert body_of(route, 0)["create_date"] == "2026-03-01T10:30:00.000+03:00"
    assert body_of(route, 1)["create_date"] == "2026-03-02T09:00:00.000+03:00"
    assert zone.call_count == 1  # cached per hook


def test_master_id_defaults_to_the_connection_and_is_required(connect: Callable[..., AltegioHook]) -> None:
    operation = {k: v for k, v in OPERATION.items() if k != "master_id"}
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/storage_operations/operation/42").mock(return_value=ok(RESULT))
        connect(master_id=55).create_storage_operation(operation)
    assert body_of(route)["master_id"] == 55
    assert body_of(route)["goods_transactions"][0]["master_id"] == 55
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route(url__regex=".*").mock(return_value=ok(RESULT))
        with pytest.raises(InvalidRequestError, match="master_id: is required") as info:
            connect().create_storage_operation(operation)
    assert "altegio_test" in str(info.value)
    assert route.call_count == 0


def test_create_storage_operation_accepts_the_model(hook: AltegioHook) -> None:
    request = StorageOperationRequest.from_input(OPERATION)
    assert request.type_id is DocumentType.RECEIPT
    with respx.mock() as mock:
        mock.post(f"{BASE}/storage_operations/operation/5").mock(return_value=ok(RESULT))
        assert hook.create_storage_operation(request, 5).document.number is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"storage_id": None}, "storage_id"),
        ({"type_id": "borrow"}, "type_id"),
        ({"transactions": [{"good_id": 1, "amount": 0}]}, "transactions[0].amount"),
        ({"transactions": []}, "transactions"),
        ({"type_id": 5}, "type_id"),
        ({"master_id": 0}, "master_id"),
    ],
)
def test_create_storage_operation_validates_before_any_request(
    hook: AltegioHook, change: dict[str, Any], field: str
) -> None:
    operation = {**OPERATION, **change}
    operation = {k: v for k, v in operation.items() if v is not None}
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route(url__regex=".*").mock(return_value=ok(RESULT))
        with pytest.raises(InvalidRequestError) as info:
            hook.create_storage_operation(operation)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert route.call_count == 0


@pytest.mark.parametrize(
    "failure", [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("drop")]
)
def test_create_storage_operation_ambiguous_failures_are_not_repeated(
    hook: AltegioHook, failure: Any
) -> None:
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/storage_operations/operation/42").mock(side_effect=[failure, ok(RESULT)])
        with pytest.raises(AmbiguousWriteError):
            hook.create_storage_operation(OPERATION)
    assert route.call_count == 1


def test_create_storage_operation_repeated_on_429(hook: AltegioHook, sleeps: SleepRecorder) -> None:
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/storage_operations/operation/42").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), ok(RESULT)]
        )
        assert hook.create_storage_operation(OPERATION).document.id == 22255506
    assert route.call_count == 2
    assert sleeps.calls == [1.0]


def test_create_storage_operation_422_carries_errors(hook: AltegioHook) -> None:
    body = {
        "success": False,
        "data": None,
        "meta": {"message": "Invalid", "errors": {"storage_id": ["unknown"]}},
    }
    with respx.mock() as mock:
        mock.post(f"{BASE}/storage_operations/operation/42").mock(return_value=httpx.Response(422, json=body))
        with pytest.raises(AltegioValidationError) as info:
            hook.create_storage_operation(OPERATION)
    assert info.value.errors == {"storage_id": ["unknown"]}


def test_storage_document_and_its_transactions(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        doc = mock.get(f"{BASE}/storage_operations/documents/42/777").mock(
            return_value=ok(
                {"id": 777, "type_id": 1, "type": {"id": 1, "title": "Sale"}, "storage": {"id": 3}}
            )
        )
        txs = mock.get(f"{BASE}/storage_operations/documents/goods_transactions/777").mock(
            return_value=ok([{"id": 1, "document_id": 777, "good_id": 5, "amount": -10}], {"count": 1})
        )
        document = hook.get_storage_document(777)
        transactions = hook.list_document_transactions("777")
    assert (document.id, document.storage_id, document.document_type) == (777, 3, DocumentType.SALE)
    assert transactions[0].amount == -10
    assert doc.call_count == txs.call_count == 1


# -- malformed answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "route", "data"),
    [
        (lambda h: h.get_product(5), "/goods/42/5", "a string"),
        (lambda h: h.get_product(5), "/goods/42/5", [{"actual_amounts": "lots"}]),
        (lambda h: h.list_storages(), "/storages/42", {"id": 1}),
        (lambda h: h.list_storages(), "/storages/42", [[1, 2]]),
        (lambda h: list(h.iter_products()), "/goods/42", {"good_id": 1}),
        (lambda h: list(h.iter_products()), "/goods/42", [{"good_id": {"nested": True}}]),
        (lambda h: h.get_category_node(1), "/goods/category_node/42/1", {"children": "none"}),
        (lambda h: h.get_storage_document(1), "/storage_operations/documents/42/1", 17),
    ],
)
def test_malformed_data_is_a_clear_error(
    hook: AltegioHook, call: Callable[[AltegioHook], Any], route: str, data: Any
) -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}{route}").mock(return_value=ok(data))
        with pytest.raises(MalformedResponseError) as info:
            call(hook)
    assert info.value.url == f"{BASE}{route}"
    assert "response" in info.value.message or "expected" in info.value.message


def test_html_error_page(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=httpx.Response(200, text="<html>Login</html>"))
        with pytest.raises(MalformedResponseError, match=r"HTTP 200.*<html>Login</html>"):
            hook.list_storages()


# -- test_connection ---------------------------------------------------------------------------


def test_test_connection_success_with_location(hook: AltegioHook) -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=ok([{"id": 1}, {"id": 2}]))
        assert hook.test_connection() == (True, "Connected: location 42 has 2 storage(s)")


def test_test_connection_without_location_uses_companies(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(location_id=None)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/companies").mock(return_value=ok([]))
        ok_, message = hook.test_connection()
    assert ok_ is True
    assert "Connected" in message
    assert params_of(route) == [("my", "1"), ("count", "1")]


def test_test_connection_failure_reports_api_message_without_secrets(hook: AltegioHook) -> None:
    body = {"success": False, "data": None, "meta": {"message": f"Authentication needed. ({USER})"}}
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=httpx.Response(401, json=body))
        ok_, message = hook.test_connection()
    assert ok_ is False
    assert "Authentication needed." in message
    assert "AltegioAuthError" in message
    assert all(secret not in message for secret in SECRETS)


def test_test_connection_reports_bad_connection(connect: Callable[..., AltegioHook]) -> None:
    ok_, message = connect(partner_token=None).test_connection()
    assert ok_ is False
    assert "partner_token" in message


# -- secrets -----------------------------------------------------------------------------------


def assert_clean(value: object) -> None:
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts += [str(value.__cause__), repr(getattr(value, "__dict__", {}))]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


def test_secrets_absent_from_reprs(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(login="owner@example.com", password=PASSWORD)
    core = hook.get_conn()
    for thing in (hook, core, core.config, core.dialect, core.limiter, core.retry):
        assert_clean(thing)


def test_secrets_absent_from_errors_and_logs(
    connect: Callable[..., AltegioHook], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = connect(user_token=None, login="owner@example.com", password=PASSWORD, max_retries=1)
    errors: list[BaseException] = []
    echo = f"partner {PARTNER} user {AUTH_TOKEN} password {PASSWORD}"
    with respx.mock() as mock:
        mock.post(f"{BASE}/auth").mock(return_value=ok({"user_token": AUTH_TOKEN}))
        mock.get(f"{BASE}/storages/42").mock(return_value=httpx.Response(500, text=echo))
        mock.get(f"{BASE}/goods/42/1").mock(return_value=httpx.Response(200, text=echo))
        mock.get(f"{BASE}/goods/42").mock(side_effect=httpx.ConnectError(echo))
        mock.post(f"{BASE}/goods/42").mock(
            return_value=httpx.Response(503, json={"success": False, "meta": {"message": echo}})
        )
        mock.get(f"{BASE}/goods/42/2").mock(
            return_value=httpx.Response(
                422, json={"success": False, "meta": {"message": echo, "errors": {"x": [echo]}}}
            )
        )
        for call in (
            hook.list_storages,
            lambda: hook.get_product(1),
            lambda: list(hook.iter_products()),
            lambda: hook.create_product(
                {"title": "x", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1}
            ),
            lambda: hook.get_product(2),
        ):
            with pytest.raises(AltegioAPIError.__mro__[2]) as info:  # APIError
                call()
            errors.append(info.value)
    assert len(errors) == 5
    for err in errors:
        assert_clean(err)
        assert "***" in str(err)
    captured = capsys.readouterr()
    log_text = "\n".join(record.getMessage() for record in caplog.records) + captured.out + captured.err
    assert "retry 1 of 1" in log_text
    assert "Obtained an Altegio user token" in log_text
    for secret in SECRETS:
        assert secret not in log_text


def test_secrets_registered_with_airflow_masker(connect: Callable[..., AltegioHook]) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    hook = connect(login="owner@example.com", password=PASSWORD)
    authorization = hook.get_conn().dialect.authorization()  # type: ignore[attr-defined]
    text = redact(f"header {authorization} and {PASSWORD}")
    assert PARTNER not in text
    assert USER not in text
    assert PASSWORD not in text


# -- shared budget -----------------------------------------------------------------------------


def test_hooks_on_the_same_credentials_share_one_limiter(connect: Callable[..., AltegioHook]) -> None:
    first = connect(requests_per_second=5, requests_per_minute=200)
    second = AltegioHook("altegio_test")
    assert first.get_conn().limiter is second.get_conn().limiter
    other = connect(requests_per_second=5, requests_per_minute=200, partner_token="another-partner-token")
    assert other.get_conn().limiter is not first.get_conn().limiter
    keys = list(RateLimiter._registry)
    assert all(PARTNER not in key and USER not in key for key in keys)
    assert all(key.startswith("altegio|https://api.example/api/v1|") for key in keys)


def test_the_connection_names_where_the_budget_is_shared(
    connect: Callable[..., AltegioHook], tmp_path: Path
) -> None:
    from airflow_provider_altegio.core.ratelimit import FileStore, MemoryStore, RedisStore

    default = connect(requests_per_second=5).get_conn().limiter
    assert default is not None
    assert isinstance(default.store, FileStore)  # every process on this machine, by default
    RateLimiter.clear_shared()
    chosen = connect(requests_per_second=5, rate_limit_store=str(tmp_path)).get_conn().limiter
    assert chosen is not None
    assert isinstance(chosen.store, FileStore)
    assert chosen.store.directory == tmp_path
    RateLimiter.clear_shared()
    alone = connect(requests_per_second=5, rate_limit_store="memory").get_conn().limiter
    assert alone is not None
    assert isinstance(alone.store, MemoryStore)
    RateLimiter.clear_shared()
    url = "redis://:redis-password-secret@127.0.0.1:1/0"
    hook = connect(requests_per_second=5, rate_limit_store=url)
    limiter = hook.get_conn().limiter
    assert limiter is not None
    assert isinstance(limiter.store, RedisStore)
    assert "redis-password-secret" not in repr(limiter)
    assert hook.get_conn().dialect.redact(f"failed: {url}") == "failed: redis://:***@127.0.0.1:1/0"


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback server that accepts connections and never answers; yields its URL and the
    connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1", accepted
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.mark.parametrize("test_class", ["altegio", "altacolor"])
def test_connection_test_tries_once_with_a_short_timeout(
    monkeypatch: pytest.MonkeyPatch, silent_server: tuple[str, list[socket.socket]], test_class: str
) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.base import CONNECTION_TEST_TIMEOUT

    url, accepted = silent_server
    conn: dict[str, Any] = {"conn_type": test_class, "host": url, "extra": {"timeout": 60, "max_retries": 5}}
    if test_class == "altegio":
        conn["extra"].update(partner_token=PARTNER, user_token=USER, location_id=42)
    else:
        conn.update(login="api-user", password="api-password")
    monkeypatch.setenv("AIRFLOW_CONN_SILENT", json.dumps(conn))
    hook = AltegioHook("silent") if test_class == "altegio" else AltacolorHook("silent")
    ok, message = hook.test_connection()
    assert ok is False
    assert "ReadTimeout" in message
    assert len(accepted) == 1  # one try: no retries for a person waiting on the Test button
    # The connection's own settings are left for the tasks.
    assert (hook.get_conn().config.timeout, hook.get_conn().config.max_retries) == (60, 5)
    assert CONNECTION_TEST_TIMEOUT <= 10


def test_a_connection_of_the_wrong_type_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    altacolor = {"conn_type": "altacolor", "host": "https://one.store.example", "login": "u", "password": "p"}
    monkeypatch.setenv("AIRFLOW_CONN_SUPPLIER", json.dumps(altacolor))
    with pytest.raises(InvalidRequestError) as raised:
        AltegioHook("supplier").list_storages(1)
    assert raised.value.field == "conn_type"
    assert "connection 'supplier' is of type 'altacolor'" in str(raised.value)
    assert "type 'altegio'" in str(raised.value)
    ok, message = AltegioHook("supplier").test_connection()
    assert ok is False
    assert "is of type 'altacolor'" in message
    assert AltacolorHook("supplier").get_conn().dialect.name == "altacolor"  # the right hook is fine


def test_a_401_without_user_token_or_login_says_neither_is_set(connect: Callable[..., AltegioHook]) -> None:
    refused = httpx.Response(401, json={"success": False, "meta": {"message": "Authentication needed"}})
    hook = connect(user_token=None)
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=refused)
        with pytest.raises(AltegioAuthError) as raised:
            hook.list_storages()
    assert "Authentication needed" in str(raised.value)
    assert "no user_token extra and no login and password" in str(raised.value)
    # With a user token, a 401 is about that token: no such hint.
    hook = connect()
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=refused)
        with pytest.raises(AltegioAuthError) as raised:
            hook.list_storages()
    assert "no user_token" not in str(raised.value)


# -- URI-form connections -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "base_url"),
    [
        # The path arrives in the connection's schema: it is kept.
        (f"altegio://api.example/api/v1?partner_token={PARTNER}", "https://api.example/api/v1"),
        (f"altegio://api.example:8443/api/v1?partner_token={PARTNER}", "https://api.example:8443/api/v1"),
        # The whole URL as the (URL-encoded) host keeps the scheme as well.
        (
            f"altegio://http%3A%2F%2F127.0.0.1%3A8080%2Fapi%2Fv1?partner_token={PARTNER}",
            "http://127.0.0.1:8080/api/v1",
        ),
    ],
)
def test_uri_form_connections_keep_the_scheme_and_path(
    monkeypatch: pytest.MonkeyPatch, uri: str, base_url: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_URI", uri)
    hook = AltegioHook("altegio_uri")
    assert hook.get_conn().config.base_url == base_url
    assert hook.base_url_hint(base_url) is None


def test_a_base_url_without_the_api_path_gets_a_hint(connect: Callable[..., AltegioHook]) -> None:
    hook = connect(host="https://api.example")
    with respx.mock() as mock:
        mock.get("https://api.example/storages/42").mock(return_value=httpx.Response(404, text="Not Found"))
        ok_, message = hook.test_connection()
    assert not ok_
    assert "does not end with /api/v1" in message
    assert "https://api.alteg.io/api/v1" in message


def test_low_stock_orders_whole_sale_units_into_the_home_storage(hook: AltegioHook) -> None:
    storages = [
        {"id": 1, "title": "Back room", "for_service": 1, "for_sale": 0},
        {"id": 2, "title": "Shelf", "for_service": 0, "for_sale": 1},
    ]
    goods = [
        # 2.4 bottles on hand (mostly in the back room), critical 3, desired 6: order 4 bottles.
        {
            "good_id": 10,
            "title": "Shampoo",
            "unit_short_title": "btl",
            "critical_amount": 3,
            "desired_amount": 6,
            "actual_amounts": [{"storage_id": 1, "amount": 2}, {"storage_id": 2, "amount": 0.4}],
        },
        # Out of stock everywhere: ordered into the storage for sale.
        {"good_id": 11, "title": "Mask", "critical_amount": 1, "desired_amount": 2, "actual_amounts": []},
        # Above critical, or nothing to order up to: not reported.
        {
            "good_id": 12,
            "critical_amount": 1,
            "desired_amount": 5,
            "actual_amounts": [{"storage_id": 2, "amount": 3}],
        },
        {"good_id": 13, "critical_amount": 2, "desired_amount": 0, "actual_amounts": []},
    ]
    with respx.mock() as mock:
        mock.get(f"{BASE}/storages/42").mock(return_value=ok(storages))
        mock.get(f"{BASE}/goods/42").mock(side_effect=[ok(goods), ok([])])
        lines = low_stock(hook)
    assert [(line.good_id, line.storage_id, line.quantity) for line in lines] == [(10, 1, 4), (11, 2, 2)]
    assert lines[0].on_hand == pytest.approx(2.4)
    assert (lines[0].unit, lines[0].storage_title) == ("btl", "Back room")


@pytest.mark.parametrize(
    ("method", "module"),
    [
        ("low_stock", "restock"),
        ("find_products", "catalogue"),
        ("update_products", "catalogue"),
        ("match_lines", "stocklists"),
    ],
)
def test_the_workflows_that_moved_keep_a_deprecated_alias_on_the_hook(
    hook: AltegioHook, monkeypatch: pytest.MonkeyPatch, method: str, module: str
) -> None:
    import importlib

    calls: list[tuple[Any, ...]] = []
    workflows = importlib.import_module(f"airflow_provider_altegio.workflows.{module}")
    monkeypatch.setattr(workflows, method, lambda *args, **kwargs: calls.append((*args, kwargs)) or "done")
    with pytest.warns(DeprecationWarning, match=f"workflows.{module}.{method}"):
        assert getattr(hook, method)("x", 42, flag=True) == "done"
    assert calls == [(hook, "x", 42, {"flag": True})]
