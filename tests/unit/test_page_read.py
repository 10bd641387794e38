"""The one-pass page read gives exactly the models of the general path, or stands aside.

A listing page is read straight from the body bytes into models
(:func:`~airflow_provider_altegio.core.dialects.read_page`, pydantic's JSON mode). The general
path decodes the JSON and validates each item in Python mode. The two must never disagree: for
any page, the one-pass read either returns the same models (same values, same fields set, same
unknown fields) or declines, and it declines only when some item really is invalid.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from test_documented_examples import EXAMPLES as DOCUMENTED
from test_documented_examples import RESPONSE_MODELS, _lookup, loads_tolerant

from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect, read_page
from airflow_provider_altegio.core.http import RequestInfo
from airflow_provider_altegio.models.altacolor import AltacolorProduct, AltacolorSearchResult
from airflow_provider_altegio.models.altegio import Product, Transaction

INFO = RequestInfo("GET", "https://api.example/api/v1/goods/1")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Values in the forms the API is documented (or seen) to send, valid and not.
numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["12", " 12 ", "1 050", "1,5", "1.07", "1e3", "12.0", "abc", "", "0"]),
)
placeholders = st.sampled_from([None, "", [], {}])
dates = st.sampled_from(
    [
        "2026-01-01T12:00:00-0500",
        "2026-09-21T23:00:00.000-05:00",
        "2017-04-25 21:50:01",
        "2018-02-01",
        "2026-01-01T12:00:00Z",
        "0000-00-00 00:00:00",
        "2026-13-01 00:00:00",
        "yesterday",
        1767225600,
    ]
)
texts = st.one_of(st.text(max_size=6), st.integers(min_value=0, max_value=10**13))
bools = st.sampled_from([True, False, 0, 1, 2, "0", "1", "yes", " Yes ", "no", "true", "maybe"])
amounts = st.lists(
    st.fixed_dictionaries({}, optional={"storage_id": st.one_of(numbers, placeholders), "amount": numbers}),
    max_size=3,
)


def _field_values(model: type[BaseModel]) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy of plausible (and implausible) values for each field of ``model``."""
    by_name: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        text = str(info.annotation)
        if "datetime" in text:
            values: st.SearchStrategy[Any] = dates
        elif "bool" in text:
            values = bools
        elif "list" in text:
            values = st.one_of(amounts, st.just({}), st.none(), st.lists(st.integers(), max_size=2))
        elif "int" in text or "float" in text:
            values = numbers
        else:
            values = texts
        by_name[info.alias or name] = st.one_of(values, placeholders)
    return by_name


