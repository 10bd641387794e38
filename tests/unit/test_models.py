"""Models: tolerant reading of responses, strict checking of requests, date helpers."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altegio import (
    AuthResult,
    Category,
    CategoryCreate,
    CategoryNode,
    CategoryUpdate,
    CorrectionRule,
    DocumentType,
    Product,
    ProductCreate,
    ProductTreeElement,
    ProductUpdate,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
    TransactionRequest,
)
from airflow_provider_altegio.models.common import (
    ApiModel,
    EntityRef,
    LooseBool,
    LooseInt,
    LooseList,
    MaybeBool,
    MaybeDatetime,
    MaybeFloat,
    MaybeInt,
    Nested,
    format_altacolor_datetime,
    format_altegio_datetime,
    format_altegio_document_date,
    invalid_request_from_pydantic,
    parse_api_datetime,
)

UTC = timezone.utc
MINUS_5 = timezone(timedelta(hours=-5))
PLUS_4 = timezone(timedelta(hours=4))


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T12:00:00-0500", datetime(2026, 1, 1, 12, tzinfo=MINUS_5)),
        ("2026-01-01T12:00:00-05:00", datetime(2026, 1, 1, 12, tzinfo=MINUS_5)),
        ("2026-09-21T23:00:00.000-05:00", datetime(2026, 9, 21, 23, tzinfo=MINUS_5)),
        ("2014-09-21T23:00:00.000+03:00", datetime(2014, 9, 21, 23, tzinfo=timezone(timedelta(hours=3)))),
        ("2017-01-01T12:00:00+0400", datetime(2017, 1, 1, 12, tzinfo=PLUS_4)),
        ("2017-01-01T12:00:00", datetime(2017, 1, 1, 12, tzinfo=UTC)),
        ("2017-04-25 21:50:01", datetime(2017, 4, 25, 21, 50, 1, tzinfo=UTC)),
        ("2018-02-01T00:00:00Z", datetime(2018, 2, 1, tzinfo=UTC)),
        ("2018-02-01", datetime(2018, 2, 1, tzinfo=UTC)),
        ("2018-02-01T10:30", datetime(2018, 2, 1, 10, 30, tzinfo=UTC)),
        (
            "2018-02-01T10:30:00.123456789+01",
            datetime(2018, 2, 1, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_parse_api_datetime_reads_every_documented_form(text: str, expected: datetime) -> None:
    parsed = parse_api_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_parse_api_datetime_naive_and_date_objects_become_utc() -> None:
    assert parse_api_datetime(datetime(2020, 1, 2, 3, 4, 5)) == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_api_datetime(date(2020, 1, 2)) == datetime(2020, 1, 2, tzinfo=UTC)
    aware = datetime(2020, 1, 2, tzinfo=PLUS_4)
    assert parse_api_datetime(aware) is aware
    assert parse_api_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "2020-13-01T00:00:00", "2020-01-01T00:00:00+2500", [], True]
)
def test_parse_api_datetime_rejects_garbage(bad: object) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_api_datetime(bad)


def test_format_altegio_datetime_uses_the_documented_offset_form() -> None:
    assert format_altegio_datetime(datetime(2026, 1, 1, 12, tzinfo=MINUS_5)) == "2026-01-01T12:00:00-0500"
    assert format_altegio_datetime(datetime(2026, 1, 1, 12)) == "2026-01-01T12:00:00+0000"
    assert format_altegio_datetime("2026-09-21T23:00:00.000-05:00") == "2026-09-21T23:00:00-0500"
    assert format_altegio_datetime(date(2026, 1, 1)) == "2026-01-01T00:00:00+0000"


def test_format_altegio_document_date_is_iso_with_its_offset() -> None:
    """The official example's form, ``2026-09-21T23:00:00.000-05:00``: the instant kept."""
    assert format_altegio_document_date(datetime(2017, 4, 25, 14, tzinfo=PLUS_4)) == (
        "2017-04-25T14:00:00.000+04:00"
    )
    assert format_altegio_document_date(datetime(2026, 9, 21, 23, tzinfo=MINUS_5)) == (
        "2026-09-21T23:00:00.000-05:00"
    )
    with pytest.raises(ValueError, match="no time zone"):
        format_altegio_document_date(datetime(2017, 4, 25, 14))  # never a wall clock taken as UTC


