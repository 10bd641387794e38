"""Reads under injected faults: they complete, or fail with a clear typed error once retries are spent.

Each test injects a fault on the sandbox's goods listing, reads the catalogue with
``AltegioHook.iter_products`` (pages of 100, so several requests), and checks the outcome, the
waits the core chose and the requests the sandbox actually received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_altegio.exceptions import (
    AltegioAPIError,
    AltegioRateLimitError,
    APIError,
    MalformedResponseError,
    TransportError,
)

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

pytestmark = pytest.mark.integration

GOODS = "/goods/*"


def read_ids(hook: AltegioHook, sandbox: Any) -> list[int]:
    return [p.good_id for p in hook.iter_products(sandbox.location_id, page_size=100)]


def goods_requests(sandbox: Any) -> list[dict[str, Any]]:
    return sandbox.requests("GET", GOODS)  # type: ignore[no-any-return]


@pytest.fixture
def catalogue(sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float]) -> list[int]:
    """Every product id of the first location, read without faults (then the log is cleared)."""
    ids = read_ids(connect(), sandbox)
    assert len(ids) > 200
    assert len(set(ids)) == len(ids)
    sandbox.clear_requests()
    waits.clear()
    return ids


def assert_clear(error: APIError, *, status: int | None, secrets: Any) -> None:
    """A clear error: says the method and URL, the status, and no secret."""
    text = str(error)
    assert error.method == "GET"
    assert error.url is not None
    assert "/goods/" in error.url
    if status is not None:
        assert error.status_code == status
        assert f"HTTP {status}" in text
    for secret in (secrets.partner_token, secrets.user_token):
        assert secret not in text
        assert secret not in repr(error)


# -- 429 storms -----------------------------------------------------------------------------------


def test_429_storm_with_retry_after_is_waited_out(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, status=429, retry_after=7, count=3)
    assert read_ids(connect(), sandbox) == catalogue
    assert waits == [7.0, 7.0, 7.0]  # exactly what the server asked for, not the backoff schedule
    statuses = [r["status"] for r in goods_requests(sandbox)]
    assert statuses[:4] == [429, 429, 429, 200]
    # Three refusals, the four pages, and at most the read-ahead's bet on a fifth.
    assert len(statuses) in (3 + 4, 3 + 4 + 1)


def test_429_storm_without_retry_after_backs_off_exponentially(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, status=429, count=3)
    assert read_ids(connect(), sandbox) == catalogue
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= 0.5 * 2**attempt  # full jitter under a doubling ceiling


def test_429_storm_outlasting_the_wait_budget_fails_clearly(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    """429s are waited out for ``rate_limit_wait`` seconds, whatever ``max_retries`` says."""
    sandbox.faults.add("GET", GOODS, status=429, retry_after=1, count=None)
    with pytest.raises(AltegioRateLimitError) as caught:
        read_ids(connect(max_retries=0, rate_limit_wait=7.5), sandbox)
    assert_clear(caught.value, status=429, secrets=sandbox)
    assert "Too many requests" in str(caught.value)
    assert len(goods_requests(sandbox)) == 8  # the first try and seven waits of 1 s, then no more
    assert waits == [1.0] * 7


def test_retry_after_longer_than_the_client_accepts_is_not_waited(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    """A server asking for an hour does not block a worker for an hour."""
    sandbox.faults.add("GET", GOODS, status=429, retry_after=3600, count=1)
    with pytest.raises(AltegioRateLimitError):
        read_ids(connect(), sandbox)
    assert waits == []


# -- 5xx bursts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_burst_is_retried(
    sandbox: Any,
    connect: Callable[..., AltegioHook],
    waits: list[float],
    catalogue: list[int],
    status: int,
) -> None:
    sandbox.faults.add("GET", GOODS, status=status, count=2)
    assert read_ids(connect(), sandbox) == catalogue
    assert len(waits) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_storm_fails_clearly_once_retries_are_spent(
    sandbox: Any,
    connect: Callable[..., AltegioHook],
    waits: list[float],
    catalogue: list[int],
    status: int,
) -> None:
    sandbox.faults.add("GET", GOODS, status=status, count=None, message="Upstream is down")
    with pytest.raises(AltegioAPIError) as caught:
        read_ids(connect(max_retries=2), sandbox)
    assert_clear(caught.value, status=status, secrets=sandbox)
    assert "Upstream is down" in str(caught.value)
    assert len(goods_requests(sandbox)) == 3


def test_500_is_final_not_retried(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, status=500, count=1, message="Internal error")
    with pytest.raises(AltegioAPIError) as caught:
        read_ids(connect(), sandbox)
    assert_clear(caught.value, status=500, secrets=sandbox)
    assert len(goods_requests(sandbox)) == 1
    assert waits == []


def test_fault_in_the_middle_of_the_catalogue_resumes_at_the_same_page(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    """Page 2 fails twice and page 3's connection drops: still every product exactly once."""
    sandbox.faults.add("GET", GOODS, status=503, skip=1, count=2)
    # Rules are consulted in order: the second one only sees requests the first let through.
    sandbox.faults.add("GET", GOODS, drop="before", skip=2, count=1)
    assert read_ids(connect(), sandbox) == catalogue
    pages = [dict(r["query"]).get("page") for r in goods_requests(sandbox)]
    # Then at most the read-ahead's bet on the page after the last (its answer is dropped).
    assert pages in (["1", "2", "2", "2", "3", "3", "4"], ["1", "2", "2", "2", "3", "3", "4", "5"])


# -- slow responses, dropped connections -----------------------------------------------------------


def test_slow_response_past_the_timeout_is_retried(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, delay=1.5, count=1)
    assert read_ids(connect(timeout=0.5), sandbox) == catalogue
    assert len(waits) == 1


