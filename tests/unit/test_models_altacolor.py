"""Altacolor models: search conditions in people's and raw forms, search encoding, responses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altacolor import (
    AltacolorCondition,
    AltacolorField,
    AltacolorProduct,
    AltacolorProductDetailed,
    AltacolorProductResponse,
    AltacolorSearchResult,
    AltacolorSortBy,
    ResponseStatus,
    SearchCondition,
    encode_conditions,
    encode_search,
    match_variant,
)

UTC = timezone.utc


def test_enum_values_match_the_document() -> None:
    assert [(m.name, m.value) for m in AltacolorField] == [
        ("PRODUCT_CODE", 1),
        ("PRODUCT_NAME", 2),
        ("SUPPLIER", 3),
        ("PRODUCT_ID", 4),
        ("DATE_MODIFIED", 5),
    ]
    assert [m.value for m in AltacolorCondition] == [1, 2, 3, 4, 5, 6, 7]
    assert AltacolorCondition.BETWEEN == 7
    assert AltacolorSortBy.SORT_POSITION == 6
    assert AltacolorSortBy.DATE_MODIFIED == 5


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("product_code", AltacolorField.PRODUCT_CODE),
        ("code", AltacolorField.PRODUCT_CODE),
        ("Product Name", AltacolorField.PRODUCT_NAME),
        ("name", AltacolorField.PRODUCT_NAME),
        ("supplier", AltacolorField.SUPPLIER),
        ("product_id", AltacolorField.PRODUCT_ID),
        ("id", AltacolorField.PRODUCT_ID),
        (4, AltacolorField.PRODUCT_ID),
        ("3", AltacolorField.SUPPLIER),
        (AltacolorField.PRODUCT_NAME, AltacolorField.PRODUCT_NAME),
    ],
)
def test_field_names_and_codes(field: object, expected: AltacolorField) -> None:
    assert SearchCondition.from_input({"field": field, "condition": "==", "value": "x"}).field is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("==", AltacolorCondition.EQ),
        ("eq", AltacolorCondition.EQ),
        ("!=", AltacolorCondition.NE),
        ("ne", AltacolorCondition.NE),
        ("<", AltacolorCondition.LT),
        ("lt", AltacolorCondition.LT),
        (">", AltacolorCondition.GT),
        ("GT", AltacolorCondition.GT),
        ("<=", AltacolorCondition.LE),
        ("le", AltacolorCondition.LE),
        (">=", AltacolorCondition.GE),
        ("ge", AltacolorCondition.GE),
        (4, AltacolorCondition.GT),
        ("6", AltacolorCondition.GE),
    ],
)
def test_condition_symbols_names_and_codes(condition: object, expected: AltacolorCondition) -> None:
    parsed = SearchCondition.from_input({"field": "product_code", "condition": condition, "value": "A-1"})
    assert parsed.condition is expected


def test_people_form_string_field() -> None:
    condition = SearchCondition.from_input({"field": "product_code", "condition": "==", "value": "A-1"})
    assert condition.string == "A-1"
    assert condition.date1 is None
    assert condition.to_params() == {"field": "1", "condition": "1", "string": "A-1"}


def test_people_form_date_field_and_between_pair() -> None:
    after = SearchCondition.from_input(
        {"field": "date_modified", "condition": ">", "value": "2018-02-01T01:00:00+01:00"}
    )
    assert after.date1 == datetime(2018, 2, 1, tzinfo=UTC)
    assert after.to_params() == {"field": "5", "condition": "4", "date1": "2018-02-01T00:00:00"}
    between = SearchCondition.from_input(
        {"field": "date_modified", "condition": "between", "value": ["2018-02-01", datetime(2018, 3, 1)]}
    )
    assert between.to_params() == {
        "field": "5",
        "condition": "7",
        "date1": "2018-02-01T00:00:00",
        "date2": "2018-03-01T00:00:00",
    }


def test_raw_form_and_numeric_product_id_string() -> None:
    raw = SearchCondition.from_input(
        {"field": 5, "condition": 7, "date1": "2018-01-01T00:00:00", "date2": "2018-01-31T23:59:59"}
    )
    assert raw.field is AltacolorField.DATE_MODIFIED
    assert raw.condition is AltacolorCondition.BETWEEN
    every = SearchCondition.from_input({"field": 4, "condition": 4, "string": 0})
    assert every.to_params() == {"field": "4", "condition": "4", "string": "0"}


def test_direct_construction() -> None:
    condition = SearchCondition(
        field=AltacolorField.DATE_MODIFIED,
        condition=AltacolorCondition.GE,
        date1=datetime(2018, 2, 1, tzinfo=timezone(timedelta(hours=-5))),
    )
    assert condition.to_params()["date1"] == "2018-02-01T05:00:00"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"field": 5, "condition": 4}, "date1", "required"),
        ({"field": 5, "condition": 7, "date1": "2018-01-01"}, "date2", "between"),
        ({"field": "date_modified", "condition": "between", "value": "2018-01-01"}, "date2", "between"),
        ({"field": "date_modified", "condition": "between", "value": ["2018-01-01"]}, "value", "pair"),
        ({"field": 5, "condition": 4, "date1": "2018-01-01", "date2": "2018-02-01"}, "date2", "only"),
        ({"field": 5, "condition": 7, "date1": "2018-02-01", "date2": "2018-01-01"}, "date2", "earlier"),
        ({"field": 5, "condition": 4, "date1": "2018-01-01", "string": "x"}, "string", "date1"),
        ({"field": "name", "condition": "between", "value": "a"}, "condition", "date_modified"),
        ({"field": "product_code", "condition": "=="}, "string", "required"),
        ({"field": 1, "condition": 1, "string": "a", "date1": "2018-01-01"}, "date1", "only"),
        ({"field": "colour", "condition": "==", "value": "red"}, "field", "must be one of"),
        ({"field": 9, "condition": 1, "string": "a"}, "field", "must be one of"),
        ({"field": 1, "condition": "~", "string": "a"}, "condition", "must be one of"),
        ({"field": 1, "condition": 8, "string": "a"}, "condition", "must be one of"),
        ({"condition": 1, "string": "a"}, "field", "required"),
        ({"field": 1, "string": "a"}, "condition", "required"),
        ({"field": 5, "condition": 4, "date1": "last week"}, "date1", "date and time"),
        ({"field": 1, "condition": 1, "value": "a", "string": "b"}, "value", "not both"),
        ({"field": 1, "condition": 1, "string": "a", "limit": 3}, "limit", "not a field"),
    ],
)
def test_search_condition_rejects(data: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        SearchCondition.from_input(data)
    assert info.value.field == field
    assert words in info.value.problem


def test_encode_search_single_condition_uses_plain_keys() -> None:
    assert encode_search({"field": "date_modified", "condition": ">", "value": "2018-02-01T00:00:00"}) == {
        "field": "5",
        "condition": "4",
        "date1": "2018-02-01T00:00:00",
        "limit": "100",
        "offset": "0",
    }
    # A one-item list is still the single-condition form.
    assert encode_search([{"field": 1, "condition": 1, "string": "A"}], limit=10, offset=20) == {
        "field": "1",
        "condition": "1",
        "string": "A",
        "limit": "10",
        "offset": "20",
    }


def test_encode_search_several_conditions_counts_from_one() -> None:
    params = encode_search(
        [
            {"field": "supplier", "condition": "==", "value": "Acme"},
            SearchCondition(
                field=AltacolorField.DATE_MODIFIED,
                condition=AltacolorCondition.BETWEEN,
                date1=datetime(2018, 1, 1),
                date2=datetime(2018, 2, 1),
            ),
        ],
        sort_by="date_modified",
    )
    assert params == {
        "conditions[1][field]": "3",
        "conditions[1][condition]": "1",
        "conditions[1][string]": "Acme",
        "conditions[2][field]": "5",
        "conditions[2][condition]": "7",
        "conditions[2][date1]": "2018-01-01T00:00:00",
        "conditions[2][date2]": "2018-02-01T00:00:00",
        "limit": "100",
        "offset": "0",
        "sortby": "5",
    }
    assert "field" not in params


@pytest.mark.parametrize(
    ("sort_by", "expected"),
    [(AltacolorSortBy.PRODUCT_ID, "4"), (6, "6"), ("2", "2"), ("sort_position", "6"), ("product_code", "1")],
)
def test_encode_search_sort_by(sort_by: object, expected: str) -> None:
    assert encode_search({"field": 4, "condition": 4, "string": 0}, sort_by=sort_by)["sortby"] == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort_by": 7}, "sort_by"),
        ({"sort_by": "price"}, "sort_by"),
    ],
)
def test_encode_search_rejects_paging_and_sort(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        encode_search({"field": 4, "condition": 4, "string": 0}, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_encode_search_limit_bounds_are_inclusive() -> None:
    assert encode_search({"field": 4, "condition": 4, "string": 0}, limit=0)["limit"] == "0"
    assert encode_search({"field": 4, "condition": 4, "string": 0}, limit="100")["limit"] == "100"  # type: ignore[arg-type]


def test_encode_search_needs_conditions_and_names_the_bad_one() -> None:
    with pytest.raises(InvalidRequestError) as info:
        encode_search([])
    assert info.value.field == "conditions"
    with pytest.raises(InvalidRequestError) as info:
        encode_search("field=1")  # type: ignore[arg-type]
    assert info.value.field == "conditions"
    with pytest.raises(InvalidRequestError) as info:
        encode_search(
            [{"field": 1, "condition": 1, "string": "a"}, {"field": 5, "condition": 7, "date1": "2018-01-01"}]
        )
    assert info.value.field == "conditions[1].date2"
    with pytest.raises(InvalidRequestError) as info:
        encode_search([{"field": 1, "condition": 1, "string": "a"}, 7])  # type: ignore[list-item]
    assert info.value.field == "conditions[1]"


def test_documented_request_sample_round_trips() -> None:
    # Seed 004: field=5&condition=4&date1=2018-02-01T00%3A00%3A00
    params = encode_search({"field": 5, "condition": 4, "date1": "2018-02-01T00:00:00"})
    assert {k: params[k] for k in ("field", "condition", "date1")} == {
        "field": "5",
        "condition": "4",
        "date1": "2018-02-01T00:00:00",
    }


def test_search_result_and_products_are_tolerant() -> None:
    result = AltacolorSearchResult.model_validate(
        {
            "response_status": {"code": "10001", "severity": "SUCCESS", "description": ""},
            "products": [
                {
                    "product_id": "101",
                    "product_code": 5551,
                    "product_name": "Tee",
                    "supplier": "Acme",
                    "skus": [{"sku": 5551001, "price": "12.50", "cost": 6}],
                    "colors": [{"id": "3", "name": "Red"}],
                    "sizes": [{"code": "XL"}],
                    "categories": [{"name": "Shirts"}],
                    "date_modified": "2018-02-01T00:00:00",
                    "sort_position": 4,
                },
                {"product_id": 102, "skus": {}, "colors": None},
            ],
            "total": "2",
        }
    )
    assert result.total == 2
    assert result.response_status == ResponseStatus(code=10001, severity="SUCCESS", description="")
    assert result.response_status is not None
    assert not result.response_status.is_error
    first, second = result.products
    assert first.product_code == "5551"
    assert first.categories[0].name == "Shirts"
    assert first.date_modified == datetime(2018, 2, 1, tzinfo=UTC)
    assert first.to_json_dict()["sort_position"] == 4
    assert second.categories == []
    detailed = AltacolorProductDetailed.model_validate(
        {
            "product_id": 101,
            "product_code": 5551,
            "brand": "Acme",
            "skus": [{"dn_sku_id": "77", "sku": 5551001, "size": "XL", "price": "12.50", "cost": 6}],
            "colors": [{"id": "3", "name": "Red"}],
        }
    )
    assert detailed.skus[0].sku == "5551001"
    assert detailed.skus[0].dn_sku_id == 77
    assert detailed.skus[0].price == 12.5
    assert detailed.colors[0].id == 3
    assert AltacolorProductDetailed.model_validate({"product_id": 102, "skus": {}, "colors": None}).skus == []


def test_an_altegio_product_matches_one_supplier_variant() -> None:
    """By SKU code first; by product code only when the product has a single priced variant."""
    single = AltacolorProductDetailed.model_validate(
        {"product_id": 1, "product_code": "ABC", "skus": [{"sku": "ABC", "price": 5}]}
    )
    sized = AltacolorProductDetailed.model_validate(
        {
            "product_id": 2,
            "product_code": "XYZ",
            "skus": [
                {"sku": "XYZ-250", "size": "250 ml", "price": 4},
                {"sku": "XYZ-1000", "size": "1 l", "price": 11},
            ],
        }
    )
    products = [single, sized]
    assert match_variant(products, "XYZ-1000", None) == (sized, sized.skus[1])
    assert match_variant(products, None, " ABC ") == (single, single.skus[0])  # the barcode
    assert match_variant(products, "XYZ", None) is None  # which size? not guessed
    assert match_variant(products, None, None) is None


def test_get_product_response_single_and_many() -> None:
    single = AltacolorProductResponse.model_validate(
        {"response_status": {"code": 10001, "severity": "SUCCESS"}, "product": {"product_id": 1}}
    )
    assert [p.product_id for p in single.items] == [1]
    many = AltacolorProductResponse.model_validate(
        {"response_status": {"code": 10001, "severity": "SUCCESS"}, "products": [{"product_id": 1}, {}]}
    )
    assert len(many.items) == 2
    missing = AltacolorProductResponse.model_validate(
        {"response_status": {"code": 40004, "severity": "WARNING", "description": "Product ID Not Found"}}
    )
    assert missing.items == []
    assert isinstance(AltacolorProduct.model_validate({}), AltacolorProduct)
    error = ResponseStatus.model_validate({"code": 30001, "severity": "ERROR", "description": "x"})
    assert error.is_error


def test_encode_conditions_is_the_condition_part_of_encode_search() -> None:
    single = {"field": "name", "condition": "==", "value": "Tee"}
    assert encode_conditions(single) == {"field": "2", "condition": "1", "string": "Tee"}
    several = [single, {"field": "id", "condition": ">", "value": 0}]
    encoded = encode_conditions(several)
    assert encoded == {
        "conditions[1][field]": "2",
        "conditions[1][condition]": "1",
        "conditions[1][string]": "Tee",
        "conditions[2][field]": "4",
        "conditions[2][condition]": "4",
        "conditions[2][string]": "0",
    }
    assert encode_search(several, limit=5) == {**encoded, "limit": "5", "offset": "0"}