def test_format_altacolor_datetime_is_utc_without_offset() -> None:
    assert format_altacolor_datetime(datetime(2018, 2, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == (
        "2018-02-01T00:00:00"
    )
    assert format_altacolor_datetime(datetime(2018, 2, 1)) == "2018-02-01T00:00:00"
    assert format_altacolor_datetime("2018-01-31T19:00:00-0500") == "2018-02-01T00:00:00"


# --------------------------------------------------------------------------------------------
# Tolerant types and ApiModel
# --------------------------------------------------------------------------------------------


class _Loose(ApiModel):
    number: MaybeInt = None
    amount: MaybeFloat = None
    flag: MaybeBool = None
    when: MaybeDatetime = None
    required_number: LooseInt = 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123", 123), (" 123 ", 123), ("123.0", 123), (123.0, 123), (7, 7), ("", None), ([], None), ({}, None)],
)
def test_loose_int(raw: object, expected: int | None) -> None:
    assert _Loose.model_validate({"number": raw}).number == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.07", 1.07), ("100500", 100500.0), ("1,5", 1.5), (" 1 050.5 ", 1050.5), (3, 3.0), ("", None)],
)
def test_loose_float(raw: object, expected: float | None) -> None:
    assert _Loose.model_validate({"amount": raw}).amount == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, False),
        (1, True),
        ("0", False),
        ("1", True),
        (True, True),
        (False, False),
        ("true", True),
        ("", None),
    ],
)
def test_loose_bool(raw: object, expected: bool | None) -> None:
    assert _Loose.model_validate({"flag": raw}).flag is expected


def test_loose_datetime_and_zero_dates() -> None:
    assert _Loose.model_validate({"when": "2017-04-25 21:50:01"}).when == datetime(
        2017, 4, 25, 21, 50, 1, tzinfo=UTC
    )
    assert _Loose.model_validate({"when": "0000-00-00 00:00:00"}).when is None
    assert _Loose.model_validate({"when": ""}).when is None


def test_loose_int_still_rejects_words() -> None:
    with pytest.raises(ValidationError):
        _Loose.model_validate({"number": "many"})


def test_product_reads_numbers_as_strings_and_keeps_unknown_fields() -> None:
    product = Product.model_validate(
        {
            "title": "Шампунь 1",
            "good_id": "123456",
            "cost": "100500",
            "unit_id": "4835",
            "actual_cost": "1050",
            "unit_equals": "10",
            "barcode": 123,
            "actual_amounts": [
                {"storage_id": "987", "amount": "1000000"},
                {"storage_id": 988, "amount": 2.5},
            ],
            "last_change_date": "2017-01-01T12:00:00+0400",
            "loyalty_abonement_type_id": "150",
        }
    )
    assert product.good_id == 123456
    assert product.cost == 100500.0
    assert product.barcode == "123"
    assert product.amount_in(987) == 1_000_000
    assert product.amount_in(988) == 2.5
    assert product.amount_in(1) == 0.0
    assert product.last_change_date == datetime(2017, 1, 1, 12, tzinfo=PLUS_4)
    dumped = product.to_json_dict()
    assert dumped["loyalty_abonement_type_id"] == "150"
    assert dumped["last_change_date"] == "2017-01-01T12:00:00+04:00"
    json.dumps(dumped)  # JSON-safe


def test_product_placeholders_for_lists_and_objects() -> None:
    product = Product.model_validate({"good_id": 1, "actual_amounts": {}, "category_id": [], "comment": None})
    assert product.actual_amounts == []
    assert product.category_id is None
    assert Product.model_validate({"actual_amounts": None}).actual_amounts == []


