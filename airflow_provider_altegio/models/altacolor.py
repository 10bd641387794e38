"""Models of the Altacolor (DecoNetwork) Product Management API: search conditions and products."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Annotated, Any, TypeAlias

from pydantic import BeforeValidator, Field, model_validator

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.common import (
    ApiModel,
    LooseInt,
    LooseList,
    MaybeDatetime,
    MaybeFloat,
    MaybeInt,
    MaybeStr,
    Nested,
    RequestDatetime,
    RequestModel,
    format_altacolor_datetime,
)
from airflow_provider_altegio.values import enum_member, whole_number

MAX_LIMIT = 100
"""Most rows one search or one ``ids=`` lookup returns."""
#: A search needs a condition (50002 without one); this one matches the whole catalogue.
WHOLE_CATALOGUE: dict[str, Any] = {"field": "product_id", "condition": ">", "value": "0"}


class AltacolorField(IntEnum):
    """The field a search condition tests (``field``)."""

    PRODUCT_CODE = 1
    PRODUCT_NAME = 2
    SUPPLIER = 3
    PRODUCT_ID = 4
    DATE_MODIFIED = 5

    @property
    def is_date(self) -> bool:
        """True for fields tested against ``date1``/``date2`` rather than ``string``."""
        return self is AltacolorField.DATE_MODIFIED


class AltacolorCondition(IntEnum):
    """The test a search condition applies (``condition``)."""

    EQ = 1
    NE = 2
    LT = 3
    GT = 4
    LE = 5
    GE = 6
    BETWEEN = 7


class AltacolorSortBy(IntEnum):
    """What search results are sorted by (``sortby``; the API's default is SORT_POSITION)."""

    PRODUCT_CODE = 1
    PRODUCT_NAME = 2
    SUPPLIER = 3
    PRODUCT_ID = 4
    DATE_MODIFIED = 5
    SORT_POSITION = 6


# Names besides the members' own, which enum_member reads in any case ("product_code", "eq").
_FIELD_NAMES: dict[str, AltacolorField] = {
    "code": AltacolorField.PRODUCT_CODE,
    "name": AltacolorField.PRODUCT_NAME,
    "product_supplier": AltacolorField.SUPPLIER,
    "id": AltacolorField.PRODUCT_ID,
    "modified": AltacolorField.DATE_MODIFIED,
}
_SORT_NAMES: dict[str, AltacolorSortBy] = {
    **{name: AltacolorSortBy(field.value) for name, field in _FIELD_NAMES.items()},
    "position": AltacolorSortBy.SORT_POSITION,
}
_CONDITION_NAMES: dict[str, AltacolorCondition] = {
    **dict.fromkeys(("==", "="), AltacolorCondition.EQ),
    **dict.fromkeys(("!=", "<>"), AltacolorCondition.NE),
    "<": AltacolorCondition.LT,
    ">": AltacolorCondition.GT,
    **dict.fromkeys(("<=", "lte"), AltacolorCondition.LE),
    **dict.fromkeys((">=", "gte"), AltacolorCondition.GE),
}


def _field_code(value: Any) -> AltacolorField:
    return enum_member(AltacolorField, value, "field", _FIELD_NAMES)


def _condition_code(value: Any) -> AltacolorCondition:
    return enum_member(AltacolorCondition, value, "condition", _CONDITION_NAMES)


def _string_value(value: Any) -> Any:
    # Product ids are tested with ``string`` (e.g. "id > 0"), so numbers are taken as text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class SearchCondition(RequestModel):
    """One condition of an Altacolor product search, in the API's codes
    (``{"field": 5, "condition": 7, "date1": ..., "date2": ...}``) or as people write it
    (``{"field": "product_code", "condition": "==", "value": "A-1"}``).

    ``value`` goes to ``string`` for text fields, to ``date1`` for ``date_modified``, or, a pair,
    to ``date1``/``date2``. Fields: ``product_code``/``code``, ``product_name``/``name``,
    ``supplier``, ``product_id``/``id``, ``date_modified``; conditions ``==``, ``!=``, ``<``,
    ``>``, ``<=``, ``>=``, ``between`` or ``eq``/``ne``/``lt``/``gt``/``le``/``ge``.

    :raises InvalidRequestError: a date field without ``date1``; ``between`` without ``date2``
        or on a text field; a text field without ``string``.
    """

    field: Annotated[AltacolorField, BeforeValidator(_field_code)]
    condition: Annotated[AltacolorCondition, BeforeValidator(_condition_code)]
    string: Annotated[str | None, BeforeValidator(_string_value)] = None
    date1: RequestDatetime | None = None
    date2: RequestDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _spread_value(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "value" not in data:
            return data
        data = dict(data)
        value = data.pop("value")
        for taken in ("string", "date1", "date2"):
            if data.get(taken) is not None:
                raise InvalidRequestError("value", f"give either value or {taken}, not both")
        try:
            is_date = _field_code(data.get("field")).is_date
        except InvalidRequestError:
            is_date = False  # the field error itself is reported by field validation
        if not is_date:
            data["string"] = value
        elif isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise InvalidRequestError("value", "a date range must be a pair [from, to]")
            data["date1"], data["date2"] = value
        else:
            data["date1"] = value
        return data

    @model_validator(mode="after")
    def _check(self) -> SearchCondition:
        between = self.condition is AltacolorCondition.BETWEEN
        if self.field.is_date:
            if self.date1 is None:
                raise InvalidRequestError("date1", "is required when the field is date_modified")
            if self.string is not None:
                raise InvalidRequestError("string", "is not used with date_modified; give date1")
            if between and self.date2 is None:
                raise InvalidRequestError("date2", "is required for a between condition")
            if not between and self.date2 is not None:
                raise InvalidRequestError("date2", "is only used with a between condition")
            if between and self.date2 is not None and self.date2 < self.date1:
                raise InvalidRequestError("date2", "must not be earlier than date1")
        else:
            name = self.field.name.lower()
            if between:
                raise InvalidRequestError("condition", f"between only works with date_modified, not {name}")
            if self.string is None:
                raise InvalidRequestError("string", f"is required when the field is {name}")
            for unused in ("date1", "date2"):
                if getattr(self, unused) is not None:
                    raise InvalidRequestError(unused, f"is only used with date_modified, not {name}")
        return self

    def to_params(self, index: int | None = None) -> dict[str, str]:
        """The condition as form fields: plain names, or ``conditions[index][name]``."""
        values: dict[str, str] = {"field": str(int(self.field)), "condition": str(int(self.condition))}
        if self.string is not None:
            values["string"] = self.string
        if self.date1 is not None:
            values["date1"] = format_altacolor_datetime(self.date1)
        if self.date2 is not None:
            values["date2"] = format_altacolor_datetime(self.date2)
        if index is None:
            return values
        return {f"conditions[{index}][{name}]": value for name, value in values.items()}

    def to_api(self) -> dict[str, Any]:
        """Same as :meth:`to_params` with plain names."""
        return dict(self.to_params())


ConditionsInput: TypeAlias = (
    SearchCondition | Mapping[str, Any] | Sequence[SearchCondition | Mapping[str, Any]]
)
"""One search condition or a list of them, as :class:`SearchCondition` or mappings."""


def encode_conditions(conditions: ConditionsInput) -> dict[str, str]:
    """The condition part of a search's form fields (see :func:`encode_search`).

    :raises InvalidRequestError: no condition, or an invalid one (field ``conditions[i]...``).
    """
    if isinstance(conditions, (SearchCondition, Mapping)):
        items: list[Any] = [conditions]
    elif isinstance(conditions, (str, bytes)) or not isinstance(conditions, Sequence):
        raise InvalidRequestError("conditions", "must be a condition or a list of conditions")
    else:
        items = list(conditions)
    if not items:
        raise InvalidRequestError("conditions", "at least one condition is required")
    parsed = [SearchCondition.from_input(item, prefix=f"conditions[{i}]") for i, item in enumerate(items)]
    if len(parsed) == 1:
        return parsed[0].to_params()
    params: dict[str, str] = {}
    for number, condition in enumerate(parsed, start=1):
        params.update(condition.to_params(number))
    return params


def encode_search(
    conditions: ConditionsInput,
    *,
    limit: int = MAX_LIMIT,
    offset: int = 0,
    sort_by: AltacolorSortBy | int | str | None = None,
) -> dict[str, str]:
    """Form fields of a product search (``POST /api/json/manage_products/find``), credentials aside:
    one condition as plain ``field``, ``condition``..., several as ``conditions[n][...]`` (n from 1,
    joined with AND).

    :param limit: rows per call, 0 to 100.
    :param sort_by: an :class:`AltacolorSortBy`, its number or name; the API default when None.
    :raises InvalidRequestError: no condition, an invalid condition (field
        ``conditions[i]...``), a limit outside 0..100, a negative offset or an unknown sort.
    """
    params = encode_conditions(conditions)
    params["limit"] = str(whole_number(limit, "limit", minimum=0, maximum=MAX_LIMIT))
    params["offset"] = str(whole_number(offset, "offset", minimum=0))
    if sort_by is not None:
        params["sortby"] = str(int(enum_member(AltacolorSortBy, sort_by, "sort_by", _SORT_NAMES)))
    return params


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class ResponseStatus(ApiModel):
    """``response_status`` of every Altacolor response (``severity`` SUCCESS/WARNING/ERROR)."""

    code: MaybeInt = None
    severity: MaybeStr = None
    description: MaybeStr = None

    @property
    def is_error(self) -> bool:
        """True when ``severity`` is ERROR."""
        return (self.severity or "").upper() == "ERROR"


class AltacolorSku(ApiModel):
    """A SKU (one variant: a size, a colour) of a detailed product, with its own price."""

    dn_sku_id: MaybeInt = None
    sku: MaybeStr = None
    size: MaybeStr = None
    color: MaybeStr = None
    price: MaybeFloat = None
    cost: MaybeFloat = None


class AltacolorColor(ApiModel):
    """A colour of a product."""

    id: MaybeInt = None
    name: MaybeStr = None


class AltacolorSize(ApiModel):
    """A size of a product."""

    code: MaybeStr = None


class AltacolorCategory(ApiModel):
    """A category a product belongs to."""

    name: MaybeStr = None


class AltacolorProduct(ApiModel):
    """A product as ``find`` returns it (``Product``): who and what, no variants or prices."""

    product_id: MaybeInt = None
    product_code: MaybeStr = None
    product_name: MaybeStr = None
    supplier: MaybeStr = None
    categories: LooseList[AltacolorCategory] = Field(default_factory=list)
    date_modified: MaybeDatetime = None


class AltacolorProductDetailed(AltacolorProduct):
    """A product as ``get`` returns it (``ProductDetailed``): its variants (SKUs) and their prices."""

    brand: MaybeStr = None
    description: MaybeStr = None
    skus: LooseList[AltacolorSku] = Field(default_factory=list)
    colors: LooseList[AltacolorColor] = Field(default_factory=list)
    sizes: LooseList[AltacolorSize] = Field(default_factory=list)

    def sku_for(self, *codes: MaybeStr) -> AltacolorSku | None:
        """The variant an Altegio ``article`` or ``barcode`` (``codes``) stands for, or ``None``: the
        SKU of that code, or the one priced SKU of a product of that ``product_code`` (a product
        code with several variants names no size)."""
        wanted = {str(code).strip() for code in codes if code and str(code).strip()}
        for sku in self.skus:
            if sku.sku is not None and sku.sku.strip() in wanted:
                return sku
        priced = [sku for sku in self.skus if sku.price]
        if self.product_code is not None and self.product_code.strip() in wanted and len(priced) == 1:
            return priced[0]
        return None


def match_variant(
    products: Iterable[AltacolorProductDetailed], *codes: MaybeStr
) -> tuple[AltacolorProductDetailed, AltacolorSku] | None:
    """The supplier product and variant ``codes`` stand for (see
    :meth:`AltacolorProductDetailed.sku_for`), or ``None``."""
    for product in products:
        sku = product.sku_for(*codes)
        if sku is not None:
            return product, sku
    return None


class AltacolorSearchResult(ApiModel):
    """A page of search results; ``total`` counts every match, for paging by ``offset``."""

    response_status: Nested[ResponseStatus] = None
    products: LooseList[AltacolorProduct] = Field(default_factory=list)
    total: LooseInt = 0


class AltacolorProductResponse(ApiModel):
    """What ``GET /api/json/manage_products/get`` returns: ``product`` for ``id=``, ``products``
    for ``ids=``."""

    response_status: Nested[ResponseStatus] = None
    product: Nested[AltacolorProductDetailed] = None
    products: LooseList[AltacolorProductDetailed] = Field(default_factory=list)

    @property
    def items(self) -> list[AltacolorProductDetailed]:
        """The products returned, whichever key they came under."""
        return [self.product] if self.product is not None else list(self.products)
