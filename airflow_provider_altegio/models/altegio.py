"""Models of the Altegio (YCLIENTS) inventory API: products, categories, storages, transactions,
storage documents and storage operations, with the API's own field names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta, tzinfo
from datetime import timezone as dt_timezone
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, model_validator

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.common import (
    ApiModel,
    LooseFloat,
    LooseList,
    MaybeBool,
    MaybeFloat,
    MaybeInt,
    MaybeLocalDatetime,
    MaybeStr,
    Nested,
    RequestBool,
    RequestFloat,
    RequestInt,
    RequestLocalDatetime,
    RequestModel,
    Required,
    format_altegio_document_date,
)
from airflow_provider_altegio.models.common import EntityRef as EntityRef  # re-exported (a documented path)
from airflow_provider_altegio.values import enum_member


class DocumentType(IntEnum):
    """Type of a storage document (``type_id``), as the API numbers them."""

    SALE = 1
    USAGE = 2
    RECEIPT = 3
    WRITE_OFF = 4
    TRANSFER = 5

    @classmethod
    def parse(cls, value: Any, field: str = "type_id") -> DocumentType:
        """Read a document type: the enum, ``1``-``5`` (also as text) or a name (``sale``,
        ``write-off``, ``writeoff``...) in any case.

        :raises InvalidRequestError: anything else, naming ``field``.
        """
        return enum_member(cls, value, field, {"writeoff": cls.WRITE_OFF}, what="a document type")

    @property
    def is_outflow(self) -> bool:
        """True for documents that take goods out of a storage (sale, usage, write-off)."""
        return self in (DocumentType.SALE, DocumentType.USAGE, DocumentType.WRITE_OFF)


def _document_type_field(value: Any) -> DocumentType:
    try:
        return DocumentType.parse(value)
    except InvalidRequestError as exc:
        # Re-raised as a plain ValueError so the error path is the field's own location.
        raise ValueError(exc.problem) from None


DocumentTypeField = Annotated[DocumentType, BeforeValidator(_document_type_field)]


class StorageAmount(ApiModel):
    """Stock of one product in one storage (an item of ``actual_amounts``)."""

    storage_id: MaybeInt = None
    amount: LooseFloat = 0.0


class Product(ApiModel):
    """A product ("good") as the goods endpoints return it; ``good_id`` is the id."""

    good_id: MaybeInt = None
    #: the same id again, as the official examples also write it
    id: MaybeInt = None
    salon_id: MaybeInt = None
    title: MaybeStr = None
    value: MaybeStr = None
    label: MaybeStr = None
    print_title: MaybeStr = None
    article: MaybeStr = None
    barcode: MaybeStr = None
    category_id: MaybeInt = None
    #: the category's title (a live integration reads it; not an object)
    category: MaybeStr = None
    cost: MaybeFloat = None
    actual_cost: MaybeFloat = None
    unit_id: MaybeInt = None
    unit_short_title: MaybeStr = None
    service_unit_id: MaybeInt = None
    service_unit_short_title: MaybeStr = None
    unit_actual_cost: MaybeFloat = None
    unit_actual_cost_format: MaybeStr = None
    unit_equals: MaybeFloat = None
    critical_amount: MaybeFloat = None
    desired_amount: MaybeFloat = None
    actual_amounts: LooseList[StorageAmount] = Field(default_factory=list)
    last_change_date: MaybeLocalDatetime = None
    netto: MaybeFloat = None
    brutto: MaybeFloat = None
    comment: MaybeStr = None
    is_barcode: MaybeBool = None

    def identifiers(self) -> set[tuple[str, str]]:
        """Every ``(kind, code)`` that names this product exactly: ``("good_id", "123")``,
        ``("article", ...)``, ``("barcode", ...)``, and ``("code", ...)`` for either of the last
        two (what a list people hand in may give)."""
        found = set()
        if self.good_id is not None:
            found.add(("good_id", str(self.good_id)))
        for kind in ("article", "barcode"):
            value = str(getattr(self, kind) or "").strip()
            if value:
                found |= {(kind, value), ("code", value)}
        return found

    def amount_in(self, storage_id: int) -> float:
        """Stock in ``storage_id`` (0.0 when the product has none there)."""
        return self.on_hand([storage_id])

    def on_hand(self, storage_ids: Iterable[int] | None = None) -> float:
        """Stock in ``storage_ids`` (default: every storage listed), in the sale unit."""
        wanted = None if storage_ids is None else set(storage_ids)
        return sum(a.amount for a in self.actual_amounts if wanted is None or a.storage_id in wanted)

    def is_low(self, storage_ids: Iterable[int] | None = None) -> bool:
        """Whether the stock in ``storage_ids`` is at or below ``critical_amount`` (a product
        without one is never low)."""
        return self.critical_amount is not None and self.on_hand(storage_ids) <= self.critical_amount


class LowStock(ApiModel):
    """A product at or below its critical amount in a location (its stock in every storage):
    what a restock orders, into its home storage (the one holding most of it, else the
    location's storage for sale).

    :ivar quantity: whole sale units that bring the stock back to ``desired_amount``.
    :ivar unit: the sale unit's short title: the unit of every amount here.
    """

    location_id: int
    storage_id: int
    storage_title: str | None = None
    good_id: int
    title: str | None = None
    article: str | None = None
    barcode: str | None = None
    unit: str | None = None
    on_hand: float
    critical_amount: float
    desired_amount: float
    quantity: int


class CorrectionRule(RequestModel):
    """A unit-conversion rule of a product: which unit a document type counts in."""

    type: DocumentTypeField
    base_unit: Literal["sale", "service"]


class _ProductFields(RequestModel):
    """Optional product fields shared by create and update."""

    print_title: str | None = None
    article: str | None = None
    barcode: str | None = None
    cost: RequestFloat | None = Field(default=None, ge=0)
    actual_cost: RequestFloat | None = Field(default=None, ge=0)
    unit_equals: RequestFloat | None = Field(default=None, gt=0)
    critical_amount: RequestFloat | None = Field(default=None, ge=0)
    desired_amount: RequestFloat | None = Field(default=None, ge=0)
    netto: RequestFloat | None = Field(default=None, ge=0)
    brutto: RequestFloat | None = Field(default=None, ge=0)
    comment: str | None = None
    tax_variant: RequestInt | None = Field(default=None, ge=0)
    vat_id: RequestInt | None = Field(default=None, ge=0)
    correction_rules: list[CorrectionRule] | None = None


class ProductCreate(_ProductFields):
    """Body of ``POST /goods/{location_id}``.

    ``sale_unit_id`` may also be given as ``unit_id`` (its name in responses).
    """

    title: str = Field(min_length=1)
    category_id: RequestInt = Field(ge=0)
    sale_unit_id: RequestInt = Field(gt=0, validation_alias=AliasChoices("sale_unit_id", "unit_id"))
    service_unit_id: RequestInt = Field(gt=0)


class ProductUpdate(_ProductFields):
    """Body of ``PUT /goods/{location_id}/{product_id}``; only the fields given are sent."""

    title: str | None = Field(default=None, min_length=1)
    category_id: RequestInt | None = Field(default=None, ge=0)
    sale_unit_id: RequestInt | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("sale_unit_id", "unit_id")
    )
    service_unit_id: RequestInt | None = Field(default=None, gt=0)


#: ProductUpdate fields whose current value a Product shows under another name.
_READ_AS = {"sale_unit_id": "unit_id"}


def product_differences(product: Product, update: ProductUpdate) -> dict[str, Any]:
    """The fields of ``update`` that would change ``product`` (``{field: new value}``); a field
    the product does not show (``correction_rules``, ``vat_id``...) counts as a change."""
    changed = {}
    for field, new in update.to_api().items():
        attribute = _READ_AS.get(field, field)
        if attribute not in Product.model_fields:
            changed[field] = new
            continue
        old = getattr(product, attribute)
        same = (
            abs(float(old) - float(new)) < 1e-9
            if isinstance(new, (int, float)) and isinstance(old, (int, float))
            else old == new
        )
        if not same:
            changed[field] = new
    return changed


class ProductUpdateOutcome(BaseModel):
    """What a bulk update did to one product.

    :ivar change: the change's index in the input.
    :ivar product: how the change named it (``good_id 12``, ``article SH-500``).
    :ivar outcome: ``updated``; ``unchanged`` (no request); ``failed`` (see ``error``);
        ``unknown`` (no such product).
    :ivar fields: the fields sent (for ``updated`` and ``failed``).
    """

    change: int
    product: str
    good_id: int | None = None
    outcome: Literal["updated", "unchanged", "failed", "unknown"]
    fields: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class BulkUpdateReport(BaseModel):
    """Every product of a bulk update and what happened to it, in input order."""

    outcomes: list[ProductUpdateOutcome] = Field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes if item.outcome == outcome)

    @property
    def failed(self) -> list[ProductUpdateOutcome]:
        return [item for item in self.outcomes if item.outcome == "failed"]

    def summary(self) -> str:
        """``3 updated, 5 unchanged, 1 failed, 0 unknown``."""
        return ", ".join(f"{self.count(o)} {o}" for o in ("updated", "unchanged", "failed", "unknown"))


class Category(ApiModel):
    """A product category."""

    id: MaybeInt = None
    title: MaybeStr = None
    parent_category_id: MaybeInt = None
    is_chain: MaybeBool = None
    article: MaybeStr = None
    comment: MaybeStr = None


class CategoryCreate(RequestModel):
    """Body of ``POST /goods_categories/{location_id}``."""

    title: str = Field(min_length=1)
    parent_category_id: RequestInt | None = Field(default=None, ge=0)
    article: str | None = None
    comment: str | None = None


class CategoryUpdate(RequestModel):
    """Body of ``PUT /goods_categories/{location_id}/{category_id}``; only given fields are sent."""

    title: str | None = Field(default=None, min_length=1)
    parent_category_id: RequestInt | None = Field(default=None, ge=0)
    article: str | None = None
    comment: str | None = None


class ProductTreeElement(ApiModel):
    """An element of the goods search tree: a category or a product."""

    parent_id: MaybeInt = None
    item_id: MaybeInt = None
    category_id: MaybeInt = None
    title: MaybeStr = None
    is_chain: MaybeBool = None
    is_category: MaybeBool = None
    is_item: MaybeBool = None


class CategoryNode(ProductTreeElement):
    """A category with its direct children (``/goods/category_node/...``)."""

    children: LooseList[ProductTreeElement] = Field(default_factory=list)
    children_count: MaybeInt = None


class Storage(ApiModel):
    """A storage (inventory) of a location; the consumables flag is read under either of its
    documented names and written back as ``for_services``."""

    id: MaybeInt = None
    title: MaybeStr = None
    for_services: MaybeBool = Field(
        default=None, validation_alias=AliasChoices("for_services", "for_service")
    )
    for_sale: MaybeBool = None
    comment: MaybeStr = None


class _HasDocumentType:
    """What records carrying a document ``type_id`` share: ``document_type``, and ``storage_id``
    and ``type_id`` read from the nested objects where only those came (in some listings)."""

    type_id: int | None
    if TYPE_CHECKING:  # the models' fields; runtime annotations here would reorder them
        type: EntityRef | str | None
        storage_id: int | None
        storage: EntityRef | None

    @model_validator(mode="after")
    def _ids_from_refs(self) -> Any:
        if self.storage_id is None and self.storage is not None and self.storage.id is not None:
            self.storage_id = self.storage.id
        if self.type_id is None and isinstance(self.type, EntityRef) and self.type.id is not None:
            self.type_id = self.type.id
        return self

    @property
    def document_type(self) -> DocumentType | None:
        """``type_id`` as a :class:`DocumentType`, or None for other types."""
        try:
            return DocumentType(self.type_id) if self.type_id is not None else None
        except ValueError:
            return None


class Transaction(_HasDocumentType, ApiModel):
    """A goods transaction. ``amount`` is signed: negative for outflows (sale, usage, write-off).

    ``good_id`` and ``storage_id`` fall back to ``good.id`` and ``storage.id``.
    """

    id: MaybeInt = None
    document_id: MaybeInt = None
    type_id: MaybeInt = None
    type: Nested[EntityRef | str] = None
    company_id: MaybeInt = None
    good_id: MaybeInt = None
    good: Nested[EntityRef] = None
    storage_id: MaybeInt = None
    storage: Nested[EntityRef] = None
    amount: MaybeFloat = None
    cost_per_unit: MaybeFloat = None
    cost: MaybeFloat = None
    discount: MaybeFloat = None
    unit_id: MaybeInt = None
    unit: Nested[EntityRef] = None
    operation_unit_type: MaybeInt = None
    master_id: MaybeInt = None
    master: Nested[EntityRef] = None
    client_id: MaybeInt = None
    #: the reference's example names it ``clients`` (one object)
    client: Nested[EntityRef] = Field(default=None, validation_alias=AliasChoices("client", "clients"))
    supplier_id: MaybeInt = None
    supplier: Nested[EntityRef] = None
    service_id: MaybeInt = None
    service: Nested[EntityRef] = None
    record_id: MaybeInt = None
    user_id: MaybeInt = None
    create_date: MaybeLocalDatetime = None
    last_change_date: MaybeLocalDatetime = None
    comment: MaybeStr = None
    deleted: MaybeBool = None

    @model_validator(mode="after")
    def _good_id_from_ref(self) -> Transaction:
        if self.good_id is None and self.good is not None and self.good.id is not None:
            self.good_id = self.good.id
        return self


class StorageDocument(_HasDocumentType, ApiModel):
    """A storage document: the header that groups the transactions of one operation."""

    id: MaybeInt = None
    type_id: MaybeInt = None
    type: Nested[EntityRef | str] = None
    storage_id: MaybeInt = None
    storage: Nested[EntityRef] = None
    user_id: MaybeInt = None
    user: Nested[EntityRef] = None
    company_id: MaybeInt = None
    company: Nested[EntityRef] = None
    number: MaybeInt = None
    comment: MaybeStr = None
    create_date: MaybeLocalDatetime = None


class StorageOperationResult(ApiModel):
    """What ``POST /storage_operations/operation/{location_id}`` returns."""

    document: Required[StorageDocument]
    transactions: LooseList[Transaction] = Field(default_factory=list)


class Company(ApiModel):
    """A location (company) as ``GET /company/{location_id}`` returns it (what the provider uses);
    ``timezone`` is offset hours in text (``"-5"``)."""

    id: MaybeInt = None
    title: MaybeStr = None
    timezone: MaybeStr = None
    timezone_name: MaybeStr = None

    def zone(self) -> tzinfo:
        """The location's time zone: ``timezone_name`` when known, else the ``timezone`` offset.

        :raises ValueError: neither is usable.
        """
        if self.timezone_name:
            try:
                return ZoneInfo(self.timezone_name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        try:
            hours = float(self.timezone) if self.timezone is not None else math.nan
        except ValueError:
            hours = math.nan
        if not math.isfinite(hours) or abs(hours) > 14:
            raise ValueError(f"location {self.id} names no usable time zone (timezone={self.timezone!r})")
        return dt_timezone(timedelta(hours=hours))


class AuthResult(ApiModel):
    """What ``POST /auth`` returns. ``user_token`` is a secret: it is left out of ``repr``."""

    user_token: str = Field(repr=False)
    id: MaybeInt = None
    name: MaybeStr = None
    login: MaybeStr = None
    email: MaybeStr = None
    phone: MaybeStr = None


def _api_number(value: float) -> int | float:
    # 1.0 goes out as 1, as in the documented examples.
    return int(value) if float(value).is_integer() else value


class TransactionRequest(RequestModel):
    """One goods line of a storage operation; ``amount`` is positive (the API signs it by
    document type)."""

    good_id: RequestInt = Field(gt=0)
    amount: RequestFloat = Field(gt=0, allow_inf_nan=False)
    cost_per_unit: RequestFloat = Field(default=0.0, ge=0, allow_inf_nan=False)
    discount: RequestFloat = Field(default=0.0, ge=0, le=100)
    cost: RequestFloat | None = Field(default=None, ge=0, allow_inf_nan=False)
    operation_unit_type: RequestInt = 1
    master_id: RequestInt | None = Field(default=None, ge=0)
    client_id: RequestInt | None = Field(default=None, ge=0)
    supplier_id: RequestInt | None = Field(default=None, ge=0)
    comment: str | None = None
    paid: RequestBool | None = None
    account_id: RequestInt | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> TransactionRequest:
        if self.operation_unit_type not in (1, 2):
            raise InvalidRequestError(
                "operation_unit_type",
                f"must be 1 (sale unit) or 2 (write-off unit), got {self.operation_unit_type}",
            )
        return self

    @property
    def total_cost(self) -> float:
        """``cost`` if given, else ``amount * cost_per_unit * (1 - discount / 100)``."""
        if self.cost is not None:
            return self.cost
        return round(self.amount * self.cost_per_unit * (1 - self.discount / 100), 2)

    def to_api(self) -> dict[str, Any]:
        """The transaction as the API documents it, ``cost`` filled in."""
        body: dict[str, Any] = {
            "good_id": self.good_id,
            "amount": _api_number(self.amount),
            "cost_per_unit": _api_number(self.cost_per_unit),
            "discount": _api_number(self.discount),
            "cost": _api_number(self.total_cost),
            "operation_unit_type": self.operation_unit_type,
        }
        optional = {"master_id", "client_id", "supplier_id", "comment", "paid", "account_id"}
        return body | self.model_dump(include=optional, exclude_none=True)


class StorageOperationRequest(RequestModel):
    """Body of ``POST /storage_operations/operation/{location_id}``: a document and its lines.

    ``type_id`` (or ``type``) takes anything :meth:`DocumentType.parse` takes but a transfer,
    which is booked as two documents (see ``CreateStorageOperationOperator``). The lines may be
    given as ``transactions`` or ``goods_transactions``. ``master_id`` (who books it, required by
    the live API) also goes on every line that names none. A ``create_date`` without an offset
    is the location's wall-clock time.
    """

    type_id: DocumentTypeField = Field(validation_alias=AliasChoices("type_id", "type"))
    storage_id: RequestInt = Field(gt=0)
    create_date: RequestLocalDatetime
    transactions: list[TransactionRequest] = Field(
        min_length=1, validation_alias=AliasChoices("transactions", "goods_transactions")
    )
    master_id: RequestInt = Field(gt=0)
    comment: str | None = None
    paid: RequestBool | None = None
    account_id: RequestInt | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _no_transfer(self) -> StorageOperationRequest:
        if self.type_id is DocumentType.TRANSFER:
            raise InvalidRequestError(
                "type_id",
                "a transfer is booked as two documents, a write-off from the source storage and a "
                "receipt into the target (CreateStorageOperationOperator with target_storage_id); "
                "no source documents how one type-5 document names its target",
            )
        return self

    def to_api(self) -> dict[str, Any]:
        """The body as the official field list has it.

        :raises ValueError: ``create_date`` is naive (the hook places it in the location's zone).
        """
        lines = []
        for line in self.transactions:
            body_line = line.to_api()
            body_line.setdefault("master_id", self.master_id)
            lines.append(body_line)
        body: dict[str, Any] = {
            "type_id": int(self.type_id),
            "storage_id": self.storage_id,
            "create_date": format_altegio_document_date(self.create_date),
            "master_id": self.master_id,
            "goods_transactions": lines,
        }
        return body | self.model_dump(include={"comment", "paid", "account_id"}, exclude_none=True)


#: ``type_id`` of ``POST /storage_operations/documents``: its own numbering (a write-off is 7).
DOCUMENT_ENDPOINT_TYPES = {DocumentType.SALE: 1, DocumentType.RECEIPT: 3, DocumentType.WRITE_OFF: 7}


def _two_step_type(value: Any) -> DocumentType:
    if value == 7 or value == "7":
        return DocumentType.WRITE_OFF
    kind = _document_type_field(value)
    if kind not in DOCUMENT_ENDPOINT_TYPES:
        raise ValueError(
            f"a two-step document is a sale, a receipt or a write-off, not a {kind.name.lower()}"
        )
    return kind


class DocumentRequest(RequestModel):
    """Body of ``POST /storage_operations/documents/{location_id}``: an empty document, which
    ``POST /storage_operations/goods_transactions/{location_id}`` fills line by line.

    ``type_id`` is a sale, a receipt or a write-off (by name, or the endpoint's numbers 1, 3, 7);
    a ``create_date`` without an offset is the location's wall-clock time.
    """

    type_id: Annotated[DocumentType, BeforeValidator(_two_step_type)] = Field(
        validation_alias=AliasChoices("type_id", "type")
    )
    storage_id: RequestInt = Field(gt=0)
    create_date: RequestLocalDatetime
    comment: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The body as the official field list has it (``create_date`` with its offset).

        :raises ValueError: ``create_date`` is naive (the hook places it in the location's zone).
        """
        body = {
            "type_id": DOCUMENT_ENDPOINT_TYPES[self.type_id],
            "storage_id": self.storage_id,
            "create_date": format_altegio_document_date(self.create_date),
        }
        return body | self.model_dump(include={"comment"}, exclude_none=True)