def test_storage_reads_both_spellings_of_for_services() -> None:
    old = Storage.model_validate({"id": 1, "title": "Расходники", "for_service": 1, "for_sale": 0})
    new = Storage.model_validate({"id": "2", "title": "Товары", "for_services": "0", "for_sale": "1"})
    assert old.for_services is True
    assert old.for_sale is False
    assert new.for_services is False
    assert new.for_sale is True
    assert old.to_json_dict() == {
        "id": 1,
        "title": "Расходники",
        "for_services": True,
        "for_sale": False,
        "comment": None,
    }
    assert "for_service" not in old.to_json_dict()


def test_transaction_empty_arrays_for_objects_and_nested_ids() -> None:
    tx = Transaction.model_validate(
        {
            "id": 3428010,
            "type_id": 1,
            "type": {"id": 1, "title": "Продажа товара"},
            "amount": -1,
            "good": {"id": "232674", "title": "Edition De Luxe"},
            "storage": {"id": 36539, "title": "Товары"},
            "supplier": [],
            "client": [],
            "master": {"id": "26781", "name": "Анджелина Джоли"},
            "create_date": "2017-04-25 21:50:01",
            "deleted": False,
        }
    )
    assert tx.supplier is None
    assert tx.client is None
    assert tx.master is not None
    assert tx.master.id == 26781
    assert tx.master.name == "Анджелина Джоли"
    assert tx.good_id == 232674
    assert tx.storage_id == 36539
    assert tx.amount == -1
    assert tx.document_type is DocumentType.SALE
    # No offset: the location's wall clock, kept naive rather than taken for UTC.
    assert tx.create_date == datetime(2017, 4, 25, 21, 50, 1)


def test_transaction_type_may_be_a_string() -> None:
    tx = Transaction.model_validate({"type_id": "987654321", "type": "Нечто", "cost_per_unit": "1.07"})
    assert tx.type == "Нечто"
    assert tx.type_id == 987654321
    assert tx.document_type is None
    assert tx.cost_per_unit == 1.07


def test_explicit_ids_win_over_nested_ones() -> None:
    tx = Transaction.model_validate({"good_id": 1, "good": {"id": 2}, "storage_id": 3, "storage": {"id": 4}})
    assert (tx.good_id, tx.storage_id) == (1, 3)


def test_storage_document_and_operation_result() -> None:
    result = StorageOperationResult.model_validate(
        {
            "document": {
                "id": 22255506,
                "type": {"id": 1, "title": "Продажа товара"},
                "storage": {"id": 91271, "title": "Секретное место"},
                "number": 1254,
                "create_date": "2017-04-25 14:00:00",
                "company": {"id": 4564, "title": "Бизнес образец", "phones": []},
                "user": {"id": "999290", "name": "User name", "phone": "70000000001"},
            },
            "transactions": [{"id": 1, "amount": -1, "master": []}],
        }
    )
    assert result.document.type_id == 1
    assert result.document.storage_id == 91271
    assert result.document.document_type is DocumentType.SALE
    assert result.document.company is not None
    assert result.document.company.to_json_dict()["phones"] == []
    assert result.transactions[0].master is None


def test_required_object_given_as_empty_array_becomes_an_empty_object() -> None:
    result = StorageOperationResult.model_validate({"document": [], "transactions": {}})
    assert result.document == StorageDocument()
    assert result.transactions == []


def test_category_node_children() -> None:
    node = CategoryNode.model_validate(
        {
            "category_id": 123,
            "is_category": True,
            "is_item": False,
            "children": [{"parent_id": 123, "item_id": 789, "is_item": 1}],
            "children_count": "2",
        }
    )
    assert isinstance(node, ProductTreeElement)
    assert node.children[0].item_id == 789
    assert node.children[0].is_item is True
    assert node.children_count == 2


def test_category_parent_null() -> None:
    category = Category.model_validate({"id": "1035384", "title": "Memberships", "parent_category_id": None})
    assert category.id == 1035384
    assert category.parent_category_id is None


def test_auth_result_hides_the_token_from_repr() -> None:
    auth = AuthResult.model_validate({"id": 1, "user_token": "s3cr3t-user-token", "name": "Admin"})
    assert auth.user_token == "s3cr3t-user-token"
    assert "s3cr3t" not in repr(auth)
    assert "s3cr3t" not in str(auth)


