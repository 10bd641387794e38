"""Property-based: whatever a server answers, the hooks raise a clear typed error, never a crash.

Hypothesis generates response bodies (any JSON, envelopes carrying wrong types, objects with the
right field names and random values, HTML pages, binary junk, truncated JSON) and statuses, and
every hook method reads them through an ``httpx.MockTransport``. Each call must either return
its models or raise an :class:`~airflow_provider_altegio.exceptions.APIError` (malformed
response, API error, ambiguous write): an ``AttributeError``, ``KeyError``, ``TypeError``,
``IndexError`` or pydantic ``ValidationError`` from deep inside is a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_connections import define_connections

from airflow_provider_altegio.exceptions import APIError
from airflow_provider_altegio.hooks.altacolor import AltacolorHook
from airflow_provider_altegio.hooks.altegio import AltegioHook
from airflow_provider_altegio.models.altacolor import AltacolorProduct
from airflow_provider_altegio.models.altegio import Category, Product, StorageDocument, Transaction

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "0", "1.5", "abc", "2026-01-01 10:00:00", "0000-00-00 00:00:00", "[]", "{}"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def shaped(model: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the model's own field names (and aliases) holding random values."""
    names = sorted(
        {info.alias or name for name, info in model.model_fields.items()} | set(model.model_fields)
    )
    return st.dictionaries(st.sampled_from(names), json_values, max_size=8)


def envelopes(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Altegio envelopes, right and wrong: random success/data/meta, lists of shaped items."""
    return st.one_of(
        st.fixed_dictionaries(
            {"success": st.just(True), "data": st.lists(items, max_size=3), "meta": json_values}
        ),
        st.fixed_dictionaries({"success": st.just(True), "data": items, "meta": json_values}),
        st.fixed_dictionaries({"success": json_values, "data": json_values, "meta": json_values}),
        st.dictionaries(st.sampled_from(["success", "data", "meta", "errors", "message"]), json_values),
        json_values,
    )


def altacolor_bodies(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    status = st.fixed_dictionaries(
        {
            "code": st.one_of(st.sampled_from([10001, 30001, 31000, 40004, 50002, 50005]), json_values),
            "severity": st.one_of(st.sampled_from(["SUCCESS", "WARNING", "ERROR"]), json_values),
            "description": json_values,
        }
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"response_status": status, "products": st.lists(items, max_size=3), "total": json_values}
        ),
        st.fixed_dictionaries({"response_status": status, "product": items}),
        st.dictionaries(st.sampled_from(["response_status", "products", "product", "total"]), json_values),
        json_values,
    )


def raw(bodies: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Bodies as bytes: JSON, truncated JSON, HTML, binary junk."""
    as_json = bodies.map(lambda b: json.dumps(b).encode())
    return st.one_of(
        as_json,
        st.tuples(as_json, st.floats(0.1, 0.9)).map(lambda t: t[0][: max(1, int(len(t[0]) * t[1]))]),
        st.just(b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"),
        st.binary(max_size=40),
    )


answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 400, 401, 403, 404, 422, 429, 500, 502]), st.binary()
)


class Server:
    """The mock server: the first request of a call gets the generated answer; later requests
    (further pages) get an empty last page, so a walk always ends."""

    def __init__(self, end: bytes) -> None:
        self.answer: tuple[int, bytes] = (200, end)
        self.end = end
        self.fresh = True

    def set(self, status: int, body: bytes) -> None:
        self.answer, self.fresh = (status, body), True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer if self.fresh else (200, self.end)
        self.fresh = False
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def connections() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        define_connections(
            patch,
            "MOCK",
            altegio_host="http://altegio.test/api/v1",
            altacolor_host="http://altacolor.test",
            tokens=("p-responses-token", "u-responses-token"),
            credentials=("api", "api-password-responses"),
        )
        yield


@pytest.fixture
def server(core_options: Any) -> Server:
    """The one answer every hook built in the test gets, whatever it asks."""
    answering = Server(b"")
    core_options(transport=httpx.MockTransport(answering), async_transport=httpx.MockTransport(answering))
    return answering


def _altegio() -> AltegioHook:
    return AltegioHook("altegio_mock", page_size=1000)


def _altacolor() -> AltacolorHook:
    return AltacolorHook("altacolor_mock")


_OPERATION = {
    "type_id": "receipt",
    "storage_id": 3,
    "create_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "master_id": 5,
    "transactions": [{"good_id": 1, "amount": 1}],
}
_CONDITIONS = [{"field": "product_id", "condition": ">", "value": "0"}]


