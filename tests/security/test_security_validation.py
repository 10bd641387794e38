"""Property-based: malformed input to any operator or sensor is refused, by name, before any request.

For every operator and sensor, one input at a time is replaced by a value Hypothesis generates
from a family of bad values (junk text, out-of-range numbers, wrong types, broken nested
structures), everything else being valid. ``execute`` must raise :class:`InvalidRequestError`
(a ``ValueError``) whose ``field`` names that input (``transactions[2].amount`` names
``transactions``) and whose message starts with the field; and no HTTP request may leave the
process: every httpx transport is replaced by one that records the call and fails the test.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_connections import define_connections

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.operators import products, storage
from airflow_provider_altegio.sensors import products as sensors

EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- families of bad values -------------------------------------------------------------------------

_BLANKS = {"", "none", "nan", "inf", "infinity", "null"}
junk_text = st.text(alphabet=string.ascii_letters + " -._/:#", min_size=1, max_size=16).filter(
    lambda s: any(c.isalpha() for c in s) and s.strip().lower() not in _BLANKS
)


def _not_a_name(names: Iterable[str]) -> Callable[[str], bool]:
    """Junk text that is not, once normalised as the models read names, one of ``names``."""
    known = set(names)
    return lambda s: s.strip().lower().replace("-", "_").replace(" ", "_") not in known


containers = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=3), st.dictionaries(junk_text, st.integers(), max_size=2)
)
bad_number = st.one_of(
    st.integers(max_value=0), st.floats(max_value=0, allow_nan=False), st.just(float("nan")), junk_text
)
not_whole = st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not f.is_integer())


def bad_id(minimum: int = 1) -> st.SearchStrategy[Any]:
    """Anything that is not a whole number >= ``minimum``."""
    return st.one_of(
        st.integers(max_value=minimum - 1),
        not_whole,
        st.sampled_from([float("inf"), float("-inf")]),
        st.booleans(),
        junk_text,
        containers,
    )


missing = st.sampled_from([None, "", "  ", "None"])
bad_date = st.one_of(
    junk_text,
    st.integers(),
    containers,
    st.builds(
        "{:04d}-{:02d}-{:02d}".format, st.integers(2000, 2030), st.integers(13, 99), st.integers(1, 28)
    ),
    st.builds("2026-02-{:02d}T10:00:00".format, st.integers(30, 99)),
)
bad_page_size = st.one_of(st.integers(max_value=0), st.integers(min_value=1001), junk_text, not_whole)
bad_int_list = st.one_of(
    st.lists(st.one_of(junk_text, st.integers(max_value=0)), min_size=1, max_size=3),
    junk_text.map(lambda s: f"1,{s}"),
    st.dictionaries(junk_text, st.integers(), min_size=1, max_size=2),
)

_GOOD_LINE = {"good_id": 10000001, "amount": 2, "cost_per_unit": 1.5}
bad_line = st.one_of(
    st.integers(),
    junk_text,
    bad_id().map(lambda v: {**_GOOD_LINE, "good_id": v}),
    bad_number.map(lambda v: {**_GOOD_LINE, "amount": v}),
    st.floats(min_value=100.01, max_value=1e6).map(lambda v: {**_GOOD_LINE, "discount": v}),
    st.floats(max_value=-0.01, allow_nan=False).map(lambda v: {**_GOOD_LINE, "cost_per_unit": v}),
    st.integers().filter(lambda v: v not in (1, 2)).map(lambda v: {**_GOOD_LINE, "operation_unit_type": v}),
    st.sampled_from(["good_id", "amount"]).map(lambda k: {x: y for x, y in _GOOD_LINE.items() if x != k}),
    junk_text.filter(lambda k: k not in _GOOD_LINE).map(lambda k: {**_GOOD_LINE, k: 1}),
)
bad_transactions = st.one_of(
    st.just([]),
    st.integers(),
    st.dictionaries(junk_text, st.integers(), max_size=2),
    junk_text,
    st.lists(bad_line, min_size=1, max_size=2).map(lambda lines: [_GOOD_LINE, *lines]),
    st.lists(bad_line, min_size=1, max_size=2).map(json.dumps),  # as a rendered template
)
_TYPE_NAMES = {"sale", "usage", "receipt", "write_off", "write-off", "writeoff", "transfer", "writeOff"}
bad_operation_type = st.one_of(
    junk_text.filter(_not_a_name({n.lower().replace("-", "_") for n in _TYPE_NAMES})),
    st.integers().filter(lambda v: not 1 <= v <= 5),
    st.integers(6, 99).map(str),
    not_whole,
    containers,
)

_GOOD_PRODUCT = {"title": "Shampoo", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1}
bad_product = st.one_of(
    st.integers(),
    junk_text,
    st.sampled_from(sorted(_GOOD_PRODUCT)).map(lambda k: {x: y for x, y in _GOOD_PRODUCT.items() if x != k}),
    st.tuples(st.sampled_from(["category_id", "sale_unit_id", "service_unit_id"]), bad_id()).map(
        lambda kv: {**_GOOD_PRODUCT, kv[0]: kv[1]}
    ),
    containers.map(lambda v: {**_GOOD_PRODUCT, "title": v}),
    junk_text.filter(lambda k: k not in _GOOD_PRODUCT).map(lambda k: {**_GOOD_PRODUCT, f"x_{k}": 1}),
)
bad_changes = st.one_of(
    st.integers(),
    junk_text,
    junk_text.map(lambda k: {f"x_{k}": 1}),
    bad_id().map(lambda v: {"category_id": v}),
    containers.map(lambda v: {"title": v}),
)
bad_category = st.one_of(
    st.integers(),
    junk_text,
    st.just({"comment": "no title"}),
    containers.map(lambda v: {"title": v}),
    bad_id(minimum=0).map(lambda v: {"title": "Hair", "parent_category_id": v}),
    junk_text.map(lambda k: {"title": "Hair", f"x_{k}": 1}),
)
_CONDITION = {"field": "product_code", "condition": "==", "value": "A-1"}


_FIELD_WORDS = {"product_code", "code", "product_name", "name", "supplier", "product_supplier"}
_FIELD_WORDS |= {"product_id", "id", "date_modified", "modified"}
_CONDITION_WORDS = {"eq", "ne", "lt", "gt", "le", "lte", "ge", "gte", "between"}
bad_condition = st.one_of(
    st.integers(),
    junk_text.filter(_not_a_name(_FIELD_WORDS)).map(lambda f: {**_CONDITION, "field": f}),
    junk_text.filter(_not_a_name(_CONDITION_WORDS)).map(lambda c: {**_CONDITION, "condition": c}),
    st.just({"field": "product_code", "condition": "=="}),
    st.just({"field": "date_modified", "condition": "between", "value": "2026-01-01T00:00:00"}),
    st.just({"field": "product_name", "condition": "between", "value": ["a", "b"]}),
    bad_date.map(lambda d: {"field": "date_modified", "condition": ">", "value": d}),
    st.integers()
    .filter(lambda v: not 1 <= v <= 7)
    .map(lambda c: {"field": 1, "condition": c, "string": "x"}),
)
bad_conditions = st.one_of(
    st.integers(),
    junk_text,
    bad_condition.filter(lambda c: isinstance(c, dict)),
    st.lists(bad_condition, min_size=1, max_size=2).map(lambda cs: [_CONDITION, *cs]),
)
bad_sort_by = st.one_of(
    st.integers().filter(lambda v: not 1 <= v <= 6),
    junk_text.filter(_not_a_name(_FIELD_WORDS | {"sort_position", "position"})),
    containers,
)


# -- the operators, each with valid inputs to start from ---------------------------------------------

LOCATION = 1001
CHANGED = "2026-01-01T00:00:00+00:00"
OPERATORS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "SearchProducts": (products.SearchProductsOperator, {"location_id": LOCATION}),
    "AltacolorSearchProducts": (products.AltacolorSearchProductsOperator, {"conditions": [_CONDITION]}),
    "GetProduct": (products.GetProductOperator, {"product_id": 5, "location_id": LOCATION}),
    "CreateProduct": (products.CreateProductOperator, {"product": _GOOD_PRODUCT, "location_id": LOCATION}),
    "UpdateProduct": (
        products.UpdateProductOperator,
        {"product_id": 5, "changes": {"title": "New"}, "location_id": LOCATION},
    ),
    "DeleteProduct": (products.DeleteProductOperator, {"product_id": 5, "location_id": LOCATION}),
    "ListProductCategories": (products.ListProductCategoriesOperator, {"location_id": LOCATION}),
    "CreateProductCategory": (
        products.CreateProductCategoryOperator,
        {"category": {"title": "Hair"}, "location_id": LOCATION},
    ),
    "UpdateProductCategory": (
        products.UpdateProductCategoryOperator,
        {"category_id": 3, "changes": {"title": "Hair"}, "location_id": LOCATION},
    ),
    "DeleteProductCategory": (
        products.DeleteProductCategoryOperator,
        {"category_id": 3, "location_id": LOCATION},
    ),
    "CreateStorageOperation": (
        storage.CreateStorageOperationOperator,
        {
            "operation_type": "receipt",
            "storage_id": 3101,
            "transactions": [_GOOD_LINE],
            "master_id": 990101,
            "location_id": LOCATION,
        },
    ),
    "ListStorages": (storage.ListStoragesOperator, {"location_id": LOCATION}),
    "ListStorageTransactions": (storage.ListStorageTransactionsOperator, {"location_id": LOCATION}),
    "WaitForProductChange": (
        sensors.WaitForProductChangeSensor,
        {"location_id": LOCATION, "changed_after": CHANGED, "deferrable": True},
    ),
    "AltacolorWaitForProductChange": (
        sensors.AltacolorWaitForProductChangeSensor,
        {"changed_after": CHANGED, "deferrable": True},
    ),
}

# (operator, input, bad values, the field the error must name)
CASES = [
    ("SearchProducts", "location_id", bad_id(), "location_id"),
    ("SearchProducts", "category_id", bad_id(), "category_id"),
    ("SearchProducts", "changed_after", bad_date, "changed_after"),
    ("SearchProducts", "changed_before", bad_date, "changed_before"),
    ("SearchProducts", "page_size", bad_page_size, "page_size"),
    ("AltacolorSearchProducts", "conditions", bad_conditions, "conditions"),
    ("AltacolorSearchProducts", "sort_by", bad_sort_by, "sort_by"),
    ("AltacolorSearchProducts", "page_size", st.integers(min_value=101), "page_size"),
    ("GetProduct", "product_id", st.one_of(bad_id(), missing), "product_id"),
    ("GetProduct", "location_id", bad_id(), "location_id"),
    ("CreateProduct", "product", bad_product, "product"),
    ("CreateProduct", "location_id", bad_id(), "location_id"),
    ("UpdateProduct", "product_id", st.one_of(bad_id(), missing), "product_id"),
    ("UpdateProduct", "changes", bad_changes, "changes"),
    ("DeleteProduct", "product_id", st.one_of(bad_id(), missing), "product_id"),
    ("ListProductCategories", "parent_category_id", bad_id(minimum=0), "parent_category_id"),
    ("CreateProductCategory", "category", bad_category, "category"),
    ("UpdateProductCategory", "category_id", st.one_of(bad_id(), missing), "category_id"),
    ("UpdateProductCategory", "changes", bad_changes, "changes"),
    ("DeleteProductCategory", "category_id", st.one_of(bad_id(), missing), "category_id"),
    ("CreateStorageOperation", "operation_type", bad_operation_type, "operation_type"),
    ("CreateStorageOperation", "storage_id", st.one_of(bad_id(), missing), "storage_id"),
    ("CreateStorageOperation", "transactions", bad_transactions, "transactions"),
    ("CreateStorageOperation", "create_date", bad_date, "create_date"),
    ("CreateStorageOperation", "master_id", bad_id(minimum=0), "master_id"),
    ("CreateStorageOperation", "target_storage_id", st.integers(1, 10**6), "target_storage_id"),
    ("CreateStorageOperation", "location_id", bad_id(), "location_id"),
    ("ListStorages", "location_id", bad_id(), "location_id"),
    ("ListStorageTransactions", "date_from", bad_date, "date_from"),
    ("ListStorageTransactions", "date_to", bad_date, "date_to"),
    ("ListStorageTransactions", "document_id", bad_id(), "document_id"),
    ("ListStorageTransactions", "changed_after", bad_date, "changed_after"),
    ("ListStorageTransactions", "page_size", bad_page_size, "page_size"),
    ("WaitForProductChange", "location_id", bad_id(), "location_id"),
    ("WaitForProductChange", "changed_after", bad_date, "changed_after"),
    ("WaitForProductChange", "product_ids", bad_int_list, "product_ids"),
    ("WaitForProductChange", "category_id", bad_id(), "category_id"),
    ("AltacolorWaitForProductChange", "changed_after", bad_date, "changed_after"),
    ("AltacolorWaitForProductChange", "product_ids", bad_int_list, "product_ids"),
    ("AltacolorWaitForProductChange", "conditions", bad_conditions, "conditions"),
]


# -- no request may leave ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sent() -> Iterator[list[str]]:
    """Replace every httpx transport with one that records the request and fails the test."""
    calls: list[str] = []

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        raise AssertionError(f"a request was sent for invalid input: {request.method} {request.url.path}")

    async def arefuse(self: Any, request: httpx.Request) -> httpx.Response:
        return refuse(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.HTTPTransport, "handle_request", refuse)
        patch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", arefuse)
        # No client-side limit: a request that slips through must fail the test at once, not wait
        # for a rate-limit slot.
        define_connections(
            patch,
            "DEFAULT",
            altegio_host="http://127.0.0.1:9/api/v1",
            altacolor_host="http://127.0.0.1:9",
            tokens=("p-validation-token", "u-validation-token"),
            credentials=("u", "pw"),
        )
        yield calls


def _context(task_id: str) -> dict[str, Any]:
    now = datetime.now(tz=timezone.utc)
    ti = SimpleNamespace(dag_id="validation", run_id="manual__x", task_id=task_id, map_index=-1, try_number=1)
    dag_run = SimpleNamespace(run_after=now, start_date=now, queued_at=now, logical_date=now)
    return {
        "ti": ti,
        "dag_run": dag_run,
        "logical_date": now,
        "data_interval_start": now,
        "outlet_events": {},
    }


def test_valid_inputs_get_as_far_as_the_network(sent: list[str]) -> None:
    """The baselines are valid: each operator reaches the (refusing) transport."""
    for name, (operator, kwargs) in OPERATORS.items():
        sent.clear()
        task = operator(task_id=f"valid_{name}", **kwargs)
        with pytest.raises(Exception) as caught:
            task.execute(_context(task.task_id))
        assert sent, f"{name}: {caught.value!r}"
        assert not isinstance(caught.value, InvalidRequestError), name
    sent.clear()


@pytest.mark.parametrize(
    ("operator_name", "argument", "values", "field"),
    CASES,
    ids=[f"{case[0]}-{case[1]}" for case in CASES],
)
def test_malformed_input_is_refused_by_name_before_any_request(
    sent: list[str], operator_name: str, argument: str, values: st.SearchStrategy[Any], field: str
) -> None:
    operator, kwargs = OPERATORS[operator_name]

    @EXAMPLES
    @given(bad=values)
    def check(bad: Any) -> None:
        sent.clear()
        task = operator(task_id=f"bad_{operator_name}", **{**kwargs, argument: bad})
        with pytest.raises(InvalidRequestError) as caught:
            task.execute(_context(task.task_id))
        error = caught.value
        assert isinstance(error, ValueError)
        assert error.field.split("[")[0].split(".")[0] == field, f"{bad!r} -> {error}"
        assert str(error).startswith(error.field)
        assert sent == [], f"{bad!r} reached the network"

    check()