# --------------------------------------------------------------------------------------------
# DocumentType
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DocumentType.SALE, DocumentType.SALE),
        (1, DocumentType.SALE),
        ("2", DocumentType.USAGE),
        ("receipt", DocumentType.RECEIPT),
        ("RECEIPT", DocumentType.RECEIPT),
        ("write_off", DocumentType.WRITE_OFF),
        ("write-off", DocumentType.WRITE_OFF),
        ("WriteOff", DocumentType.WRITE_OFF),
        (" transfer ", DocumentType.TRANSFER),
        (5, DocumentType.TRANSFER),
    ],
)
def test_document_type_parse(value: object, expected: DocumentType) -> None:
    assert DocumentType.parse(value) is expected


@pytest.mark.parametrize("value", [0, 6, "7", "refund", "", None, True, 1.0])
def test_document_type_parse_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        DocumentType.parse(value, field="operation.type_id")
    assert info.value.field == "operation.type_id"
    assert str(info.value).startswith("operation.type_id: must be a document type")


def test_document_type_is_outflow() -> None:
    assert {t for t in DocumentType if t.is_outflow} == {
        DocumentType.SALE,
        DocumentType.USAGE,
        DocumentType.WRITE_OFF,
    }


# --------------------------------------------------------------------------------------------
# Request models
# --------------------------------------------------------------------------------------------

GOOD_OPERATION = {
    "type_id": "sale",
    "storage_id": 91271,
    "create_date": "2017-04-25T14:00:00+04:00",
    "comment": "test document comment",
    "master_id": 12,
    "transactions": [
        {
            "good_id": 232674,
            "operation_unit_type": 1,
            "amount": 1,
            "cost_per_unit": 100,
            "discount": 10,
            "client_id": 0,
            "supplier_id": 0,
            "comment": "test transaction comment",
        }
    ],
}


def test_storage_operation_to_api_matches_the_documented_body() -> None:
    request = StorageOperationRequest.from_input(GOOD_OPERATION)
    assert request.type_id is DocumentType.SALE
    assert request.to_api() == {
        "type_id": 1,
        "comment": "test document comment",
        "create_date": "2017-04-25T14:00:00.000+04:00",
        "master_id": 12,
        "storage_id": 91271,
        "goods_transactions": [
            {
                "good_id": 232674,
                "operation_unit_type": 1,
                "amount": 1,
                "cost_per_unit": 100,
                "discount": 10,
                "cost": 90,
                "client_id": 0,
                "supplier_id": 0,
                "comment": "test transaction comment",
                "master_id": 12,
            }
        ],
    }


def test_storage_operation_accepts_templated_strings_and_the_type_key() -> None:
    request = StorageOperationRequest.from_input(
        {
            "type": "4",
            "storage_id": "12",
            "create_date": datetime(2026, 1, 1, 9, 30, tzinfo=MINUS_5),
            "master_id": "3",
            "goods_transactions": [{"good_id": "7", "amount": "2.5", "cost_per_unit": "10"}],
        }
    )
    body = request.to_api()
    assert body["type_id"] == 4
    assert body["storage_id"] == 12
    assert body["create_date"] == "2026-01-01T09:30:00.000-05:00"
    assert body["goods_transactions"] == [
        {
            "good_id": 7,
            "amount": 2.5,
            "cost_per_unit": 10,
            "discount": 0,
            "cost": 25,
            "operation_unit_type": 1,
            "master_id": 3,
        }
    ]
    assert "transactions" not in body


def test_a_transfer_is_not_one_document() -> None:
    """No source documents how a type-5 document names its target: the model refuses it and
    points at the two-document transfer of the operator."""
    with pytest.raises(InvalidRequestError, match="two documents") as info:
        StorageOperationRequest.from_input({**GOOD_OPERATION, "type_id": DocumentType.TRANSFER})
    assert info.value.field == "type_id"


