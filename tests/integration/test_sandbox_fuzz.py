"""Bad input never breaks the sandbox: random queries and bodies get 2xx/4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from airflow_provider_altegio.sandbox.testing import SandboxInfo

pytestmark = pytest.mark.integration

LOCATION = 1001
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-01-01T12:00:00-0500",
            "9999-12-31T23:59:59-05:00",
            "0001-01-01 00:00:00",
            "2026-13-45",
            "99999999999999",
            "''",
            "1e400",
            "NaN",
            "+99:99",
            "10000005",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
operation_keys = st.sampled_from(
    [
        "type_id",
        "storage_id",
        "create_date",
        "comment",
        "master_id",
        "target_storage_id",
        "transactions",
        "goods_transactions",
        "paid",
        "account_id",
    ]
)
line_keys = st.sampled_from(
    [
        "good_id",
        "amount",
        "cost_per_unit",
        "discount",
        "cost",
        "operation_unit_type",
        "master_id",
        "client_id",
        "comment",
    ]
)
lines = st.lists(st.dictionaries(line_keys, values, max_size=6), max_size=3)
query_keys = st.sampled_from(
    [
        "page",
        "count",
        "term",
        "category_id",
        "changed_after",
        "changed_before",
        "start_date",
        "end_date",
        "document_id",
    ]
)
queries = st.dictionaries(query_keys, st.text(max_size=25), max_size=5)


@pytest.fixture
def api(altegio_sandbox_server: SandboxInfo) -> Iterator[httpx.Client]:
    with altegio_sandbox_server.altegio_client() as client:
        yield client
    altegio_sandbox_server.reset()


@pytest.fixture
def store(altegio_sandbox_server: SandboxInfo) -> Iterator[httpx.Client]:
    params = altegio_sandbox_server.altacolor_params()
    with httpx.Client(base_url=altegio_sandbox_server.altacolor_url, params=params) as client:
        yield client


def _no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body["success"], bool)
    if not body["success"]:
        assert body["data"] is None
        assert isinstance(body["meta"]["message"], str)


@FUZZ
@given(body=st.dictionaries(operation_keys, values, max_size=8), transactions=lines)
def test_storage_operation_bodies(api: httpx.Client, body: dict[str, Any], transactions: list[Any]) -> None:
    body.setdefault("goods_transactions", transactions)
    _no_server_error(api.post(f"/storage_operations/operation/{LOCATION}", json=body))


@FUZZ
@given(
    body=st.dictionaries(
        st.sampled_from(
            [
                "title",
                "category_id",
                "sale_unit_id",
                "service_unit_id",
                "cost",
                "unit_equals",
                "barcode",
                "correction_rules",
            ]
        ),
        values,
        max_size=6,
    )
)
def test_product_bodies(api: httpx.Client, body: dict[str, Any]) -> None:
    _no_server_error(api.post(f"/goods/{LOCATION}", json=body))
    _no_server_error(api.put(f"/goods/{LOCATION}/10000001", json=body))


@FUZZ
@given(
    params=queries,
    path=st.sampled_from(
        [
            "/goods/{loc}",
            "/storages/transactions/{loc}",
            "/goods/search/{loc}",
            "/goods/category_node/{loc}/101",
            "/goods_categories/multiple/{loc}",
        ]
    ),
)
@example(params={"ids": "1,\u00b3"}, path="/goods_categories/multiple/{loc}")  # "³": a digit int() refuses
@example(params={"changed_after": "9999-12-31T23:00:00-05:00"}, path="/goods/{loc}")  # past year 9999 in UTC
def test_query_strings(api: httpx.Client, params: dict[str, str], path: str) -> None:
    _no_server_error(api.get(path.format(loc=LOCATION), params=params))


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "field",
                "condition",
                "string",
                "date1",
                "date2",
                "limit",
                "offset",
                "sortby",
                "conditions[1][field]",
                "conditions[1][condition]",
                "conditions[2][date1]",
                "id",
                "ids",
            ]
        ),
        st.text(max_size=12),
        max_size=6,
    )
)
@example(form={"ids": "\u00b3"})  # found by this test: a Unicode digit int() refuses was a 500
@example(form={"field": "4", "condition": "1", "string": "\u00b3"})
def test_altacolor_forms(store: httpx.Client, form: dict[str, str]) -> None:
    for response in (
        store.post("/api/json/manage_products/find", data=form),
        store.get("/api/json/manage_products/get", params=form),
    ):
        assert response.status_code == 200
        assert response.json()["response_status"]["severity"] in ("SUCCESS", "WARNING", "ERROR")
