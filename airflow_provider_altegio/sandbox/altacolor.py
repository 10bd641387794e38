"""The Altacolor (DecoNetwork Product Management API) side of the sandbox.

``find`` and ``get`` take the merged query and form parameters and return the whole JSON answer,
``response_status`` included, with the codes of seed 004: 10001 success, 30001 authentication
failed, 31000 API not enabled, 40004 product id not found (a warning), 50002 no conditions,
50003 a condition's field/condition missing or date1/date2 invalid, 50004 invalid limit or offset,
50005 invalid request parameters. The HTTP status is always 200: clients must read ``severity``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.sandbox.dates import (
    DateParseError,
    ascii_digits,
    format_utc_naive,
    parse_datetime,
    to_epoch,
)
from airflow_provider_altegio.sandbox.seed import AltacolorSeed

if TYPE_CHECKING:
    from airflow_provider_altegio.sandbox.seed import ChainSeed

STATUSES: dict[int, tuple[str, str]] = {
    10001: ("SUCCESS", ""),
    30001: ("ERROR", "Authentication failed"),
    31000: ("ERROR", "API not enabled on your site"),
    40004: ("WARNING", "Product ID Not Found"),
    50002: ("ERROR", "No conditions specified"),
    50003: ("ERROR", "Invalid condition"),
    50004: ("ERROR", "Invalid limit or offset"),
    50005: ("ERROR", "Invalid request parameters"),
}
MAX_LIMIT = 100
MAX_IDS = 100
_MULTI = re.compile(r"^conditions\[(\d+)\]\[(\w+)\]$")
_STRING_FIELDS = {1: "product_code", 2: "product_name", 3: "supplier"}
_PRODUCT_ID, _DATE_MODIFIED, _BETWEEN = 4, 5, 7
_SORT_ATTRS = {
    1: "product_code",
    2: "product_name",
    3: "supplier",
    4: "product_id",
    5: "date_modified",
    6: "sort_position",
}


class AltacolorError(Exception):
    """A ``response_status`` error answer; ``description`` overrides the code's default text."""

    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(description or STATUSES[code][1])
        self.code = code
        self.description = description or STATUSES[code][1]


def response_status(code: int, description: str | None = None) -> dict[str, Any]:
    """The ``response_status`` object for ``code``."""
    severity, default = STATUSES[code]
    return {
        "code": code,
        "severity": severity,
        "description": default if description is None else description,
    }


def error_answer(error: AltacolorError) -> dict[str, Any]:
    """The whole answer for an error status."""
    return {"response_status": response_status(error.code, error.description)}


@dataclass(slots=True)
class SupplierProduct(AltacolorSeed):
    """A product of the supplier catalogue: the seeded record plus its API shape."""

    def to_api(self, *, detailed: bool = False) -> dict[str, Any]:
        """The ``Product`` of ``find`` (no variants, no prices), or the ``ProductDetailed`` of
        ``get``: its SKUs, each a size with its own code, ``dn_sku_id`` and price.

        Every product has its standard size, whose SKU code is the product code; every fifth
        has a salon size too (``<code>-XL``, 1.8 times the price).
        """
        data: dict[str, Any] = {
            "product_id": self.product_id,
            "product_code": self.product_code,
            "product_name": self.product_name,
            "supplier": self.supplier,
            "categories": [{"name": self.category}],
            "date_modified": format_utc_naive(self.date_modified),
            "sort_position": self.sort_position,
        }
        if not detailed:
            return data
        skus = [("STD", self.product_code, self.price, self.cost)]
        if self.product_id % 5 == 0:
            skus.append(
                ("XL", f"{self.product_code}-XL", round(self.price * 1.8, 2), round(self.cost * 1.8, 2))
            )
        data.update(
            brand=self.supplier,
            description=f"{self.product_name} from {self.supplier}.",
            min_qty=1,
            skus=[
                {
                    "dn_sku_id": self.product_id * 10 + n,
                    "sku": code,
                    "size": size,
                    "color": "",
                    "price": price,
                    "cost": cost,
                }
                for n, (size, code, price, cost) in enumerate(skus)
            ],
            colors=[],
            sizes=[{"code": size} for size, *_ in skus],
        )
        return data


@dataclass(frozen=True)
class Condition:
    """One parsed search condition."""

    field: int
    condition: int
    string: str | None
    date1: int | None
    date2: int | None

    def test(self, product: SupplierProduct) -> bool:
        """Whether ``product`` passes this condition."""
        value: Any
        low: Any
        high: Any
        if self.field == _DATE_MODIFIED:
            value, low, high = product.date_modified, self.date1, self.date2
        elif self.field == _PRODUCT_ID:
            value, low, high = product.product_id, int(self.string or 0), None
        else:
            value, low, high = (
                getattr(product, _STRING_FIELDS[self.field]).lower(),
                (self.string or "").lower(),
                None,
            )
        if self.condition == _BETWEEN:
            return bool(low <= value <= high)
        return bool(_COMPARE[self.condition](value, low))


_COMPARE: dict[int, Callable[[Any, Any], bool]] = {
    1: lambda a, b: a == b,
    2: lambda a, b: a != b,
    3: lambda a, b: a < b,
    4: lambda a, b: a > b,
    5: lambda a, b: a <= b,
    6: lambda a, b: a >= b,
}