def test_a_date_without_offset_stays_the_locations_wall_clock() -> None:
    request = StorageOperationRequest.from_input({**GOOD_OPERATION, "create_date": "2017-04-25 14:00:00"})
    assert request.create_date == datetime(2017, 4, 25, 14)  # naive: the hook places it
    with pytest.raises(ValueError, match="no time zone"):
        request.to_api()


def test_from_input_returns_instances_unchanged() -> None:
    request = StorageOperationRequest.from_input(GOOD_OPERATION)
    assert StorageOperationRequest.from_input(request) is request


def _operation(**changes: object) -> dict[str, object]:
    data = json.loads(json.dumps(GOOD_OPERATION))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _line(**changes: object) -> dict[str, object]:
    line = {"good_id": 1, "amount": 1}
    line.update(changes)
    return line


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({k: v for k, v in GOOD_OPERATION.items() if k != "storage_id"}, "storage_id", "is required"),
        (_operation(storage_id=0), "storage_id", "must be greater than 0"),
        (_operation(storage_id=True), "storage_id", "whole number"),
        (_operation(storage_id="abc"), "storage_id", "whole number"),
        (_operation(type_id="refund"), "type_id", "must be a document type"),
        (_operation(type_id=9), "type_id", "must be a document type"),
        (_operation(create_date="soon"), "create_date", "must be a date and time"),
        ({k: v for k, v in GOOD_OPERATION.items() if k != "create_date"}, "create_date", "is required"),
        (_operation(transactions=[]), "transactions", "must not be empty"),
        (_operation(transactions="x"), "transactions", "must be a list"),
        (_operation(transactions=[_line(amount=0)]), "transactions[0].amount", "greater than 0"),
        (_operation(transactions=[_line(), _line(amount=-2)]), "transactions[1].amount", "greater than 0"),
        (_operation(transactions=[_line(good_id=0)]), "transactions[0].good_id", "greater than 0"),
        (_operation(transactions=[_line(discount=101)]), "transactions[0].discount", "100 or less"),
        (_operation(transactions=[_line(cost_per_unit=-1)]), "transactions[0].cost_per_unit", "0 or more"),
        (_operation(transactions=[_line(operation_unit_type=3)]), "transactions[0].operation_unit_type", "1"),
        (_operation(transactions=[_line(colour="red")]), "transactions[0].colour", "not a field"),
        (_operation(transactions=[{"amount": 1}]), "transactions[0].good_id", "is required"),
        (_operation(type_id="transfer"), "type_id", "two documents"),
        (_operation(target_storage_id=2), "target_storage_id", "not a field"),
        (_operation(master_id=0), "master_id", "greater than 0"),
        ({k: v for k, v in GOOD_OPERATION.items() if k != "master_id"}, "master_id", "is required"),
    ],
)
def test_storage_operation_rejects_bad_input(data: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        StorageOperationRequest.from_input(data)
    assert info.value.field == field
    assert words in info.value.problem
    assert str(info.value).startswith(f"{field}: ")
    assert not isinstance(info.value, ValidationError)


def test_errors_carry_a_prefix_and_list_every_problem() -> None:
    with pytest.raises(InvalidRequestError) as info:
        StorageOperationRequest.from_input(
            _operation(storage_id=None, transactions=[_line(amount=0)]), prefix="operation"
        )
    assert info.value.field == "operation.storage_id"
    assert "operation.transactions[0].amount: must be greater than 0" in str(info.value)


def test_from_input_rejects_non_mappings() -> None:
    with pytest.raises(InvalidRequestError, match="must be a mapping") as info:
        StorageOperationRequest.from_input([1, 2], prefix="operation")
    assert info.value.field == "operation"


def test_from_input_is_the_one_way_to_an_invalid_request_error() -> None:
    with pytest.raises(InvalidRequestError) as info:
        TransactionRequest.from_input({"good_id": 1, "amount": -1})
    assert info.value.field == "amount"
    with pytest.raises(InvalidRequestError) as info:
        TransactionRequest.from_input({"good_id": 1})
    assert info.value.field == "amount"
    # Plain pydantic construction stays plain pydantic: still a ValueError naming the field.
    with pytest.raises(ValueError, match="amount") as raw:
        TransactionRequest(good_id=1, amount=-1)
    assert isinstance(raw.value, ValidationError)


def test_transaction_request_cost_default_and_explicit() -> None:
    assert TransactionRequest(good_id=1, amount=3, cost_per_unit=10, discount=50).to_api()["cost"] == 15
    assert TransactionRequest(good_id=1, amount=1, cost_per_unit=100, cost=80).to_api()["cost"] == 80
    assert TransactionRequest(good_id=1, amount=1).to_api() == {
        "good_id": 1,
        "amount": 1,
        "cost_per_unit": 0,
        "discount": 0,
        "cost": 0,
        "operation_unit_type": 1,
    }


def test_transaction_request_is_strict_about_fractional_ids_and_bools() -> None:
    with pytest.raises(InvalidRequestError, match="good_id"):
        TransactionRequest.from_input({"good_id": 1.5, "amount": 1})
    with pytest.raises(InvalidRequestError, match="amount"):
        TransactionRequest.from_input({"good_id": 1, "amount": True})
    with pytest.raises(InvalidRequestError, match="amount"):
        TransactionRequest.from_input({"good_id": 1, "amount": float("nan")})


def test_product_create_requires_the_documented_fields() -> None:
    with pytest.raises(InvalidRequestError) as info:
        ProductCreate.from_input({"title": "Shampoo", "category_id": 289632, "service_unit_id": 216762})
    assert info.value.field == "sale_unit_id"
    with pytest.raises(InvalidRequestError) as info:
        ProductCreate.from_input({"title": "", "category_id": 1, "sale_unit_id": 1, "service_unit_id": 1})
    assert info.value.field == "title"
    assert info.value.problem == "must not be empty"


def test_product_create_takes_unit_id_for_sale_unit_id() -> None:
    body = ProductCreate.from_input(
        {"title": "Shampoo", "category_id": 1, "unit_id": 2, "service_unit_id": 3, "cost": "1000"}
    ).to_api()
    assert body == {
        "title": "Shampoo",
        "category_id": 1,
        "sale_unit_id": 2,
        "service_unit_id": 3,
        "cost": 1000.0,
    }


def test_product_update_sends_only_given_fields_and_checks_correction_rules() -> None:
    body = ProductUpdate.from_input(
        {
            "comment": "",
            "correction_rules": [{"type": "sale", "base_unit": "sale"}, {"type": 2, "base_unit": "service"}],
        }
    ).to_api()
    assert body == {
        "comment": "",
        "correction_rules": [{"type": 1, "base_unit": "sale"}, {"type": 2, "base_unit": "service"}],
    }
    with pytest.raises(InvalidRequestError) as info:
        ProductUpdate.from_input({"correction_rules": [{"type": 1, "base_unit": "box"}]})
    assert info.value.field == "correction_rules[0].base_unit"
    assert "'sale'" in info.value.problem
    with pytest.raises(InvalidRequestError) as info:
        CorrectionRule.from_input({"type": 8, "base_unit": "sale"}, prefix="correction_rules[3]")
    assert info.value.field == "correction_rules[3].type"


def test_category_create_and_update() -> None:
    assert CategoryCreate.from_input({"title": "Manicure", "parent_category_id": 0}).to_api() == {
        "title": "Manicure",
        "parent_category_id": 0,
    }
    with pytest.raises(InvalidRequestError) as info:
        CategoryCreate.from_input({"parent_category_id": 1})
    assert info.value.field == "title"
    assert CategoryUpdate.from_input({"comment": "x"}).to_api() == {"comment": "x"}
    with pytest.raises(InvalidRequestError) as info:
        CategoryUpdate.from_input({"parent_category_id": -1})
    assert info.value.field == "parent_category_id"


def test_invalid_request_from_pydantic_on_a_foreign_model() -> None:
    class Thing(ApiModel):
        size: int

    with pytest.raises(ValidationError) as info:
        Thing.model_validate({"size": "huge"})
    error = invalid_request_from_pydantic(info.value, prefix="things[2]")
    assert error.field == "things[2].size"
    assert error.problem == "must be a whole number, got 'huge'"
    assert isinstance(error, ValueError)


# --------------------------------------------------------------------------------------------
# Placeholder rules in the schema: JSON mode, inheritance, errors, dates
# --------------------------------------------------------------------------------------------

_PLACEHOLDER_PRODUCT = {
    "good_id": "42",
    "title": "Shampoo",
    "category_id": [],
    "cost": "",
    "unit_equals": {},
    "comment": "",
    "article": 12345,
    "is_barcode": "",
    "actual_amounts": {},
    "last_change_date": "0000-00-00 00:00:00",
    "correction_rules": [],
    "unknown_text": "",
}


def test_placeholders_read_the_same_from_json_and_python() -> None:
    from_python = Product.model_validate(_PLACEHOLDER_PRODUCT)
    from_json = Product.model_validate_json(json.dumps(_PLACEHOLDER_PRODUCT))
    assert from_python == from_json
    assert from_json.good_id == 42
    assert (from_json.category_id, from_json.cost, from_json.unit_equals, from_json.is_barcode) == (
        None,
        None,
        None,
        None,
    )
    assert from_json.comment == ""
    assert from_json.article == "12345"
    assert from_json.actual_amounts == []
    assert from_json.last_change_date is None


def test_unknown_fields_are_kept_as_sent_even_when_empty() -> None:
    dumped = Product.model_validate(_PLACEHOLDER_PRODUCT).to_json_dict()
    assert dumped["correction_rules"] == []
    assert dumped["unknown_text"] == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1 050", 1050), ("1e3", 1000), ("-7", -7), (" 8.0 ", 8), (9.0, 9)],
)
def test_loose_int_beyond_pydantic_lax_mode(raw: object, expected: int) -> None:
    assert _Loose.model_validate({"number": raw}).number == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [(2, True), (-1, True), (0.5, True), (" Yes ", True), (" off ", False), ("N", False)]
)
def test_loose_bool_beyond_pydantic_lax_mode(raw: object, expected: bool) -> None:
    assert _Loose.model_validate({"flag": raw}).flag is expected


