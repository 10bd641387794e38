"""Fault injection, rate limiting, reset and the control API of the sandbox."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

LOCATION = 1001
OPERATION = f"/storage_operations/operation/{LOCATION}"
RECEIPT = {
    "type_id": 3,
    "storage_id": 3101,
    "create_date": "2026-11-20 14:00:00",
    "comment": "delivery",
    "master_id": 990101,
    "goods_transactions": [{"good_id": 10000005, "amount": 4}],
}


def test_status_fault_with_retry_after_then_recovery(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    rule = altegio_sandbox.faults.add("GET", f"/goods/{LOCATION}", status=429, retry_after=7, count=2)
    assert rule["remaining"] == 2
    for _ in range(2):
        response = altegio_sandbox_client.get(f"/goods/{LOCATION}")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.json() == {"success": False, "data": None, "meta": {"message": "Too many requests"}}
    assert altegio_sandbox_client.get(f"/goods/{LOCATION}").status_code == 200
    (listed,) = altegio_sandbox.faults.list()
    assert (listed["applied"], listed["remaining"]) == (2, 0)


def test_status_fault_without_retry_after_on_a_write_applies_nothing(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    altegio_sandbox.faults.add("POST", "/storage_operations/*", status=503, message="maintenance")
    response = altegio_sandbox_client.post(OPERATION, json=RECEIPT)
    assert response.status_code == 503
    assert "Retry-After" not in response.headers
    assert response.json()["meta"]["message"] == "maintenance"
    assert altegio_sandbox.state()["documents"] == []


def test_skip_and_method_and_path_matching(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    altegio_sandbox.faults.add("GET", "/api/v1/goods/*/10000001", status=500, skip=1)
    api = altegio_sandbox_client
    assert api.get(f"/goods/{LOCATION}/10000001").status_code == 200  # skipped
    assert api.get(f"/goods/{LOCATION}/10000002").status_code == 200  # glob does not match
    assert api.put(f"/goods/{LOCATION}/10000001", json={}).status_code == 200  # other method
    assert api.get(f"/goods/{LOCATION}/10000001").status_code == 500
    assert api.get(f"/goods/{LOCATION}/10000001").status_code == 200  # count spent
    altegio_sandbox.faults.add("*", "/storages", status=502, count=None)  # prefix, every request
    assert api.get(f"/storages/{LOCATION}").status_code == 502
    assert api.get(f"/storages/transactions/{LOCATION}").status_code == 502
    assert api.get(f"/storage_operations/documents/{LOCATION}/1").status_code == 404  # not under /storages
    altegio_sandbox.faults.clear()
    assert api.get(f"/storages/{LOCATION}").status_code == 200


def test_delay(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    altegio_sandbox.faults.add("GET", "/storages", delay=0.3)
    started = time.monotonic()
    assert altegio_sandbox_client.get(f"/storages/{LOCATION}").status_code == 200
    assert time.monotonic() - started >= 0.3
    altegio_sandbox.faults.add("GET", "/storages", delay=0.6)
    with pytest.raises(httpx.ReadTimeout):
        altegio_sandbox_client.get(f"/storages/{LOCATION}", timeout=0.1)
    # The server still answers the abandoned request; let it finish before the next test.
    deadline = time.monotonic() + 10
    while any(r["status"] is None for r in altegio_sandbox.requests()) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_request_delayed_across_a_reset_never_reaches_the_fresh_sandbox(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    altegio_sandbox.faults.add("GET", "/storages", delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        altegio_sandbox_client.get(f"/storages/{LOCATION}", timeout=0.1)
    altegio_sandbox.reset()  # as the next test's fixture does
    altegio_sandbox.configure(rps=1, rpm=1)
    time.sleep(0.8)  # the abandoned request's delay ends
    assert altegio_sandbox.state()["rate_limited"] == 0
    assert altegio_sandbox_client.get(f"/storages/{LOCATION}").status_code == 200  # the budget is whole


@pytest.mark.parametrize(("drop", "documents"), [("before", 0), ("after", 1)])
def test_dropped_connection(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client, drop: str, documents: int
) -> None:
    altegio_sandbox.faults.add("POST", OPERATION, drop=drop)
    with pytest.raises(httpx.RemoteProtocolError):
        altegio_sandbox_client.post(OPERATION, json=RECEIPT)
    assert len(altegio_sandbox.state()["documents"]) == documents
    (logged,) = altegio_sandbox.requests(method="POST")
    assert logged["status"] == "dropped"
    assert altegio_sandbox_client.get(f"/storages/{LOCATION}").status_code == 200  # the server lives on


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        ("html", 502, "text/html"),
        ("malformed", 200, "text/plain"),
        ("success_false", 200, "application/json"),
        ("no_envelope", 200, "application/json"),
        ("empty", 200, "application/json"),
        ("truncated", 200, "application/json"),
    ],
)
def test_body_faults(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client, body: str, status: int, content_type: str
) -> None:
    altegio_sandbox.faults.add("GET", "/goods", body=body)
    response = altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"count": 3})
    assert response.status_code == status
    assert response.headers["content-type"].startswith(content_type)
    if body == "success_false":
        assert response.json()["success"] is False
    elif body == "no_envelope":
        assert "success" not in response.json()
    elif body in ("malformed", "truncated", "html", "empty"):
        with pytest.raises(ValueError):
            response.json()
    if body == "truncated":
        assert response.text.startswith('{"success":true')


def test_ignored_params_never_reach_the_api(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    altegio_sandbox.faults.add("GET", "/goods", ignore_params=["page"], count=None)
    first, second = (
        altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"page": page, "count": 2}).json()["data"]
        for page in (1, 2)
    )
    assert len(first) == 2
    assert second == first  # page 2 was answered as page 1; count still applied
    logged = altegio_sandbox.requests(method="GET")
    assert ["page", "2"] in logged[-1]["query"]  # the log shows what the client asked for


def test_truncated_write_is_applied(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    altegio_sandbox.faults.add("POST", OPERATION, body="truncated")
    response = altegio_sandbox_client.post(OPERATION, json=RECEIPT)
    with pytest.raises(ValueError):
        response.json()
    assert len(altegio_sandbox.state()["documents"]) == 1


def test_html_fault_with_status(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    altegio_sandbox.faults.add("GET", "/goods", body="html", status=504)
    response = altegio_sandbox_client.get(f"/goods/{LOCATION}")
    assert response.status_code == 504
    assert "<h1>504 Gateway Timeout</h1>" in response.text


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"path": "goods"}, "path"),
        ({"path": "/goods", "drop": "later"}, "drop"),
        ({"path": "/goods", "body": "weird"}, "body"),
        ({"path": "/goods"}, "status"),
        ({"path": "/goods", "status": 500, "count": 0}, "count"),
        ({"path": "/goods", "status": 500, "drop": "after"}, "drop"),
        ({"path": "/goods", "status": 500, "colour": "red"}, "colour"),
        ({"path": "/goods", "ignore_params": "page"}, "ignore_params"),
        ({"path": "/goods", "ignore_params": [""]}, "ignore_params"),
    ],
)
def test_bad_fault_specs_are_refused(altegio_sandbox: Any, spec: dict[str, Any], field: str) -> None:
    response = httpx.post(f"{altegio_sandbox.base_url}/_sandbox/faults", json={"method": "GET", **spec})
    assert response.status_code == 422
    assert response.json()["error"].startswith(field)
    assert altegio_sandbox.faults.list() == []


def test_reset_restores_the_seed(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    before = api.get(f"/goods/{LOCATION}/10000005").json()["data"]
    assert api.post(OPERATION, json=RECEIPT).status_code == 200
    assert api.put(f"/goods/{LOCATION}/10000005", json={"title": "changed"}).status_code == 200
    assert api.delete(f"/goods/{LOCATION}/10000006").status_code == 200
    altegio_sandbox.faults.add("GET", "/storages", status=500)
    altegio_sandbox.configure(allow_negative_stock=False)
    altegio_sandbox.reset()
    assert altegio_sandbox.requests() == []
    assert api.get(f"/goods/{LOCATION}/10000005").json()["data"] == before
    assert api.get(f"/goods/{LOCATION}/10000006").status_code == 200
    assert altegio_sandbox.faults.list() == []
    dump = altegio_sandbox.state()
    assert dump["documents"] == []
    assert dump["stock"] == {"1001": {}, "1002": {}, "1003": {}}
    assert dump["settings"]["allow_negative_stock"] is True


def test_state_filters(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    first = altegio_sandbox_client.post(OPERATION, json=RECEIPT).json()["data"]["document"]["id"]
    altegio_sandbox_client.post(OPERATION, json={**RECEIPT, "comment": "other"})
    assert [d["id"] for d in altegio_sandbox.state(document_id=first)["documents"]] == [first]
    assert len(altegio_sandbox.state(comment="other")["documents"]) == 1
    assert len(altegio_sandbox.state(location_id=1002)["documents"]) == 0
    assert len(altegio_sandbox.state(include_seeded=True)["documents"]) > 2
    stock = altegio_sandbox.state(location_id=1002, good_ids=[20000001])["stock"]
    assert list(stock) == ["1002"]
    assert set(stock["1002"]["20000001"]) == {"3201", "3202"}


def test_rate_limit_answers_429_with_retry_after(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    altegio_sandbox.configure(rps=3, rpm=5)
    statuses = [altegio_sandbox_client.get(f"/storages/{LOCATION}") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.json() == {"success": False, "data": None, "meta": {"message": "Too many requests."}}
    assert refused.headers["Retry-After"] == "1"
    time.sleep(1.05)
    assert [altegio_sandbox_client.get(f"/storages/{LOCATION}").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    per_minute = altegio_sandbox_client.get(f"/storages/{LOCATION}")
    assert int(per_minute.headers["Retry-After"]) > 50  # the per-minute window is full
    assert altegio_sandbox.state()["rate_limited"] == 3
    # Tokens are limited separately: the control API and Altacolor are never limited.
    assert httpx.get(f"{altegio_sandbox.base_url}/_sandbox/health").status_code == 200


@pytest.mark.parametrize(
    ("shift", "positions"),
    [
        (1, [0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]),  # the last row of a page comes again
        (-1, [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13]),  # a row at each boundary is never served
    ],
)
def test_shift_rows_moves_page_boundaries(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client, shift: int, positions: list[int]
) -> None:
    """Rows come twice, or never, at page boundaries, as a live client saw on date-filtered
    listings while rows changed under its walk."""
    listing = f"/goods/{LOCATION}"
    whole = [p["good_id"] for p in altegio_sandbox_client.get(listing, params={"count": 16}).json()["data"]]
    altegio_sandbox.faults.add("GET", listing, shift_rows=shift, count=None)
    walked = []
    for page in (1, 2, 3):
        data = altegio_sandbox_client.get(listing, params={"count": 4, "page": page}).json()["data"]
        walked += [p["good_id"] for p in data]
    assert walked == [whole[i] for i in positions]


def test_catalogue_reads_count_each_product_once_when_rows_repeat(altegio_sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook(page_size=7) as hook:
        products = [p.good_id for p in hook.iter_products(LOCATION)]
        transactions = [t.id for t in hook.iter_transactions(LOCATION)]
        altegio_sandbox.faults.add("GET", f"/goods/{LOCATION}", shift_rows=2, count=None)
        altegio_sandbox.faults.add("GET", f"/storages/transactions/{LOCATION}", shift_rows=2, count=None)
        assert [p.good_id for p in hook.iter_products(LOCATION)] == products
        assert [t.id for t in hook.iter_transactions(LOCATION)] == transactions
    assert len(transactions) > 7  # the walks crossed page boundaries
