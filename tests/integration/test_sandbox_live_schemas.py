"""The sandbox's answers pass a live client's strict validation.

A production integration (``Cosmonaut-itc/ALR-MONOREPO``, ``apps/api/src/types.ts``) validates
Altegio's answers with strict zod schemas, amended over 2025 to what the live API returned ("API
returns numbers for ..."). The models below are this project's own transcription of the schemas
it uses against the live API: ``apiResponseSchema`` (a page of ``GET /goods``),
``apiResponseSchemaDocument`` (``POST /storage_operations/documents``) and
``apiResponseSchemaGoodsTransaction`` (``POST /storage_operations/goods_transactions``). As in zod,
``number`` takes no numeric text and no boolean, ``string`` no number, unknown keys are ignored,
and the few ``coerce`` fields convert.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict

if TYPE_CHECKING:
    import httpx

pytestmark = pytest.mark.integration

LOCATION, RETAIL, GOOD, MASTER = 1001, 3101, 10000005, 990101

Coerced = Annotated[float, Strict(False)]  # z.coerce.number()
CoercedText = Annotated[str, BeforeValidator(str)]  # z.coerce.string()


def _a_date(value: str) -> str:
    datetime.fromisoformat(value)  # the schema asks that JavaScript's Date can read it
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


class _Ref(_Strict):
    id: float
    title: str


class _Amount(_Strict):
    storage_id: float
    amount: float


class Good(_Strict):
    title: str
    value: str
    label: str
    article: str
    category: str
    category_id: float
    salon_id: float
    good_id: float
    cost: Coerced
    unit_id: float
    unit_short_title: str
    service_unit_id: float
    service_unit_short_title: str
    actual_cost: Coerced
    unit_actual_cost: Coerced
    unit_actual_cost_format: str
    unit_equals: Coerced
    barcode: str
    is_chain: bool
    comment: str
    loyalty_abonement_type_id: float
    loyalty_certificate_type_id: float
    loyalty_allow_empty_code: float
    loyalty_serial_number_limited: float
    critical_amount: float
    desired_amount: float
    actual_amounts: list[_Amount]
    last_change_date: Annotated[str, AfterValidator(_a_date)]
    is_goods_mark_enabled: bool
    loyalty_expiration_type_id: float | None


class GoodsPage(_Strict):
    success: bool
    data: list[Good]
    meta: list[Any]


class _Company(_Strict):
    id: float
    title: str
    country_id: float
    city_id: float
    timezone: float
    address: str
    coordinate_lat: str | float | None = None
    coordinate_lon: str | float | None = None
    logo: str
    zip: str
    phones: list[Any]
    site: str


class _User(_Strict):
    id: CoercedText
    name: str
    phone: str


class _Document(_Strict):
    id: float
    type_id: float
    type: _Ref
    storage_id: float
    user_id: float
    company_id: float
    number: float
    comment: str
    create_date: str
    storage: _Ref
    company: _Company
    user: _User


class DocumentAnswer(_Strict):
    success: bool
    data: _Document
    meta: list[Any]


class _Transaction(_Strict):
    id: float
    document_id: float
    type_id: float
    type: _Ref
    company_id: float
    good_id: float
    amount: float
    cost_per_unit: float
    discount: float
    cost: float
    unit_id: float
    storage_id: float
    supplier_id: float
    client_id: float
    master_id: float
    create_date: str
    comment: str
    deleted: bool
    good: _Ref
    storage: _Ref
    supplier: list[Any]
    client: list[Any]
    master: list[Any]
    unit: _Ref


class TransactionAnswer(_Strict):
    success: bool
    data: _Transaction
    meta: list[Any]


def test_a_page_of_goods(altegio_sandbox_client: httpx.Client) -> None:
    """What the integration's inventory sync reads, page by page."""
    page = GoodsPage.model_validate(
        altegio_sandbox_client.get(f"/goods/{LOCATION}", params={"count": 50}).json()
    )
    assert len(page.data) == 50


def test_an_edited_and_a_created_product_in_the_listing(altegio_sandbox_client: httpx.Client) -> None:
    api = altegio_sandbox_client
    assert api.put(f"/goods/{LOCATION}/{GOOD}", json={"title": "Renamed", "comment": "x"}).status_code == 200
    created = api.post(
        f"/goods/{LOCATION}",
        json={"title": "New serum", "category_id": 0, "sale_unit_id": 1, "service_unit_id": 1},
    )
    assert created.status_code == 201, created.text
    page = GoodsPage.model_validate(api.get(f"/goods/{LOCATION}", params={"term": "Renamed"}).json())
    assert [good.good_id for good in page.data] == [GOOD]
    page = GoodsPage.model_validate(api.get(f"/goods/{LOCATION}", params={"term": "New serum"}).json())
    assert [good.title for good in page.data] == ["New serum"]


def test_the_two_step_document_answers(altegio_sandbox_client: httpx.Client) -> None:
    """The integration books an arrival as a document, then one transaction per product."""
    api = altegio_sandbox_client
    document = DocumentAnswer.model_validate(
        api.post(
            f"/storage_operations/documents/{LOCATION}",
            json={
                "type_id": 3,
                "comment": "Arrival",
                "storage_id": RETAIL,
                "create_date": "2026-11-20 14:00:00",
            },
        ).json()
    )
    line = {
        "document_id": int(document.data.id),
        "good_id": GOOD,
        "amount": 3,
        "cost_per_unit": 2,
        "discount": 0,
        "cost": 6,
        "operation_unit_type": 2,
        "master_id": MASTER,
        "comment": "Arrival line",
    }
    answer = TransactionAnswer.model_validate(
        api.post(f"/storage_operations/goods_transactions/{LOCATION}", json=line).json()
    )
    assert answer.data.document_id == document.data.id
    assert answer.data.master_id == MASTER


def test_what_the_hook_returns_keeps_the_live_fields(altegio_sandbox: Any) -> None:
    """Through the hook, as a DAG reads them: a product (listed and got alone) and a document
    keep every field of the live schema with its live type, beyond the fields the hook models."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as hook:
        listed = next(p for p in hook.iter_products(LOCATION) if p.good_id == GOOD)
        alone = hook.get_product(GOOD, LOCATION)
        document = hook.create_storage_document(
            {
                "type": "receipt",
                "storage_id": RETAIL,
                "create_date": "2026-11-20T14:00:00",
                "comment": "Arrival",
            },
            LOCATION,
        )
    for product in (listed, alone):
        fields = product.to_json_dict()
        assert Good.model_validate(fields).good_id == GOOD
        assert {
            "loyalty_serial_number_limited",
            "loyalty_expiration_type_id",
            "is_goods_mark_enabled",
        } <= set(fields)
    assert document.company is not None
    assert _Company.model_validate(document.company.to_json_dict()).zip == ""