def test_loose_float_with_a_no_break_space_and_a_decimal_comma() -> None:
    assert _Loose.model_validate({"amount": "1\u00a0050,5"}).amount == 1050.5


def test_required_scalars_keep_refusing_placeholders() -> None:
    with pytest.raises(ValidationError) as info:
        _Loose.model_validate({"required_number": ""})
    assert [error["loc"] for error in info.value.errors()] == [("required_number",)]


class _LooseChild(_Loose):
    ref: Nested[EntityRef] = None
    since: MaybeDatetime = None
    flags: LooseList[LooseBool] = []


def test_subclasses_get_placeholder_rules_for_inherited_and_own_fields() -> None:
    child = _LooseChild.model_validate(
        {"number": "", "when": "0000-00-00", "ref": [], "since": {}, "flags": {}, "amount": []}
    )
    assert (child.number, child.when, child.ref, child.since, child.amount) == (None, None, None, None, None)
    assert child.flags == []
    assert _LooseChild.model_validate({"ref": {"id": "3"}, "flags": ["1", 0]}).ref == EntityRef(id=3)
    assert _LooseChild.model_validate({"flags": ["1", 0]}).flags == [True, False]


def test_category_node_children_placeholders() -> None:
    node = CategoryNode.model_validate({"children": {}, "children_count": "", "is_item": []})
    assert node.children == []
    assert node.children_count is None
    assert node.is_item is None