def items_of(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects carrying any subset of the model's fields, plus unknown fields."""
    unknown = st.dictionaries(
        st.sampled_from(["vat_id", "is_chain", "correction_rules", "x_new"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=2)),
        max_size=2,
    )
    known = st.fixed_dictionaries({}, optional=_field_values(model))
    return st.builds(lambda a, b: {**a, **b}, unknown, known)


def general_path(model: type[BaseModel], items: list[Any]) -> list[BaseModel] | None:
    """What validating each decoded item gives, or ``None`` if some item is invalid."""
    try:
        return [model.model_validate(item) for item in items]
    except ValidationError:
        return None


def same_models(one_pass: list[Any], general: list[BaseModel]) -> None:
    assert one_pass == general
    for fast, slow in zip(one_pass, general, strict=True):
        assert type(fast) is type(slow)
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.model_extra == slow.model_extra
        assert fast.model_dump(mode="json") == slow.model_dump(mode="json")


def altegio_body(items: list[Any]) -> bytes:
    return json.dumps({"success": True, "data": items, "meta": {"count": len(items)}}).encode()


def altacolor_body(items: list[Any]) -> bytes:
    status = {"code": 10001, "severity": "SUCCESS", "description": "OK"}
    return json.dumps({"response_status": status, "products": items, "total": 99, "extra": 1}).encode()


@pytest.mark.parametrize(
    ("dialect", "model", "body"),
    [
        (AltegioDialect, Product, altegio_body),
        (AltegioDialect, Transaction, altegio_body),
        (AltacolorDialect, AltacolorProduct, altacolor_body),
    ],
    ids=["altegio-product", "altegio-transaction", "altacolor-product"],
)
@SETTINGS
@given(data=st.data())
def test_one_pass_read_agrees_with_the_general_path(
    dialect: Any, model: type[BaseModel], body: Any, data: st.DataObject
) -> None:
    items = data.draw(st.lists(items_of(model), max_size=4))
    page = read_page(dialect, model, body(items))
    general = general_path(model, items)
    if general is None:
        assert page is None  # an invalid item: the general path reports it, item by item
        return
    assert page is not None, "a page the general path reads must be read in one pass"
    same_models(page.data if dialect is AltegioDialect else page.products, general)


def _documented_lists() -> list[tuple[str, type[BaseModel], list[Any]]]:
    """Every documented listing response of a paged endpoint, as (id, item model, items)."""
    found = []
    for example in DOCUMENTED:
        if example.kind != "response":
            continue
        model = _lookup(RESPONSE_MODELS, example)
        payload = loads_tolerant(example.text)
        if model in (Product, Transaction) and isinstance(payload.get("data"), list):
            found.append((example.id, model, payload["data"]))
        elif model is AltacolorSearchResult and isinstance(payload.get("products"), list):
            found.append((example.id, AltacolorProduct, payload["products"]))
    return found


DOCUMENTED_LISTS = _documented_lists()


def test_documented_listings_were_found() -> None:
    models = {model for _, model, _ in DOCUMENTED_LISTS}
    assert models == {Product, Transaction, AltacolorProduct}


@pytest.mark.parametrize(
    ("model", "items"), [case[1:] for case in DOCUMENTED_LISTS], ids=[case[0] for case in DOCUMENTED_LISTS]
)
def test_documented_listings_read_in_one_pass(model: type[BaseModel], items: list[Any]) -> None:
    if model is AltacolorProduct:
        payload = AltacolorDialect("u", "p").parse(
            httpx.Response(200, content=altacolor_body(items)), INFO, model
        )
        one_pass = payload["products"]
    else:
        one_pass, _ = AltegioDialect("t").parse(httpx.Response(200, content=altegio_body(items)), INFO, model)
    general = general_path(model, items)
    assert general is not None
    assert all(type(item) is model for item in one_pass)  # read in one pass, not handed over as JSON
    same_models(one_pass, general)


def test_a_page_with_a_bad_item_is_handed_over_as_json() -> None:
    items = [{"good_id": 1}, {"good_id": "not a number"}, {"good_id": 3}]
    data, meta = AltegioDialect("t").parse(httpx.Response(200, content=altegio_body(items)), INFO, Product)
    assert data == items  # decoded JSON: the hook validates item by item and names the bad one
    assert meta == {"count": 3}


@pytest.mark.parametrize("success", ["true", "1", None])
def test_an_unusual_envelope_takes_the_general_path(success: Any) -> None:
    body = json.dumps({"success": success, "data": [{"good_id": 7}], "meta": []}).encode()
    data, _ = AltegioDialect("t").parse(httpx.Response(200, content=body), INFO, Product)
    assert data == [{"good_id": 7}]  # still a success (only false-like values fail), read as JSON


def test_altacolor_errors_are_raised_on_the_one_pass_read_too() -> None:
    from airflow_provider_altegio.exceptions import AltacolorAuthError

    body = json.dumps({"response_status": {"code": 30001, "severity": "ERROR", "description": "bad login"}})
    with pytest.raises(AltacolorAuthError, match="bad login"):
        AltacolorDialect("u", "p").parse(httpx.Response(200, content=body.encode()), INFO, AltacolorProduct)
