"""AltacolorHook: credentials placement, search forms and paging by total, lookups in chunks,
response_status errors, and the password kept out of messages, logs and reprs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from airflow_provider_altegio.exceptions import (
    AltacolorAPIError,
    AltacolorAuthError,
    AltacolorNotFoundError,
    AltacolorValidationError,
    InvalidRequestError,
    MalformedResponseError,
    TransportError,
)
from airflow_provider_altegio.hooks.altacolor import AltacolorHook

if TYPE_CHECKING:
    from fakes import SleepRecorder

    from airflow_provider_altegio.models.altacolor import AltacolorProduct

STORE = "https://one.store.example"
FIND = f"{STORE}/api/json/manage_products/find"
GET = f"{STORE}/api/json/manage_products/get"
USERNAME = "api-user"
PASSWORD = "alta&pass=SECRET 9"
SUCCESS = {"code": 10001, "severity": "SUCCESS", "description": ""}


def found(products: list[dict[str, Any]], total: int | str) -> httpx.Response:
    return httpx.Response(200, json={"response_status": SUCCESS, "products": products, "total": total})


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


@pytest.fixture
def connect(
    monkeypatch: pytest.MonkeyPatch, core_options: Any, sleeps: SleepRecorder
) -> Callable[..., AltacolorHook]:
    def make(**overrides: Any) -> AltacolorHook:
        conn = {
            "conn_type": "altacolor",
            "host": STORE,
            "login": USERNAME,
            "password": PASSWORD,
            "extra": {"requests_per_second": 0, "requests_per_minute": 0, "max_retries": 2},
            **overrides,
        }
        monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_TEST", json.dumps(conn))
        hook = AltacolorHook("altacolor_test")
        core_options(sleep=sleeps, asleep=sleeps.asleep)
        return hook

    return make


@pytest.fixture
def hook(connect: Callable[..., AltacolorHook]) -> AltacolorHook:
    return connect()


def catalogue(total: int) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        form = form_of(request)
        offset, limit = int(form["offset"]), int(form["limit"])
        products = [
            {"product_id": i, "product_code": f"C-{i}", "skus": [{"sku": f"S{i}", "price": "9.5", "cost": 4}]}
            for i in range(offset, min(total, offset + limit))
        ]
        return found(products, str(total))

    return respond


def test_single_condition_search_request_shape(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(return_value=found([{"product_id": 1, "product_code": "A-1"}], 1))
        result = hook.search_products(
            {"field": "product_code", "condition": "==", "value": "A-1"},
            limit=10,
            offset=20,
            sort_by="product_name",
        )
    assert result.total == 1
    assert result.products[0].product_code == "A-1"
    request = route.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.url.query == b""  # the password never goes in the URL of a POST
    assert form_of(request) == {
        "field": "1",
        "condition": "1",
        "string": "A-1",
        "limit": "10",
        "offset": "20",
        "sortby": "2",
        "username": USERNAME,
        "password": PASSWORD,
    }


def test_multi_condition_search_uses_indexed_fields(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(return_value=found([], 0))
        hook.search_products(
            [
                {"field": "supplier", "condition": "!=", "value": "Acme"},
                {
                    "field": "date_modified",
                    "condition": "between",
                    "value": ["2018-02-01", "2018-03-01T10:00:00Z"],
                },
            ]
        )
    form = form_of(route.calls[0].request)
    assert form["conditions[1][field]"] == "3"
    assert form["conditions[1][condition]"] == "2"
    assert form["conditions[1][string]"] == "Acme"
    assert form["conditions[2][field]"] == "5"
    assert form["conditions[2][condition]"] == "7"
    assert form["conditions[2][date1]"] == "2018-02-01T00:00:00"
    assert form["conditions[2][date2]"] == "2018-03-01T10:00:00"
    assert "field" not in form


@pytest.mark.parametrize(
    ("conditions", "kwargs", "field"),
    [
        (
            {"field": "date_modified", "condition": "between", "value": "2018-02-01"},
            {},
            "conditions[0].date2",
        ),
        ({"field": "colour", "condition": "==", "value": "x"}, {}, "conditions[0].field"),
        ({"field": 1, "condition": 1, "string": "x"}, {"limit": 101}, "limit"),
        ({"field": 1, "condition": 1, "string": "x"}, {"offset": -1}, "offset"),
        ([], {}, "conditions"),
    ],
)
def test_search_validates_before_any_request(
    hook: AltacolorHook, conditions: Any, kwargs: dict[str, Any], field: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route(url__regex=".*").mock(return_value=found([], 0))
        with pytest.raises(InvalidRequestError) as info:
            hook.search_products(conditions, **kwargs)
    assert info.value.field == field
    assert route.call_count == 0


def test_iter_products_pages_by_offset_until_total(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(side_effect=catalogue(5))
        products = hook.iter_products({"field": "product_id", "condition": ">", "value": "0"}, page_size=2)
        assert route.call_count == 0
        items = list(products)
    assert [p.product_id for p in items] == [0, 1, 2, 3, 4]
    assert items[0].product_code == "C-0"  # a search's Product: no variants, no prices
    offsets = [(form_of(c.request)["limit"], form_of(c.request)["offset"]) for c in route.calls]
    assert offsets == [("2", "0"), ("2", "2"), ("2", "4")]
    assert all(form_of(c.request)["field"] == "4" for c in route.calls)
    # By product id unless told otherwise: offset paging needs an order the shop cannot move.
    assert all(form_of(c.request)["sortby"] == "4" for c in route.calls)


def test_the_whole_catalogue_is_read_by_product_id_each_product_once(hook: AltacolorHook) -> None:
    pages = [list(range(3)), list(range(2, 5)), list(range(4, 6))]  # rows repeat at the edges

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(form_of(request)["offset"])
        ids = pages[offset // 3]
        return found([{"product_id": i, "product_code": f"C{i}"} for i in ids], 8)

    with respx.mock() as mock:
        route = mock.post(FIND).mock(side_effect=answer)
        ids = [p.product_id for p in hook.iter_catalogue(page_size=3)]
    assert ids == [0, 1, 2, 3, 4, 5]
    assert form_of(route.calls[0].request)["sortby"] == "4"
    assert form_of(route.calls[0].request)["condition"] == "4"  # product_id > 0


def test_iter_products_exact_multiple_stops_at_total(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(side_effect=catalogue(4))
        assert len(list(hook.iter_products({"field": 4, "condition": 4, "string": "0"}, page_size=2))) == 4
    assert route.call_count == 2  # no empty page is asked for


def test_iter_products_validates_at_call_time(hook: AltacolorHook) -> None:
    with pytest.raises(InvalidRequestError, match="page_size"):
        hook.iter_products({"field": 4, "condition": 4, "string": "0"}, page_size=500)
    with pytest.raises(InvalidRequestError) as info:
        hook.iter_products({"field": 4, "condition": 4, "string": "0"}, sort_by="colour")
    assert info.value.field == "sort_by"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_changed_products_adds_the_date_condition_and_keeps_the_wanted_ids(
    hook: AltacolorHook, mode: str
) -> None:
    query: dict[str, Any] = {
        "changed_after": "2026-01-01T12:00:00-05:00",
        "conditions": {"field": "supplier", "condition": "==", "value": "Wella"},
        "product_ids": [2, 5],
    }

    async def go() -> list[AltacolorProduct]:
        try:
            return await hook.achanged_products(**query)
        finally:
            await hook.aclose()

    with respx.mock() as mock:
        route = mock.post(FIND).mock(side_effect=catalogue(7))
        products = hook.changed_products(**query) if mode == "sync" else asyncio.run(go())
    assert [p.product_id for p in products] == [2, 5]
    form = form_of(route.calls[0].request)
    assert form["conditions[1][field]"] == "3"
    assert (form["conditions[2][field]"], form["conditions[2][condition]"]) == ("5", "4")
    assert form["conditions[2][date1]"] == "2026-01-01T17:00:00"  # UTC, as documented


def test_find_is_retried_as_a_read(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(side_effect=[httpx.Response(503), found([], 0)])
        hook.search_products({"field": 4, "condition": 4, "string": "0"})
    assert route.call_count == 2


def test_get_product_sends_credentials_in_the_query(hook: AltacolorHook) -> None:
    product = {"product_id": 234, "product_code": "A-1", "product_name": "Dye", "extra_field": {"kept": True}}
    with respx.mock() as mock:
        route = mock.get(GET).mock(
            return_value=httpx.Response(200, json={"response_status": SUCCESS, "product": product})
        )
        result = hook.get_product("234")
    assert result.product_name == "Dye"
    assert result.model_extra == {"extra_field": {"kept": True}}
    assert list(route.calls[0].request.url.params.multi_items()) == [
        ("id", "234"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ]


def test_get_product_not_found(hook: AltacolorHook) -> None:
    not_found = {
        "response_status": {"code": 40004, "severity": "WARNING", "description": "Product ID Not Found"}
    }
    with respx.mock() as mock:
        mock.get(GET).mock(
            side_effect=[
                httpx.Response(200, json=not_found),
                httpx.Response(200, json={"response_status": SUCCESS}),
            ]
        )
        with pytest.raises(AltacolorNotFoundError, match="Product ID Not Found") as info:
            hook.get_product(5)
        with pytest.raises(AltacolorNotFoundError, match="product 5 not found"):
            hook.get_product(5)
    assert (info.value.code, info.value.severity) == (40004, "WARNING")


def test_get_products_in_chunks_of_100(hook: AltacolorHook) -> None:
    ids = list(range(1, 251))

    def respond(request: httpx.Request) -> httpx.Response:
        wanted = [int(x) for x in request.url.params["ids"].split(",")]
        if wanted[0] == 101:  # the API knows none of these
            return httpx.Response(200, json={"response_status": {"code": 40004, "severity": "WARNING"}})
        # some unknown: 40004 with the products it found
        return httpx.Response(
            200,
            json={
                "response_status": {"code": 40004, "severity": "WARNING"},
                "products": [{"product_id": i} for i in wanted if i % 2],
            },
        )

    with respx.mock() as mock:
        route = mock.get(GET).mock(side_effect=respond)
        products = hook.get_products(ids)
    chunks = [c.request.url.params["ids"].split(",") for c in route.calls]
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert chunks[1][0] == "101"
    # unknown ids are left out, whether the chunk had some known ids or none
    assert [p.product_id for p in products] == [i for i in ids if i % 2 and not 101 <= i <= 200]
    with pytest.raises(InvalidRequestError, match=r"^product_ids\[1\]: "):
        hook.get_products([1, 0])
    assert hook.get_products([]) == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ({"code": 30001, "severity": "ERROR", "description": "Authentication failed"}, AltacolorAuthError),
        (
            {"code": 31000, "severity": "ERROR", "description": "API not enabled on your site"},
            AltacolorAuthError,
        ),
        (
            {"code": 50002, "severity": "ERROR", "description": "No conditions specified"},
            AltacolorValidationError,
        ),
        (
            {"code": 50004, "severity": "ERROR", "description": "Invalid limit or offset"},
            AltacolorValidationError,
        ),
    ],
)
def test_error_statuses(hook: AltacolorHook, status: dict[str, Any], cls: type[AltacolorAPIError]) -> None:
    with respx.mock() as mock:
        route = mock.post(FIND).mock(return_value=httpx.Response(200, json={"response_status": status}))
        with pytest.raises(cls) as info:
            hook.search_products({"field": 4, "condition": 4, "string": "0"})
    assert type(info.value) is cls
    assert info.value.code == status["code"]
    assert info.value.description == status["description"]
    assert route.call_count == 1  # API errors are answers, not retried


@pytest.mark.parametrize(
    "body",
    [
        {"response_status": SUCCESS, "products": "none", "total": 1},
        {"response_status": SUCCESS, "products": [{"product_id": "abc"}], "total": 1},
        {"response_status": SUCCESS, "products": [], "total": "lots"},
    ],
)
def test_malformed_search_results(hook: AltacolorHook, body: dict[str, Any]) -> None:
    with respx.mock() as mock:
        mock.post(FIND).mock(return_value=httpx.Response(200, json=body))
        with pytest.raises(MalformedResponseError):
            hook.search_products({"field": 4, "condition": 4, "string": "0"})


def test_malformed_page_while_iterating(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        mock.post(FIND).mock(
            return_value=httpx.Response(200, json={"response_status": SUCCESS, "products": {}})
        )
        with pytest.raises(MalformedResponseError, match="expected a list in 'products'"):
            list(hook.iter_products({"field": 4, "condition": 4, "string": "0"}))


def test_html_page_instead_of_json(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        mock.get(GET).mock(return_value=httpx.Response(200, text="<!DOCTYPE html><title>Store</title>"))
        with pytest.raises(MalformedResponseError, match=r"HTTP 200.*DOCTYPE"):
            hook.get_product(1)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"host": ""}, "host"), ({"login": ""}, "login"), ({"password": None}, "password")],
)
def test_incomplete_connections(
    connect: Callable[..., AltacolorHook], overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        connect(**overrides).get_conn()
    assert info.value.field == field


def test_host_without_scheme_and_trailing_slash(connect: Callable[..., AltacolorHook]) -> None:
    assert connect(host="one.store.example/").get_conn().config.base_url == "https://one.store.example"


def test_test_connection(hook: AltacolorHook) -> None:
    with respx.mock() as mock:
        route = mock.get(GET).mock(
            side_effect=[
                httpx.Response(200, json={"response_status": {"code": 40004, "severity": "WARNING"}}),
                httpx.Response(200, json={"response_status": SUCCESS, "product": {"product_id": 1}}),
                httpx.Response(
                    200,
                    json={
                        "response_status": {
                            "code": 30001,
                            "severity": "ERROR",
                            "description": "Authentication failed",
                        }
                    },
                ),
            ]
        )
        assert hook.test_connection()[0] is True
        assert hook.test_connection()[0] is True
        ok, message = hook.test_connection()
    assert ok is False
    assert "Authentication failed" in message
    assert PASSWORD not in message
    assert route.calls[0].request.method == "GET"


def test_password_absent_from_errors_logs_and_reprs(
    connect: Callable[..., AltacolorHook], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = connect(extra={"requests_per_second": 0, "requests_per_minute": 0, "max_retries": 1})
    errors: list[BaseException] = []
    with respx.mock() as mock:
        mock.get(GET).mock(side_effect=httpx.ConnectError(f"refused {PASSWORD}"))
        mock.post(FIND).mock(
            return_value=httpx.Response(
                200,
                json={
                    "response_status": {"code": 30001, "severity": "ERROR", "description": f"bad {PASSWORD}"}
                },
            )
        )
        with pytest.raises(TransportError) as transport:
            hook.get_product(1)
        errors.append(transport.value)
        with pytest.raises(AltacolorAuthError) as auth:
            hook.search_products({"field": 4, "condition": 4, "string": "0"})
        errors.append(auth.value)
    encoded = "alta%26pass%3DSECRET"
    for err in errors:
        for text in (str(err), repr(err), str(err.__cause__), repr(err.__dict__)):
            assert "SECRET" not in text
            assert encoded not in text
        assert "?" not in (err.url or "")  # no query string in the URL of an error
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET" not in logs
    core = hook.get_conn()
    for thing in (hook, core, core.config, core.dialect):
        assert "SECRET" not in repr(thing)
