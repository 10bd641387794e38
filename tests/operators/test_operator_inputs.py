"""Unit tests of what the operators do before any request: input coercion and validation,
the idempotency key and comment stamp, Altacolor conditions. No hook, no network."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.inputs import (
    read_conditions,
    read_date_range,
    read_datetime,
    read_id_list,
    to_json,
)
from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
from airflow_provider_altegio.results import read_items, write_json_lines
from airflow_provider_altegio.values import optional_whole_number, structure, whole_number
from airflow_provider_altegio.workflows.booking import carries_key, idempotency_key, stamp_comment


def _field(exc_info: pytest.ExceptionInfo[InvalidRequestError]) -> str:
    return exc_info.value.field


# -- ids, structures, dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("5", 5), (" 42 ", 42), (7.0, 7), (None, None), ("", None)]
)
def test_read_int_accepts_rendered_ids(value: object, expected: int | None) -> None:
    assert optional_whole_number(value, "storage_id") == expected


@pytest.mark.parametrize("value", ["abc", 1.5, True, "0", -3])
def test_read_int_names_the_field(value: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        optional_whole_number(value, "storage_id")
    assert _field(info) == "storage_id"
    assert str(info.value).startswith("storage_id: ")


def test_read_int_required() -> None:
    with pytest.raises(InvalidRequestError, match="product_id: is required"):
        whole_number(None, "product_id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [([1, "2"], [1, 2]), ("3,4", [3, 4]), ("[5, 6]", [5, 6]), (7, [7]), (None, None)],
)
def test_read_int_list(value: object, expected: list[int] | None) -> None:
    assert read_id_list(value, "product_ids") == expected


def test_read_int_list_names_the_item() -> None:
    with pytest.raises(InvalidRequestError) as info:
        read_id_list([1, "x"], "product_ids")
    assert _field(info) == "product_ids[1]"


def test_read_structure_reads_json_and_python_literals() -> None:
    lines = [{"good_id": 1, "amount": 2}]
    assert structure(json.dumps(lines), "transactions") == lines
    assert structure(repr(lines), "transactions") == lines  # Jinja renders repr()
    assert structure(lines, "transactions") is lines
    with pytest.raises(InvalidRequestError, match=r"^transactions: is not valid JSON"):
        structure("[{good_id: 1", "transactions")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 1, 12, tzinfo=timezone.utc), datetime(2026, 1, 1, 12, tzinfo=timezone.utc)),
        (datetime(2026, 1, 1, 12), datetime(2026, 1, 1, 12, tzinfo=timezone.utc)),
        (date(2026, 1, 2), datetime(2026, 1, 2, tzinfo=timezone.utc)),
        ("2026-01-01T12:00:00+00:00", datetime(2026, 1, 1, 12, tzinfo=timezone.utc)),
        ("2026-01-01T07:00:00-0500", datetime(2026, 1, 1, 12, tzinfo=timezone.utc)),
        ("2026-01-01 12:00:00", datetime(2026, 1, 1, 12, tzinfo=timezone.utc)),
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=timezone.utc)),
        ("", None),
        (None, None),
    ],
)
def test_read_datetime(value: object, expected: datetime | None) -> None:
    assert read_datetime(value, "changed_after") == expected


def test_read_datetime_names_the_field() -> None:
    with pytest.raises(InvalidRequestError) as info:
        read_datetime("yesterday", "changed_after")
    assert _field(info) == "changed_after"


def test_read_date_range() -> None:
    low, high = read_date_range("2026-01-01", "2026-01-02", "changed_after", "changed_before")
    assert (low, high) == (
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        datetime(2026, 1, 2, tzinfo=timezone.utc),
    )
    assert read_date_range(None, "2026-01-02", "a", "b")[0] is None
    assert read_date_range("2026-01-01", "2026-01-01", "date_from", "date_to")[1] is not None
    with pytest.raises(InvalidRequestError, match=r"^changed_before: must not be before changed_after"):
        read_date_range("2026-01-02", "2026-01-01", "changed_after", "changed_before")
    with pytest.raises(InvalidRequestError, match=r"^date_to: must not be before date_from"):
        read_date_range("2026-01-02", "2026-01-01", "date_from", "date_to")


def test_to_json_is_plain() -> None:
    value = {"when": datetime(2026, 1, 1, tzinfo=timezone.utc), "items": (1, date(2026, 1, 2))}
    assert to_json(value) == {"when": "2026-01-01T00:00:00+00:00", "items": [1, "2026-01-02"]}
    json.dumps(to_json(value))


# -- idempotency key --------------------------------------------------------------------------------


def test_idempotency_key_is_stable_and_distinct() -> None:
    key = idempotency_key("dag", "manual__2026", "receipt", -1)
    assert key == idempotency_key("dag", "manual__2026", "receipt", -1)
    assert len(key) == 16
    others = {
        idempotency_key("dag", "manual__2026", "receipt", 0),
        idempotency_key("dag", "manual__2026", "receipt", 1),
        idempotency_key("dag", "manual__2027", "receipt", -1),
        idempotency_key("dag", "manual__2026", "write_off", -1),
        idempotency_key("dag2", "manual__2026", "receipt", -1),
    }
    assert key not in others
    assert len(others) == 5


def test_the_document_key_names_the_document_not_its_order_or_date() -> None:
    """Mapped inputs may come in any order: the key is the document's, not the map index's."""

    def key(**overrides: object) -> str:
        ((document_key, _),) = _operator(**overrides).build_requests("dag/run/op", 1001)
        return document_key

    assert key() == key(create_date="2020-01-01", comment="Other words")
    assert key(transactions=[{"good_id": 1, "amount": 2}, {"good_id": 3, "amount": 1}]) == key(
        transactions=[{"good_id": 3, "amount": 1}, {"good_id": 1, "amount": 2}]
    )
    others = {
        key(storage_id=11),
        key(operation_type="usage"),
        key(transactions=[{"good_id": 1, "amount": 3}]),
        _operator().build_requests("dag/run2/op", 1001)[0][0],
        _operator().build_requests("dag/run/op", 1002)[0][0],
    }
    assert key() not in others
    assert len(others) == 5


def test_comment_stamp_keeps_the_comment_readable() -> None:
    key = idempotency_key("dag", "run", "task", None)
    stamped = stamp_comment("Weekly restock", key)
    assert stamped == f"Weekly restock [airflow:{key}]"
    assert carries_key(stamped, key)
    assert stamp_comment(None, key) == f"[airflow:{key}]"
    assert stamp_comment("  ", key) == f"[airflow:{key}]"
    assert not carries_key("Weekly restock", key)
    assert not carries_key(None, key)
    assert not carries_key(stamped, idempotency_key("dag", "run", "task", 0))


# -- the storage operation request --------------------------------------------------------------------


def _operator(**overrides: object) -> CreateStorageOperationOperator:
    arguments: dict[str, object] = {
        "task_id": "op",
        "operation_type": "write_off",
        "storage_id": 10,
        "transactions": [{"good_id": 1, "amount": 2, "cost_per_unit": 3.5}],
        "comment": "Damaged",
        "master_id": 7,
    }
    arguments.update(overrides)
    return CreateStorageOperationOperator(**arguments)  # type: ignore[arg-type]


def _request(operator: CreateStorageOperationOperator, task: str = "dag/run/op") -> Any:
    (only,) = operator.build_requests(task, 1001)
    return only[1]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sale", 1),
        ("usage", 2),
        ("receipt", 3),
        ("write_off", 4),
        ("write-off", 4),
        (3, 3),
        ("4", 4),
    ],
)
def test_operation_type_by_name_or_number(given: object, expected: int) -> None:
    assert int(_request(_operator(operation_type=given)).type_id) == expected


def test_request_carries_stamped_comment_and_positive_amounts() -> None:
    ((key, request),) = _operator(create_date="2026-03-01T10:30:00+03:00").build_requests("dag/run/op", 1001)
    body = request.to_api()
    assert body["comment"] == f"Damaged [airflow:{key}]"
    assert body["create_date"] == "2026-03-01T10:30:00.000+03:00"
    assert body["goods_transactions"][0]["amount"] == 2
    assert body["storage_id"] == 10
    assert body["master_id"] == 7


def test_a_date_without_offset_is_left_for_the_locations_zone() -> None:
    assert _request(_operator(create_date="2026-03-01 10:30")).create_date == datetime(2026, 3, 1, 10, 30)


def test_a_transfer_is_two_documents_each_with_its_own_key() -> None:
    """Out of the source as a write-off, into the target as a receipt: both of documented effect."""
    (out_key, out), (in_key, into) = _operator(
        operation_type="transfer", storage_id=10, target_storage_id=11, comment="Restock shelf"
    ).build_requests("dag/run/op", 1001)
    assert (out_key[-4:], in_key[-3:]) == ("-out", "-in")
    assert (int(out.type_id), out.storage_id) == (4, 10)
    assert (int(into.type_id), into.storage_id) == (3, 11)
    assert out.comment == f"Restock shelf Transfer to storage 11 [airflow:{out_key}]"
    assert into.comment == f"Restock shelf Transfer from storage 10 [airflow:{in_key}]"
    assert [line.amount for line in out.transactions] == [line.amount for line in into.transactions]


def test_request_from_rendered_strings() -> None:
    request = _request(
        _operator(
            storage_id="10",
            transactions=json.dumps([{"good_id": "1", "amount": "2"}]),
            master_id="7",
        )
    )
    assert request.storage_id == 10
    assert request.master_id == 7
    assert request.transactions[0].good_id == 1


def test_default_create_date_is_now() -> None:
    request = _request(_operator())
    assert abs(request.create_date - datetime.now(tz=timezone.utc)) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"operation_type": "refund"}, "operation_type"),
        ({"operation_type": 9}, "operation_type"),
        ({"storage_id": None}, "storage_id"),
        ({"storage_id": "abc"}, "storage_id"),
        ({"transactions": []}, "transactions"),
        ({"transactions": "not json"}, "transactions"),
        ({"transactions": {"good_id": 1}}, "transactions"),
        ({"transactions": [{"good_id": 1, "amount": 0}]}, "transactions[0].amount"),
        (
            {"transactions": [{"good_id": 1, "amount": 1}, {"good_id": 2, "amount": -4}]},
            "transactions[1].amount",
        ),
        ({"transactions": [{"amount": 1}]}, "transactions[0].good_id"),
        ({"operation_type": "transfer"}, "target_storage_id"),
        ({"operation_type": "transfer", "target_storage_id": 10}, "target_storage_id"),
        ({"operation_type": "receipt", "target_storage_id": 11}, "target_storage_id"),
        ({"create_date": "soon"}, "create_date"),
        ({"master_id": "x"}, "master_id"),
        ({"master_id": 0}, "master_id"),
    ],
)
def test_invalid_requests_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _operator(**overrides).build_requests("dag/run/op", 1001)
    assert _field(info) == field, str(info.value)


# -- Altacolor conditions ------------------------------------------------------------------------------


def test_altacolor_conditions_people_and_raw_forms() -> None:
    readable = {"field": "product_code", "condition": "==", "value": "A-1"}
    between = {"field": "date_modified", "condition": "between", "value": ["2026-01-01", "2026-02-01"]}
    raw = {"field": 5, "condition": 4, "date1": "2026-01-01T00:00:00"}
    assert read_conditions(readable, "conditions") == [readable]
    assert read_conditions([readable, between, raw], "conditions") == [readable, between, raw]
    assert read_conditions(json.dumps([readable]), "conditions") == [readable]


def test_altacolor_no_condition_reads_everything() -> None:
    (condition,) = read_conditions(None, "conditions")
    assert condition == {"field": "product_id", "condition": ">", "value": "0"}


@pytest.mark.parametrize(
    ("conditions", "sort_by", "field"),
    [
        (
            [{"field": "date_modified", "condition": "between", "value": "2026-01-01"}],
            None,
            "conditions[0].date2",
        ),
        ([{"field": "colour", "condition": "==", "value": "red"}], None, "conditions[0].field"),
        ([{"field": "product_code", "condition": "~", "value": "A"}], None, "conditions[0].condition"),
        ([{"field": "product_code", "condition": "=="}], None, "conditions[0].string"),
        ([{"field": "product_code", "condition": "==", "value": "A"}], "price", "sort_by"),
        ("oops", None, "conditions"),
    ],
)
def test_altacolor_bad_conditions(conditions: object, sort_by: object, field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        read_conditions(conditions, "conditions", sort_by=sort_by)
    assert _field(info) == field, str(info.value)


# -- JSON lines --------------------------------------------------------------------------------------


def test_write_json_lines(tmp_path: object) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(f"file://{tmp_path}/out/products.jsonl")
    count = write_json_lines(path, iter([{"good_id": 1, "title": "Шампунь"}, {"good_id": 2}]))
    assert count == 2
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"good_id": 1, "title": "Шампунь"}, {"good_id": 2}]


def test_read_items_reads_the_xcom_or_the_file_it_names(tmp_path: object) -> None:
    items = [{"good_id": 1}, {"good_id": 2}]
    assert list(read_items({"count": 2, "items": items, "path": None})) == items
    path = f"{tmp_path}/read/products.jsonl"
    from airflow_provider_altegio.results import object_storage_path

    write_json_lines(object_storage_path(path), items)
    assert list(read_items({"count": 2, "items": None, "path": path})) == items
    assert list(read_items({"count": 2, "items": None, "path": f"file://{path}"})) == items
    with pytest.raises(ValueError, match="neither 'items' nor 'path'"):
        list(read_items({"count": 0}))
