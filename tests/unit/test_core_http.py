"""The HTTP core's request flow: retries, Retry-After, idempotency, transport errors, paging.

Every behaviour is checked on both drivers (sync ``request`` and async ``arequest``), which share
one flow. Sleeps are recorded, never slept.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fakes import SleepRecorder

from airflow_provider_altegio.core.config import ConnectionConfig
from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect
from airflow_provider_altegio.core.http import HttpCore, public_url
from airflow_provider_altegio.core.paging import LimitOffsetPager, Listing, PageCountPager
from airflow_provider_altegio.core.retry import RetryPolicy
from airflow_provider_altegio.core.types import Payload, RequestSpec
from airflow_provider_altegio.exceptions import (
    AltegioAPIError,
    AltegioRateLimitError,
    AmbiguousWriteError,
    InvalidRequestError,
    MalformedResponseError,
    TransportError,
)

BASE = "https://api.example/api/v1"
PARTNER = "partner-token-SECRET"
USER = "user-token-SECRET"
OK = {"success": True, "data": {"id": 1}, "meta": []}


def make_core(
    *, max_retries: int = 3, jitter: float = 1.0, dialect: Any = None, wall_clock: float = 0.0
) -> tuple[HttpCore, SleepRecorder]:
    sleeps = SleepRecorder()
    policy = RetryPolicy(
        max_retries=max_retries, random=lambda: jitter, wall_clock=lambda: wall_clock, rate_limit_wait=120
    )
    core = HttpCore(
        ConnectionConfig(BASE, timeout=7.0),
        dialect or AltegioDialect(PARTNER, USER),
        retry=policy,
        sleep=sleeps,
        asleep=sleeps.asleep,
    )
    return core, sleeps


Send = Callable[..., Any]


def _spec(*args: Any, **kwargs: Any) -> tuple[RequestSpec, Any]:
    """The request and its parser from ``send``'s arguments (``read=`` is the parser)."""
    parse = kwargs.pop("read", lambda data: data)
    return RequestSpec(*args, **kwargs), parse


def _sync(core: HttpCore, *args: Any, **kwargs: Any) -> Any:
    return core.request(*_spec(*args, **kwargs))


def _async(core: HttpCore, *args: Any, **kwargs: Any) -> Any:
    async def go() -> Any:
        try:
            return await core.arequest(*_spec(*args, **kwargs))
        finally:
            await core.aclose()

    return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Send:
    """Run one request through the sync or the async driver."""
    return _sync if request.param == "sync" else _async


def test_request_shape_headers_timeout_and_params(send: Send) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(return_value=httpx.Response(200, json=OK))
        data = send(core, "GET", "/goods/1", params={"term": "x", "category_id": None, "page": 2})
    assert data == {"id": 1}
    request = route.calls.last.request
    assert request.headers["Accept"] == "application/vnd.api.v2+json"
    assert request.headers["Authorization"] == f"Bearer {PARTNER}, User {USER}"
    assert request.headers["User-Agent"].startswith("airflow-provider-altegio/")
    assert dict(request.url.params) == {"term": "x", "page": "2"}  # None dropped
    assert request.extensions["timeout"]["read"] == 7.0


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_with_full_jitter_backoff(send: Send, status: int) -> None:
    core, sleeps = make_core(max_retries=3, jitter=0.5)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(
            side_effect=[httpx.Response(status), httpx.Response(status), httpx.Response(200, json=OK)]
        )
        assert send(core, "GET", "/goods/1") == {"id": 1}
    assert route.call_count == 3
    # full jitter: uniform(0, base * 2**n); with random() = 0.5 that is half the ceiling
    assert sleeps.calls == [0.25, 0.5]


def test_retry_after_seconds_is_honoured(send: Send) -> None:
    core, sleeps = make_core()
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=OK)]
        )
        send(core, "GET", "/goods/1")
    assert sleeps.calls == [7.0]


def test_retry_after_http_date_is_honoured(send: Send) -> None:
    now = 1_800_000_000.0
    core, sleeps = make_core(wall_clock=now)
    when = email.utils.formatdate(now + 12, usegmt=True)
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(
            side_effect=[httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200, json=OK)]
        )
        send(core, "GET", "/goods/1")
    assert sleeps.calls == [pytest.approx(12.0)]