def test_nested_models_keep_their_rules_inside_lists_and_type_adapters() -> None:
    from pydantic import TypeAdapter

    adapter = TypeAdapter(list[StorageOperationResult])
    [result] = adapter.validate_python([{"document": [], "transactions": [{"good": [], "amount": "-2"}]}])
    assert result.document == StorageDocument()
    assert result.transactions[0].good is None
    assert result.transactions[0].amount == -2.0


def test_a_bad_value_gives_one_error_at_its_own_field() -> None:
    with pytest.raises(ValidationError) as info:
        Product.model_validate(
            {
                "good_id": "many",
                "cost": "x",
                "is_barcode": "maybe",
                "title": [1],
                "last_change_date": "soon",
                "actual_amounts": [{"amount": "lots"}],
            }
        )
    errors = {".".join(str(part) for part in error["loc"]): error for error in info.value.errors()}
    assert set(errors) == {
        "good_id",
        "cost",
        "is_barcode",
        "title",
        "last_change_date",
        "actual_amounts.0.amount",
    }
    assert errors["good_id"]["msg"].startswith("Input should be a valid integer")
    assert "2026-01-01T12:00:00-0500" in errors["last_change_date"]["msg"]


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01T12:00:00-0500",
        "2026-01-01T12:00:00-05:00",
        "2017-04-25 21:50:01",
        "2018-02-01",
        "2018-02-01T10:30",
        "2018-02-01T00:00:00Z",
        "2018-02-01T10:30:00.123456789+01",
        " 2018-02-01T10:30:00 ",
    ],
)
def test_dates_carry_the_standard_library_timezone(text: str) -> None:
    parsed = parse_api_datetime(text)
    assert type(parsed.tzinfo) is timezone
    read = Product.model_validate({"last_change_date": text}).last_change_date
    assert read is not None
    if parse_api_datetime(text, naive_as=None).tzinfo is not None:
        assert type(read.tzinfo) is timezone
    else:  # an Altegio date without an offset is the location's wall clock: never taken for UTC
        assert read.tzinfo is None
        assert read == parsed.replace(tzinfo=None)