def _int_param(params: Mapping[str, str], name: str, default: int | None, code: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise AltacolorError(code) from None


#: The one documented form of a condition date: UTC, ``YYYY-MM-DDTHH:MM:SS``, no offset.
_CONDITION_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def _date_param(raw: str | None, which: str) -> int:
    """A condition date in the documented form only; anything else is 50003, as a store says."""
    if raw is None or not _CONDITION_DATE.fullmatch(raw):
        raise AltacolorError(50003, f"{which} is invalid")
    try:
        return to_epoch(parse_datetime(raw, timezone.utc))
    except DateParseError:
        raise AltacolorError(50003, f"{which} is invalid") from None


def parse_conditions(params: Mapping[str, str]) -> list[Condition]:
    """Read the single (``field``...) or multi (``conditions[n][field]``...) condition form."""
    groups: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        match = _MULTI.match(key)
        if match:
            groups.setdefault(int(match[1]), {})[match[2]] = value
    if not groups and any(k in params for k in ("field", "condition", "string", "date1", "date2")):
        groups[1] = {k: params[k] for k in ("field", "condition", "string", "date1", "date2") if k in params}
    if not groups:
        raise AltacolorError(50002)
    return [_parse_condition(n, groups[n]) for n in sorted(groups)]


def _parse_condition(n: int, raw: Mapping[str, str]) -> Condition:
    for name in ("field", "condition"):
        if not raw.get(name):
            raise AltacolorError(50003, f"Condition {n} '{name}' is missing")
    field = _int_param(raw, "field", None, 50005)
    condition = _int_param(raw, "condition", None, 50005)
    if field not in (1, 2, 3, 4, 5) or condition not in (1, 2, 3, 4, 5, 6, 7):
        raise AltacolorError(50005)
    if field == _DATE_MODIFIED:
        date1 = _date_param(raw.get("date1"), "date1")
        date2 = _date_param(raw.get("date2"), "date2") if condition == _BETWEEN else None
        return Condition(field, condition, None, date1, date2)
    string = raw.get("string")
    if condition == _BETWEEN or string is None or string == "":
        raise AltacolorError(50005)
    if field == _PRODUCT_ID and not ascii_digits(string, signed=True):
        raise AltacolorError(50005)
    return Condition(field, condition, string, None, None)


class AltacolorCatalogue:
    """The supplier catalogue with the ``find`` and ``get`` operations.

    :param chain: the seeded chain the catalogue is derived from.
    :param clock: sandbox clock (epoch seconds) for ``date_modified`` of changed products.
    """

    def __init__(self, chain: ChainSeed, clock: Callable[[], int]) -> None:
        self._chain = chain
        self._clock = clock
        self.products: dict[int, SupplierProduct] = {}

    def reset(self) -> None:
        """Back to the seeded supplier catalogue."""
        self.products = {
            seed.product_id: SupplierProduct(**dataclasses.asdict(seed))
            for seed in self._chain.altacolor_products()
        }

    def find(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``POST /api/json/manage_products/find``: AND of conditions, sorted, one page, total."""
        try:
            conditions = parse_conditions(params)
            limit = _int_param(params, "limit", MAX_LIMIT, 50004)
            offset = _int_param(params, "offset", 0, 50004)
            sort_by = _int_param(params, "sortby", 6, 50005)
            if limit is None or offset is None or not 0 <= limit <= MAX_LIMIT or offset < 0:
                raise AltacolorError(50004)
            if sort_by not in _SORT_ATTRS:
                raise AltacolorError(50005)
        except AltacolorError as error:
            return error_answer(error)
        attr = _SORT_ATTRS[sort_by]
        found = [p for p in self.products.values() if all(c.test(p) for c in conditions)]
        found.sort(key=lambda p: (getattr(p, attr), p.product_id))
        return {
            "response_status": response_status(10001),
            "products": [p.to_api() for p in found[offset : offset + limit]],
            "total": len(found),
        }

    def get(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /api/json/manage_products/get``: ``id`` gives ``product``, ``ids`` gives ``products``."""
        single, many = params.get("id"), params.get("ids")
        try:
            if single and not many:
                product_id = _int_param(params, "id", None, 50005)
                product = self.products.get(product_id or 0)
                if product is None:
                    raise AltacolorError(40004)
                return {"response_status": response_status(10001), "product": product.to_api(detailed=True)}
            if not many:
                raise AltacolorError(50005)
            parts = [part.strip() for part in many.split(",") if part.strip()]
            if len(parts) > MAX_IDS or not all(ascii_digits(part) for part in parts):
                raise AltacolorError(50005)
        except AltacolorError as error:
            return error_answer(error)
        found = [self.products[int(p)] for p in parts if int(p) in self.products]
        code = 10001 if len(found) == len(parts) else 40004
        return {
            "response_status": response_status(code),
            "products": [p.to_api(detailed=True) for p in found],
        }

    def change(self, product_id: int, changes: Mapping[str, Any]) -> SupplierProduct:
        """Control API: change a supplier product (price, name...) and move ``date_modified``.

        :raises KeyError: unknown product id.
        :raises ValueError: unknown or badly typed field.
        """
        product = self.products[product_id]
        editable = {
            "product_code": str,
            "product_name": str,
            "supplier": str,
            "price": float,
            "cost": float,
            "category": str,
            "sort_position": int,
        }
        for name, value in changes.items():
            if name not in editable:
                raise ValueError(f"{name}: not an editable field")
            setattr(product, name, editable[name](value))
        product.date_modified = self._clock()
        return product