def test_retry_after_longer_than_we_block_gives_up_at_once(send: Send) -> None:
    core, sleeps = make_core()
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(
            return_value=httpx.Response(
                429,
                headers={"Retry-After": "3600"},
                json={"success": False, "meta": {"message": "Slow down"}},
            )
        )
        with pytest.raises(AltegioRateLimitError, match="Slow down"):
            send(core, "GET", "/goods/1")
    assert route.call_count == 1
    assert sleeps.calls == []


def test_429s_are_waited_out_for_rate_limit_wait_seconds_not_a_count_of_retries(send: Send) -> None:
    core, sleeps = make_core(max_retries=0)  # no retries for failures; 429 is not one
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(
            return_value=httpx.Response(429, headers={"Retry-After": "50"})
        )
        with pytest.raises(AltegioRateLimitError) as info:
            send(core, "GET", "/goods/1")
    # rate_limit_wait is 120 s: two waits of 50 s fit, a third would not.
    assert route.call_count == 3
    assert sleeps.calls == [50.0, 50.0]
    assert info.value.status_code == 429
    assert (core.waits.throttled, core.waits.throttled_seconds) == (2, 100.0)  # what lineage reports


def test_many_short_429s_are_all_waited_out(send: Send) -> None:
    core, sleeps = make_core(max_retries=1)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(
            side_effect=[
                *(httpx.Response(429, headers={"Retry-After": "1"}) for _ in range(12)),
                httpx.Response(200, json=OK),
            ]
        )
        send(core, "GET", "/goods/1")
    assert route.call_count == 13
    assert sleeps.calls == [1.0] * 12


def test_5xx_after_retries_spent_keeps_the_api_message(send: Send) -> None:
    core, _ = make_core(max_retries=1)
    body = {"success": False, "data": None, "meta": {"message": "Maintenance"}}
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(return_value=httpx.Response(503, json=body))
        with pytest.raises(AltegioAPIError, match="Maintenance") as info:
            send(core, "GET", "/goods/1")
    assert info.value.status_code == 503


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_is_not_repeated_on_5xx(send: Send, status: int) -> None:
    core, sleeps = make_core()
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/storage_operations/operation/1").mock(return_value=httpx.Response(status))
        with pytest.raises(AmbiguousWriteError, match="may have been applied") as info:
            send(core, "POST", "/storage_operations/operation/1", json={"x": 1})
    assert route.call_count == 1
    assert sleeps.calls == []
    assert info.value.status_code == status


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset")],
)
def test_post_is_not_repeated_after_it_may_have_been_sent(send: Send, error: Exception) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/goods/1").mock(side_effect=error)
        with pytest.raises(AmbiguousWriteError) as info:
            send(core, "POST", "/goods/1", json={"title": "x"})
    assert route.call_count == 1
    assert isinstance(info.value.__cause__, httpx.TransportError)


def test_post_is_repeated_on_429(send: Send) -> None:
    core, sleeps = make_core()
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/goods/1").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(201, json=OK)]
        )
        assert send(core, "POST", "/goods/1", json={"title": "x"}) == {"id": 1}
    assert route.call_count == 2
    assert sleeps.calls == [2.0]


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("connect"), httpx.PoolTimeout("pool")]
)
def test_post_is_repeated_when_it_certainly_was_not_sent(send: Send, error: Exception) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/goods/1").mock(side_effect=[error, httpx.Response(200, json=OK)])
        send(core, "POST", "/goods/1", json={"title": "x"})
    assert route.call_count == 2


def test_reads_sent_as_post_are_retried_when_marked_idempotent(send: Send) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/auth").mock(
            side_effect=[httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(200, json=OK)]
        )
        send(core, "POST", "/auth", json={"login": "a"}, idempotent=True)
    assert route.call_count == 3


def test_post_with_unreadable_success_body_is_ambiguous(send: Send) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        mock.post(f"{BASE}/goods/1").mock(return_value=httpx.Response(200, content=b'{"success": true, "da'))
        with pytest.raises(AmbiguousWriteError, match="not JSON") as info:
            send(core, "POST", "/goods/1", json={})
    assert isinstance(info.value.__cause__, MalformedResponseError)