@pytest.mark.parametrize("text", ["2026-01-01T12", "2026-01-01T1200", "2026-01-01X12:00:00", "2026-02-30"])
def test_parse_api_datetime_takes_no_more_than_the_documented_forms(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_api_datetime(text)


def test_response_models_still_have_a_json_schema() -> None:
    for model in (Product, Transaction, StorageOperationResult, Storage, CategoryNode, _LooseChild):
        schema = model.model_json_schema()
        assert schema["type"] == "object"


@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
    separator=st.sampled_from(["T", " ", "t"]),
    with_seconds=st.booleans(),
    fraction_digits=st.integers(min_value=0, max_value=9),
    offset_minutes=st.none() | st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    offset_form=st.sampled_from(["+hh:mm", "+hhmm", "+hh", "Z"]),
)
def test_parse_api_datetime_reads_generated_forms(
    moment: datetime,
    separator: str,
    with_seconds: bool,
    fraction_digits: int,
    offset_minutes: int | None,
    offset_form: str,
) -> None:
    # Independent of the parser: build the text from parts and the expected value from the same.
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M}"
    expected = moment.replace(second=0, microsecond=0)
    if with_seconds:
        text += f":{moment:%S}"
        expected = expected.replace(second=moment.second)
        if fraction_digits:
            digits = f"{moment.microsecond:06d}{moment.microsecond % 1000:03d}"[:fraction_digits]
            text += "." + digits
            expected = expected.replace(microsecond=int(digits[:6].ljust(6, "0")))
    tz = UTC
    if offset_minutes is not None:
        if offset_form == "Z":
            text += "Z"
        else:
            hours, minutes = divmod(abs(offset_minutes), 60)
            if offset_form == "+hh":
                minutes = 0
            sign = "-" if offset_minutes < 0 else "+"
            text += {
                "+hh:mm": f"{sign}{hours:02d}:{minutes:02d}",
                "+hhmm": f"{sign}{hours:02d}{minutes:02d}",
            }.get(offset_form, f"{sign}{hours:02d}")
            tz = timezone((-1 if sign == "-" else 1) * timedelta(hours=hours, minutes=minutes))
    parsed = parse_api_datetime(text)
    assert parsed == expected.replace(tzinfo=tz)
    assert parsed.utcoffset() == tz.utcoffset(None)
    assert type(parsed.tzinfo) is timezone