def test_slow_responses_fail_with_a_transport_error_once_retries_are_spent(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, delay=1.0, count=None)
    with pytest.raises(TransportError) as caught:
        read_ids(connect(timeout=0.3, max_retries=1), sandbox)
    assert_clear(caught.value, status=None, secrets=sandbox)
    assert "Timeout" in str(caught.value)
    assert "2 attempts" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)


@pytest.mark.parametrize("when", ["before", "after"])
def test_dropped_connections_are_retried(
    sandbox: Any,
    connect: Callable[..., AltegioHook],
    waits: list[float],
    catalogue: list[int],
    when: str,
) -> None:
    sandbox.faults.add("GET", GOODS, drop=when, count=2)
    assert read_ids(connect(), sandbox) == catalogue
    assert len(waits) == 2


def test_connection_dropped_every_time_fails_clearly(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, drop="before", count=None)
    with pytest.raises(TransportError) as caught:
        read_ids(connect(max_retries=2), sandbox)
    assert_clear(caught.value, status=None, secrets=sandbox)
    assert "3 attempts" in str(caught.value)
    assert len(goods_requests(sandbox)) == 3


# -- bodies that are not the documented JSON --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "quoted"),
    [
        ("html", 200, "<!DOCTYPE html>"),
        ("malformed", 200, "<<sandbox: this is not JSON>>"),
        ("truncated", 200, '{"success"'),
        ("no_envelope", 200, '{"result"'),
        ("empty", 200, None),
    ],
)
def test_bodies_that_are_not_the_envelope_fail_clearly(
    sandbox: Any,
    connect: Callable[..., AltegioHook],
    catalogue: list[int],
    body: str,
    status: int,
    quoted: str | None,
) -> None:
    sandbox.faults.add("GET", GOODS, body=body, status=status, count=None)
    with pytest.raises(MalformedResponseError) as caught:
        read_ids(connect(max_retries=1), sandbox)
    assert_clear(caught.value, status=status, secrets=sandbox)
    if quoted is not None:
        assert quoted in str(caught.value)  # the first bytes of the body, for whoever debugs it


def test_html_error_page_from_a_proxy_is_retried_then_reported(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, body="html", status=502, count=1)
    assert read_ids(connect(), sandbox) == catalogue
    sandbox.reset()
    sandbox.faults.add("GET", GOODS, body="html", status=502, count=None, message="Bad Gateway")
    with pytest.raises(AltegioAPIError) as caught:
        read_ids(connect(max_retries=1), sandbox)
    assert_clear(caught.value, status=502, secrets=sandbox)
    assert "<!DOCTYPE html>" in str(caught.value)


def test_success_false_under_http_200_is_an_api_error(
    sandbox: Any, connect: Callable[..., AltegioHook], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, body="success_false", count=1, message="Partner token expired")
    with pytest.raises(AltegioAPIError) as caught:
        read_ids(connect(), sandbox)
    assert_clear(caught.value, status=200, secrets=sandbox)
    assert "Partner token expired" in str(caught.value)
    assert len(goods_requests(sandbox)) == 1  # a definite answer: not retried


# -- paging that the server ignores ---------------------------------------------------------------


def test_a_server_that_ignores_the_page_field_fails_instead_of_looping(
    sandbox: Any, connect: Callable[..., AltegioHook], catalogue: list[int]
) -> None:
    """Behind a proxy that strips ``page``, every request gets page 1: the walk must end."""
    sandbox.faults.add("GET", GOODS, ignore_params=["page"], count=None)
    with pytest.raises(MalformedResponseError, match="page 2 repeats page 1") as caught:
        read_ids(connect(), sandbox)
    assert_clear(caught.value, status=None, secrets=sandbox)
    assert "ignores the paging fields (count, page)" in str(caught.value)
    assert 2 <= len(goods_requests(sandbox)) <= 3  # pages 1 and 2, and at most the bet on page 3


@pytest.mark.asyncio
async def test_async_reads_refuse_a_repeated_page_too(
    sandbox: Any, connect: Callable[..., AltegioHook], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, ignore_params=["page"], count=None)
    hook = connect()
    try:
        with pytest.raises(MalformedResponseError, match="page 2 repeats page 1"):
            await _aread_ids(hook, sandbox)
    finally:
        await hook.aclose()
    assert len(goods_requests(sandbox)) == 2


# -- the async path (triggers) ---------------------------------------------------------------------


async def _aread_ids(hook: AltegioHook, sandbox: Any) -> list[int]:
    products = await hook.achanged_products("2000-01-01T00:00:00Z", sandbox.location_id)
    return [p.good_id for p in products]


@pytest.mark.asyncio
async def test_async_reads_ride_out_the_same_storms(
    sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, status=429, retry_after=2, count=2)
    sandbox.faults.add("GET", GOODS, status=503, count=1)
    sandbox.faults.add("GET", GOODS, drop="after", skip=1, count=1)
    hook = connect()
    try:
        assert await _aread_ids(hook, sandbox) == catalogue
    finally:
        await hook.aclose()
    assert waits[:2] == [2.0, 2.0]
    assert len(waits) == 4


@pytest.mark.asyncio
async def test_async_reads_fail_clearly_once_retries_are_spent(
    sandbox: Any, connect: Callable[..., AltegioHook], catalogue: list[int]
) -> None:
    sandbox.faults.add("GET", GOODS, status=503, count=None)
    hook = connect(max_retries=1)
    try:
        with pytest.raises(AltegioAPIError) as caught:
            await _aread_ids(hook, sandbox)
    finally:
        await hook.aclose()
    assert_clear(caught.value, status=503, secrets=sandbox)