def test_transport_errors_on_reads_are_retried_then_reported(send: Send) -> None:
    core, sleeps = make_core(max_retries=2)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(side_effect=httpx.ReadTimeout("timed out"))
        with pytest.raises(
            TransportError, match="ReadTimeout: timed out \\(gave up after 3 attempts\\)"
        ) as info:
            send(core, "GET", "/goods/1")
    assert route.call_count == 3
    assert len(sleeps.calls) == 2
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.url == f"{BASE}/goods/1"


def test_unsupported_protocol_is_not_retried(send: Send) -> None:
    sleeps = SleepRecorder()
    core = HttpCore(
        ConnectionConfig("ftp://files.example"), AltegioDialect(PARTNER), sleep=sleeps, asleep=sleeps.asleep
    )
    with pytest.raises(TransportError, match="UnsupportedProtocol"):
        send(core, "GET", "/x")
    assert sleeps.calls == []


def test_max_retries_zero_tries_once(send: Send) -> None:
    core, sleeps = make_core(max_retries=0)
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(return_value=httpx.Response(502))
        with pytest.raises(AltegioAPIError):
            send(core, "GET", "/goods/1")
    assert route.call_count == 1
    assert sleeps.calls == []


def test_backoff_ceiling_doubles_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=5.0, random=lambda: 1.0)
    assert [policy.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert RetryPolicy(random=lambda: 0.0).backoff(3) == 0.0
    assert policy.backoff(10_000) == 5.0


def test_retry_after_parsing() -> None:
    policy = RetryPolicy(wall_clock=lambda: 1_000_000.0)
    assert policy.retry_after("3") == 3.0
    assert policy.retry_after(" 1.5 ") == 1.5
    assert policy.retry_after("-4") == 0.0
    assert policy.retry_after(email.utils.formatdate(1_000_000.0 - 50, usegmt=True)) == 0.0
    for bad in (None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026"):
        assert policy.retry_after(bad) is None
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_logs_of_retries_carry_no_secret(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    dialect = AltacolorDialect("api-user", "alta-PASSWORD-secret")
    core, _ = make_core(dialect=dialect)
    caplog.set_level(logging.DEBUG, logger="airflow_provider_altegio")
    with respx.mock() as mock:
        mock.get(f"{BASE}/api/json/manage_products/get").mock(
            side_effect=[
                httpx.ReadTimeout("timed out"),
                httpx.Response(503, text="echo alta-PASSWORD-secret"),
                httpx.Response(200, json={"response_status": {"code": 10001, "severity": "SUCCESS"}}),
            ]
        )
        send(core, "GET", "/api/json/manage_products/get", params={"id": 5})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "retry 1 of 3" in text
    assert "manage_products/get" in text
    assert "alta-PASSWORD-secret" not in text
    assert "password=" not in text  # URLs in logs carry no query string


def test_public_url_drops_query_and_user_info() -> None:
    url = httpx.URL("https://user:pw@store.example:8443/api/json/x?username=u&password=p#frag")
    assert public_url(url) == "https://store.example:8443/api/json/x"


def test_repr_shows_no_secret() -> None:
    core, _ = make_core()
    text = repr(core) + repr(core.config) + repr(core.dialect)
    assert PARTNER not in text
    assert USER not in text
    assert "api.example" in repr(core)


# -- paging ------------------------------------------------------------------------------------


def _goods_pages(total: int, cap: int | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """Pages of ``total`` goods; with ``cap``, a larger ``count`` is silently served as ``cap``."""

    def respond(request: httpx.Request) -> httpx.Response:
        page, count = int(request.url.params["page"]), int(request.url.params["count"])
        count = min(count, cap or count)
        start = (page - 1) * count
        items = [{"good_id": i} for i in range(start, min(total, start + count))]
        return httpx.Response(200, json={"success": True, "data": items, "meta": []})

    return respond


def _collect_sync(core: HttpCore, pager: Any, method: str, path: str, **kwargs: Any) -> list[Any]:
    return list(core.iter_items(Listing(RequestSpec(method, path, **kwargs), pager)))


def _collect_async(core: HttpCore, pager: Any, method: str, path: str, **kwargs: Any) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return [
                item async for item in core.aiter_items(Listing(RequestSpec(method, path, **kwargs), pager))
            ]
        finally:
            await core.aclose()

    return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def collect(request: pytest.FixtureRequest) -> Callable[..., list[Any]]:
    return _collect_sync if request.param == "sync" else _collect_async


@pytest.mark.parametrize(("total", "requests"), [(7, 3), (6, 3), (0, 1), (2, 1)])
def test_page_count_pager_stops_at_first_short_page(
    collect: Callable[..., list[Any]], total: int, requests: int
) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(side_effect=_goods_pages(total))
        items = collect(core, PageCountPager(3), "GET", "/goods/1", params={"term": "a", "page": 99})
    assert [item["good_id"] for item in items] == list(range(total))
    assert route.call_count == requests
    first = route.calls[0].request.url.params
    assert (first["term"], first["page"], first["count"]) == ("a", "1", "3")  # pager owns page/count


@pytest.mark.parametrize(
    ("total", "cap", "requests"),
    [
        (60, None, 2),  # a short first page above 100 is confirmed by an empty second page
        (2500, None, 3),
        (2000, None, 3),
        (0, None, 1),
        (250, 100, 3),  # an API that serves 100 however many were asked: nothing is lost
        (200, 100, 3),
        (60, 100, 2),
    ],
)
def test_page_count_pager_walks_to_the_end_whatever_the_api_serves(
    collect: Callable[..., list[Any]], total: int, cap: int | None, requests: int
) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(side_effect=_goods_pages(total, cap))
        items = collect(core, PageCountPager(1000), "GET", "/goods/1")
    assert [item["good_id"] for item in items] == list(range(total))
    assert route.call_count == requests
    assert {call.request.url.params["count"] for call in route.calls} == {"1000"}


def test_limit_offset_pager_pages_until_total(collect: Callable[..., list[Any]]) -> None:
    core, _ = make_core(dialect=AltacolorDialect("api-user", "alta-password"))
    seen: list[dict[str, str]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        seen.append(form)
        offset, limit = int(form["offset"]), int(form["limit"])
        products = [{"product_id": i} for i in range(offset, min(5, offset + limit))]
        return httpx.Response(
            200,
            json={
                "response_status": {"code": 10001, "severity": "SUCCESS"},
                "products": products,
                "total": "5",
            },
        )

    with respx.mock() as mock:
        mock.post(f"{BASE}/api/json/manage_products/find").mock(side_effect=respond)
        items = collect(
            core,
            LimitOffsetPager(2),
            "POST",
            "/api/json/manage_products/find",
            data={"field": "4"},
            idempotent=True,
        )
    assert [item["product_id"] for item in items] == [0, 1, 2, 3, 4]
    assert [(f["limit"], f["offset"]) for f in seen] == [("2", "0"), ("2", "2"), ("2", "4")]
    assert all(f["field"] == "4" and f["username"] == "api-user" for f in seen)


def test_limit_offset_pager_without_total_stops_at_short_page() -> None:
    pager = LimitOffsetPager(2)
    page = pager.first()
    first_items, nxt = pager.advance(page, Payload({"products": [1, 2]}))
    assert first_items == [1, 2]
    assert nxt is not None
    assert nxt.fields == {"limit": 2, "offset": 2}
    assert pager.advance(nxt, Payload({"products": [3]})) == ([3], None)
    assert pager.advance(page, Payload({"products": [], "total": 10})) == ([], None)  # never loops


def test_pager_rejects_bad_sizes() -> None:
    with pytest.raises(InvalidRequestError, match="page_size"):
        PageCountPager(0)
    with pytest.raises(InvalidRequestError, match="page_size"):
        PageCountPager(1001)
    with pytest.raises(InvalidRequestError, match="page_size"):
        LimitOffsetPager(101)


def test_a_page_without_a_list_is_malformed(collect: Callable[..., list[Any]]) -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(
            return_value=httpx.Response(200, json={"success": True, "data": {"oops": 1}, "meta": []})
        )
        with pytest.raises(MalformedResponseError, match="expected a list in 'data', got dict") as info:
            collect(core, PageCountPager(3), "GET", "/goods/1")
    assert info.value.url == f"{BASE}/goods/1"


def test_async_client_follows_the_running_loop() -> None:
    core, _ = make_core()

    async def twice() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return await core.async_client(), await core.async_client()

    first, second = asyncio.run(twice())
    assert first is second  # persistent within a loop
    # a fresh loop gets a fresh client, and the old loop's client is closed, not dropped
    third = asyncio.run(core.async_client())
    assert third is not first
    assert first.is_closed
    asyncio.run(core.aclose())
    assert third.is_closed


def test_sync_client_is_persistent() -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(return_value=httpx.Response(200, json=OK))
        core.request(RequestSpec("GET", "/goods/1"))
        client = core.client
        core.request(RequestSpec("GET", "/goods/1"))
        assert core.client is client
    core.close()


def test_pages_are_asked_for_one_at_a_time_as_the_reader_goes() -> None:
    core, _ = make_core()
    with respx.mock() as mock:
        route = mock.get(f"{BASE}/goods/1").mock(side_effect=_goods_pages(25))
        items = core.iter_items(Listing(RequestSpec("GET", "/goods/1"), PageCountPager(10)))
        assert route.call_count == 0  # nothing is sent before the first item is wanted
        first_page = [next(items) for _ in range(10)]
        assert [item["good_id"] for item in first_page] == list(range(10))
        assert route.call_count == 1
        next(items)  # the eleventh item needs the second page
        assert route.call_count == 2
        items.close()  # a reader that walks away leaves no request behind
        assert route.call_count == 2
    core.close()


def test_a_bad_page_surfaces_after_the_good_pages() -> None:
    core, _ = make_core()
    good = {"success": True, "data": [{"good_id": 1}, {"good_id": 2}], "meta": []}
    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(
            side_effect=[httpx.Response(200, json=good), httpx.Response(200, text="<html>")]
        )
        items = core.iter_items(Listing(RequestSpec("GET", "/goods/1"), PageCountPager(2)))
        assert [next(items), next(items)] == good["data"]
        with pytest.raises(MalformedResponseError, match="not JSON"):
            next(items)
    core.close()


def test_items_are_parsed_as_they_are_consumed_and_a_refused_one_names_the_listing() -> None:
    core, _ = make_core()
    parsed: list[int] = []

    def parse(data: dict[str, Any]) -> int:
        if data["good_id"] == 3:
            raise ValueError("good_id 3 is not a product")
        parsed.append(data["good_id"])
        return int(data["good_id"])

    with respx.mock() as mock:
        mock.get(f"{BASE}/goods/1").mock(side_effect=_goods_pages(10))
        items = core.iter_items(Listing(RequestSpec("GET", "/goods/1"), PageCountPager(10)), parse)
        assert next(items) == 0
        assert parsed == [0]  # the rest of the page is not built before it is wanted
        assert [next(items), next(items)] == [1, 2]
        with pytest.raises(MalformedResponseError, match="good_id 3 is not a product") as caught:
            next(items)
        assert (caught.value.method, caught.value.url) == ("GET", f"{BASE}/goods/1")
    core.close()


@pytest.mark.parametrize("api", ["altegio", "altacolor"])
def test_a_server_that_ignores_paging_fails_instead_of_looping(
    collect: Callable[..., list[Any]], api: str
) -> None:
    calls: list[int] = []
    if api == "altegio":
        core, _ = make_core()
        pager: Any = PageCountPager(3)
        body: dict[str, Any] = {"success": True, "data": [{"good_id": i} for i in range(3)], "meta": []}
        method, path = "GET", "/goods/1"
    else:
        core, _ = make_core(dialect=AltacolorDialect("api-user", "alta-password"))
        pager = LimitOffsetPager(3)
        body = {
            "response_status": {"code": 10001, "severity": "SUCCESS"},
            "products": [{"product_id": i} for i in range(3)],
            "total": 1000,
        }
        method, path = "POST", "/api/json/manage_products/find"

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=body)  # the same first page, whatever was asked

    with respx.mock() as mock:
        mock.route(method=method, url=f"{BASE}{path}").mock(side_effect=respond)
        with pytest.raises(MalformedResponseError, match="page 2 repeats page 1: the server ignores") as info:
            collect(core, pager, method, path, idempotent=True)
    assert info.value.url == f"{BASE}{path}"
    assert len(calls) == 2
