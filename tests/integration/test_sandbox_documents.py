"""The two-step document endpoints and the 403 for a location the user may not manage, over HTTP.

``POST /storage_operations/documents/{location_id}`` creates an empty document (types 1, 3, 7);
``POST /storage_operations/goods_transactions/{location_id}`` adds one line to it, with the
checks of the one-shot operation. Sources: docs/api-notes.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

pytestmark = pytest.mark.integration

LOCATION, OTHER, FRANCHISE = 1001, 1002, 1003
RETAIL = 3101
GOOD = 10000005
MASTER = 990101
DOCUMENTS = f"/storage_operations/documents/{LOCATION}"
LINES = f"/storage_operations/goods_transactions/{LOCATION}"
ACCESS_DENIED = {"success": False, "data": None, "meta": {"message": "Access denied."}}


def _document(type_id: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "type_id": type_id,
        "storage_id": RETAIL,
        "create_date": "2026-11-20T14:00:00.000-05:00",
        "comment": "Delivery 42 [airflow:key-42]",
        **extra,
    }


def _line(document_id: int, **extra: Any) -> dict[str, Any]:
    # Every field the official pages mark required, as a live integration sends them.
    return {
        "document_id": document_id,
        "good_id": GOOD,
        "amount": 4,
        "cost_per_unit": 2.5,
        "discount": 0,
        "cost": 10,
        "operation_unit_type": 1,
        "master_id": MASTER,
        **extra,
    }


def _stock(api: httpx.Client) -> float:
    product = api.get(f"/goods/{LOCATION}/{GOOD}").json()["data"]
    return next(a["amount"] for a in product["actual_amounts"] if a["storage_id"] == RETAIL)


def _data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def _errors(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.text
    errors: dict[str, list[str]] = response.json()["meta"]["errors"]
    return errors


def test_a_document_then_its_lines(altegio_sandbox: Any, altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    before = _stock(api)
    created = api.post(DOCUMENTS, json=_document())
    assert created.json()["meta"] == []
    document = _data(created)
    assert document["type"] == {"id": 3, "title": "Goods receipt"}
    assert (document["storage_id"], document["company_id"]) == (RETAIL, LOCATION)
    assert document["create_date"] == "2026-11-20T14:00:00.000-05:00"
    assert document["comment"] == "Delivery 42 [airflow:key-42]"
    assert document["company"]["zip"] == ""
    assert document["company"]["timezone"] == -5
    assert _stock(api) == before  # an empty document moves nothing
    assert _data(api.get(f"{DOCUMENTS}/{document['id']}"))["id"] == document["id"]

    first = _data(api.post(LINES, json=_line(document["id"])))
    second = _data(api.post(LINES, json=_line(document["id"], amount=1, cost=2.5, comment="second")))
    assert first["document_id"] == second["document_id"] == document["id"]
    assert (first["type_id"], first["type"]) == (3, {"id": 3, "title": "Goods receipt"})
    assert (first["good_id"], first["storage_id"], first["amount"], first["cost"]) == (GOOD, RETAIL, 4, 10)
    assert first["create_date"] == document["create_date"]
    assert (first["master_id"], first["master"], first["client"], first["supplier"]) == (MASTER, [], [], [])
    assert first["good"]["id"] == GOOD
    assert first["unit"]["id"] == first["unit_id"]
    assert second["comment"] == "second"
    assert _stock(api) == before + 5

    listed = _data(api.get(f"/storage_operations/documents/goods_transactions/{document['id']}"))
    assert [tx["id"] for tx in listed] == [first["id"], second["id"]]
    searched = _data(api.get(f"/storages/transactions/{LOCATION}", params={"document_id": document["id"]}))
    assert [tx["id"] for tx in searched] == [first["id"], second["id"]]
    (dumped,) = altegio_sandbox.state()["documents"]
    assert dumped["transaction_ids"] == [first["id"], second["id"]]


@pytest.mark.parametrize(("type_id", "sign"), [(1, -1), (3, 1), (7, -1)])
def test_each_document_type_signs_its_lines(
    altegio_sandbox_client: httpx.Client, type_id: int, sign: int
) -> None:
    api = altegio_sandbox_client
    before = _stock(api)
    document = _data(api.post(DOCUMENTS, json=_document(type_id)))
    line = _data(api.post(LINES, json=_line(document["id"], amount=2)))
    assert line["amount"] == sign * 2
    assert _stock(api) == before + sign * 2


def test_the_live_integrations_date_form_is_read(altegio_sandbox_client: httpx.Client) -> None:
    """A production integration sends ``yyyy-MM-dd HH:mm:ss`` with a ``time_zone`` beside it."""
    body = _document(create_date="2026-11-20 14:00:00", time_zone="-05:00")
    document = _data(altegio_sandbox_client.post(DOCUMENTS, json=body))
    assert document["create_date"] == "2026-11-20T14:00:00.000-05:00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type_id": 2}, "type_id"),  # the documents endpoint documents 1, 3 and 7 only
        ({"type_id": 4}, "type_id"),
        ({"type_id": 5}, "type_id"),
        ({"type_id": None}, "type_id"),
        ({"storage_id": 3201}, "storage_id"),  # a storage of another location
        ({"create_date": None}, "create_date"),
        ({"create_date": "yesterday"}, "create_date"),
    ],
)
def test_a_bad_document_gets_422_and_writes_nothing(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**_document(), **change}.items() if v is not None}
    assert field in _errors(altegio_sandbox_client.post(DOCUMENTS, json=body))
    assert altegio_sandbox.state()["documents"] == []


@pytest.mark.parametrize("field", ["document_id", "good_id", "amount", "cost_per_unit", "discount", "cost"])
def test_a_line_without_a_required_field_gets_422(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client, field: str
) -> None:
    api = altegio_sandbox_client
    document = _data(api.post(DOCUMENTS, json=_document()))
    body = {k: v for k, v in _line(document["id"]).items() if k != field}
    assert field in _errors(api.post(LINES, json=body))
    assert altegio_sandbox.state()["transactions"] == []


def test_a_line_without_operation_unit_type_gets_422(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    document = _data(api.post(DOCUMENTS, json=_document()))
    body = {k: v for k, v in _line(document["id"]).items() if k != "operation_unit_type"}
    assert "operation_unit_type" in _errors(api.post(LINES, json=body))


def test_a_line_for_an_unknown_or_foreign_document_or_product_gets_422(
    altegio_sandbox_client: httpx.Client,
) -> None:
    api = altegio_sandbox_client
    assert "document_id" in _errors(api.post(LINES, json=_line(999_999)))
    elsewhere = _data(api.post(f"/storage_operations/documents/{OTHER}", json=_document(storage_id=3201)))
    assert "document_id" in _errors(api.post(LINES, json=_line(elsewhere["id"])))
    document = _data(api.post(DOCUMENTS, json=_document()))
    assert "good_id" in _errors(api.post(LINES, json=_line(document["id"], good_id=1)))
    assert "amount" in _errors(api.post(LINES, json=_line(document["id"], amount=-1)))


def test_a_line_without_a_team_member_gets_the_live_400(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    api = altegio_sandbox_client
    document = _data(api.post(DOCUMENTS, json=_document()))
    for body in (
        _line(document["id"], master_id=0),
        {k: v for k, v in _line(document["id"]).items() if k != "master_id"},
    ):
        response = api.post(LINES, json=body)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "success": False,
            "data": None,
            "meta": {"message": "Staff member required"},
        }
    assert altegio_sandbox.state()["transactions"] == []


def test_an_outflow_beyond_stock_is_refused_when_configured(
    altegio_sandbox: Any, altegio_sandbox_client: httpx.Client
) -> None:
    api = altegio_sandbox_client
    altegio_sandbox.configure(allow_negative_stock=False)
    document = _data(api.post(DOCUMENTS, json=_document(7)))
    too_much = _stock(api) + 1
    errors = _errors(api.post(LINES, json=_line(document["id"], amount=too_much, cost=0)))
    assert list(errors) == ["amount"]
    assert altegio_sandbox.state()["transactions"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/goods/{FRANCHISE}", None),
        ("GET", f"/goods/{FRANCHISE}/30000001", None),
        ("GET", f"/storages/{FRANCHISE}", None),
        ("GET", f"/storages/transactions/{FRANCHISE}", None),
        ("GET", f"/goods_categories/{FRANCHISE}", None),
        ("POST", f"/storage_operations/operation/{FRANCHISE}", {}),
        ("POST", f"/storage_operations/documents/{FRANCHISE}", {}),
        ("POST", f"/storage_operations/goods_transactions/{FRANCHISE}", {}),
        ("GET", f"/storage_operations/documents/{FRANCHISE}/1", None),
    ],
)
def test_a_location_the_user_may_not_manage_answers_403(
    altegio_sandbox_client: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """The partner sees the franchise (``GET /companies``), the user may not manage it
    (``GET /companies?my=1``): its inventory endpoints answer the official pages' 403, before
    any body is read."""
    api = altegio_sandbox_client
    assert FRANCHISE in [c["id"] for c in api.get("/companies").json()["data"]]
    assert FRANCHISE not in [c["id"] for c in api.get("/companies", params={"my": 1}).json()["data"]]
    response = api.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json() == ACCESS_DENIED