ALTEGIO_CALLS: dict[str, tuple[Callable[[AltegioHook], Any], type[Any]]] = {
    "iter_products": (lambda h: list(h.iter_products(1)), Product),
    "achanged_products": (lambda h: asyncio.run(h.achanged_products("2026-01-01", 1)), Product),
    "get_product": (lambda h: h.get_product(5, 1), Product),
    "create_product": (
        lambda h: h.create_product(
            {"title": "T", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1}, 1
        ),
        Product,
    ),
    "update_product": (lambda h: h.update_product(5, {"title": "T"}, 1), Product),
    "delete_product": (lambda h: h.delete_product(5, 1), Product),
    "search_goods": (lambda h: h.search_goods("x", location_id=1), Product),
    "list_categories": (lambda h: h.list_categories(0, 1), Category),
    "get_categories": (lambda h: h.get_categories([1, 2], 1), Category),
    "get_category_node": (lambda h: h.get_category_node(3, 1), Category),
    "create_category": (lambda h: h.create_category({"title": "C"}, 1), Category),
    "list_storages": (lambda h: h.list_storages(1), Category),
    "iter_transactions": (lambda h: list(h.iter_transactions(1)), Transaction),
    "create_storage_operation": (lambda h: h.create_storage_operation(_OPERATION, 1), StorageDocument),
    "get_storage_document": (lambda h: h.get_storage_document(7, 1), StorageDocument),
    "list_document_transactions": (lambda h: h.list_document_transactions(7), Transaction),
}

ALTACOLOR_CALLS: dict[str, Callable[[AltacolorHook], Any]] = {
    "search_products": lambda h: h.search_products(_CONDITIONS, limit=10),
    "iter_products": lambda h: list(h.iter_products(_CONDITIONS)),
    "achanged_products": lambda h: asyncio.run(h.achanged_products("2026-01-01", conditions=_CONDITIONS)),
    "get_product": lambda h: h.get_product(5),
    "get_products": lambda h: h.get_products([5, 6]),
}


def _survives(call: Callable[[], Any]) -> None:
    """Run ``call``: a result or an APIError with a message pass; anything else propagates."""
    error: APIError | None = None
    try:
        call()
    except APIError as exc:
        error = exc
    if error is not None:
        assert str(error), "an error without a message"
        assert error.url is None or "?" not in error.url  # never the query (Altacolor password)


def _survives_every_answer(
    server: Server, call: Callable[[], object], bodies: st.SearchStrategy[tuple[int, bytes]]
) -> None:
    """``call`` survives (see :func:`_survives`) whatever ``server`` answers: ``bodies`` or any
    of the generic ``answers``."""

    @EXAMPLES
    @given(answer=st.one_of(bodies, answers))
    def check(answer: tuple[int, bytes]) -> None:
        server.set(*answer)
        _survives(call)

    check()


@pytest.mark.parametrize("name", sorted(ALTEGIO_CALLS))
def test_altegio_hook_reads_any_answer_without_crashing(connections: None, server: Server, name: str) -> None:
    call, model = ALTEGIO_CALLS[name]
    server.end = json.dumps({"success": True, "data": [], "meta": []}).encode()
    hook = _altegio()
    bodies = st.tuples(st.sampled_from([200, 200, 201, 400, 404, 422, 500]), raw(envelopes(shaped(model))))
    _survives_every_answer(server, lambda: call(hook), bodies)


@pytest.mark.parametrize("name", sorted(ALTACOLOR_CALLS))
def test_altacolor_hook_reads_any_answer_without_crashing(
    connections: None, server: Server, name: str
) -> None:
    call = ALTACOLOR_CALLS[name]
    end = {"response_status": {"code": 10001, "severity": "SUCCESS", "description": "ok"}, "products": []}
    server.end = json.dumps({**end, "total": 0}).encode()
    hook = _altacolor()
    bodies = st.tuples(st.sampled_from([200, 200, 400, 500]), raw(altacolor_bodies(shaped(AltacolorProduct))))
    _survives_every_answer(server, lambda: call(hook), bodies)


def test_test_connection_reports_any_answer_as_a_message(connections: None, server: Server) -> None:
    hooks = [_altegio(), _altacolor()]

    @EXAMPLES
    @given(answer=answers)
    def check(answer: tuple[int, bytes]) -> None:
        server.set(*answer)
        for hook in hooks:
            ok, message = hook.test_connection()
            assert isinstance(ok, bool)
            assert isinstance(message, str)

    check()
