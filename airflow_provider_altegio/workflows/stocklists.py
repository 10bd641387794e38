"""Lists of products people hand in (damage lists, stocktake counts), from a form or a CSV.

Each line names a product by barcode or article, an amount, and the unit it was counted in:
the *sale* unit (a bottle) or the *service* unit (ml, g; ``unit_equals`` of them make one sale
unit). :func:`parse_lines` reads the lines, :func:`match_lines` finds each one's product and
storage, and :func:`count_differences` compares a stocktake's counts with the stock on hand.
A line that cannot be used keeps a ``problem`` in plain words, so that every bad line can be
reported at once before anything is written.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altegio import Product, Storage
from airflow_provider_altegio.workflows.booking import overdrawn
from airflow_provider_altegio.workflows.catalogue import find_products

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

Unit = Literal["sale", "service"]


#: The environment variable that lists a chain's locations for the forms' dropdowns.
LOCATIONS_VARIABLE = "ALTEGIO_LOCATIONS"


def location_choices(text: str | None = None) -> dict[int, str]:
    """The chain's locations to offer in a form, ``{id: name}``, from ``"1001=Downtown,
    1002=Uptown"`` (by default the ``ALTEGIO_LOCATIONS`` environment variable; a bare id is
    named by itself). Empty when unset: forms then take ids typed in.

    Read when a DAG file is parsed, so it is the environment, not a request or a Variable.

    :raises InvalidRequestError: naming ``ALTEGIO_LOCATIONS``: an id that is not a number.
    """
    raw = os.environ.get(LOCATIONS_VARIABLE, "") if text is None else text
    choices = {}
    for item in filter(None, (part.strip() for part in raw.replace(";", ",").split(","))):
        location, _, name = (piece.strip() for piece in item.partition("="))
        if not location.isdecimal():
            raise InvalidRequestError(LOCATIONS_VARIABLE, f"{location!r} is not a location id")
        choices[int(location)] = name or location
    return choices


def location_param(choices: Mapping[int, str], *, multiple: bool) -> dict[str, Any]:
    """The keyword arguments of an optional ``Param`` choosing one location (``multiple``:
    several), default none: a dropdown of ``choices`` (see :func:`location_choices`), or an id
    typed in (one per line for several) when there are none. Several arrive as a list of ids,
    as text when picked in the form; ``AltegioHook.resolve_location_ids`` reads both."""
    display = {str(location): f"{name} ({location})" for location, name in choices.items()}
    if not multiple:
        if not choices:
            return {"default": None, "type": ["null", "integer"]}
        return {
            "default": None,
            "type": ["null", "integer"],
            "enum": [None, *choices],
            "values_display": {"null": "The connection's location", **display},
        }
    an_id = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]}
    if not choices:
        return {"default": [], "type": ["null", "array"], "items": an_id}
    return {
        "default": [],
        "type": ["null", "array"],
        "items": an_id,
        "examples": list(display),
        "values_display": display,
    }


def line_schema(amount_field: str = "amount", *, reason: bool = True) -> dict[str, Any]:
    """The JSON schema of one line of a list in a DAG's params (a form row): a code, the amount
    (``amount_field``), its unit and, optionally, its storage, location and reason."""
    properties: dict[str, Any] = {
        "code": {"type": "string", "description": "barcode or article"},
        "barcode": {"type": "string"},
        "article": {"type": "string"},
        amount_field: {"type": ["number", "string"]},
        "unit": {"type": "string", "enum": ["sale", "service"]},
        "storage_id": {"type": ["integer", "null"]},
        "location_id": {"type": ["integer", "null"]},
    }
    if reason:
        properties["reason"] = {"type": "string"}
    return {"type": "object", "properties": properties}


#: ``operation_unit_type`` of a storage operation line, per unit.
UNIT_TYPES: dict[str, int] = {"sale": 1, "service": 2}
CODE_KINDS = ("barcode", "article", "code")


class ProductLine(BaseModel):
    """One line of a list, as read, then as matched (``product``, ``location_id``, ``storage_id``).

    :ivar source: where the line came from (``params line 2``, ``counts.csv row 5``).
    :ivar code_kind: ``barcode``, ``article`` or ``code`` (either).
    :ivar problem: why the line cannot be used, or ``None``.
    """

    source: str
    code_kind: str = "code"
    code: str = ""
    amount: float | None = None
    unit: str = "sale"
    reason: str = ""
    location_id: int | None = None
    storage_id: int | None = None
    storage_title: str | None = None
    product: Product | None = None
    problem: str | None = None

    @property
    def in_sale_units(self) -> float:
        """``amount`` in the product's sale unit (``unit_equals`` converts a service amount)."""
        if self.product is None or self.amount is None:
            raise ValueError(f"{self.source}: not a matched line with an amount")
        return to_sale_units(self.amount, self.unit, self.product)

    def describe(self) -> str:
        """The amount with its unit's name, e.g. ``250 ml``."""
        name = unit_name(self.product, self.unit) if self.product else f"{self.unit} units"
        return f"{self.amount:g} {name}"


def read_csv_rows(path: str) -> list[tuple[str, dict[str, str]]]:
    """The rows of the CSV at ``path`` (any ``ObjectStoragePath`` URL, or a local path) as
    ``(source, row)`` pairs; column names are lower-cased.

    :raises FileNotFoundError: nothing at ``path``.
    """
    from airflow_provider_altegio.results import object_storage_path

    location = object_storage_path(path)
    if not location.exists():
        raise FileNotFoundError(f"{path} does not exist")
    with location.open("r") as handle:  # type: ignore[no-untyped-call]
        reader = csv.DictReader(io.StringIO(handle.read()))
        # Row 1 is the header, so the first data row is row 2, as a spreadsheet shows it.
        return [
            (f"{location.name} row {n}", {k.strip().lower(): v for k, v in row.items() if k})
            for n, row in enumerate(reader, start=2)
        ]


def text_rows(text: str, columns: Iterable[str], label: str = "line") -> list[tuple[str, dict[str, str]]]:
    """The lines of a list typed or pasted into a form, as ``("<label> n", row)`` pairs: one
    line each, its values in ``columns`` order, separated by commas, semicolons or tabs (as a
    spreadsheet pastes); a first line naming its columns (``code,counted``) sets them instead.
    Blank lines are skipped."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    delimiter = next((d for d in ("\t", ";") if d in lines[0]), ",")
    cells = [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]
    names = [c.lower() for c in cells[0]]
    if set(names) & set(CODE_KINDS):  # a header row
        cells = cells[1:]
    else:
        names = list(columns)
    return [
        (f"{label} {n}", {name: value for name, value in zip(names, row, strict=False) if value})
        for n, row in enumerate(cells, start=1)
    ]


def read_lines(
    inline: Iterable[Mapping[str, Any]] | str | None,
    csv_path: str | None,
    *,
    label: str = "line",
    amount_field: str = "amount",
    allow_zero: bool = False,
    columns: Iterable[str] = (),
    default_reason: str = "no reason given",
) -> list[ProductLine]:
    """The lines given in a run's params (``"<label> 1"``, ...) followed by the rows of the CSV
    at ``csv_path`` (when given), parsed by :func:`parse_lines`. ``inline`` is a list of
    mappings, or text typed in a form (:func:`text_rows`, its values in ``columns`` order);
    ``default_reason`` is the reason of lines that give none.

    :raises InvalidRequestError: naming ``csv_path``: nothing there (a retry will not help).
    """
    if isinstance(inline, str):
        rows = text_rows(inline, columns or ("code", amount_field), label)
    else:
        rows = [(f"{label} {n}", dict(line)) for n, line in enumerate(inline or [], start=1)]
    if csv_path:
        try:
            rows += read_csv_rows(csv_path)
        except FileNotFoundError:
            raise InvalidRequestError("csv_path", f"{csv_path} does not exist") from None
    return parse_lines(rows, amount_field=amount_field, allow_zero=allow_zero, default_reason=default_reason)


def problems_report(lines: Iterable[ProductLine]) -> str:
    """One line per bad line: ``  params line 2 (SH-500): no product with article 'SH-500'``."""
    return "\n".join(
        f"  {line.source} ({line.code or '?'}): {line.problem}" for line in lines if line.problem
    )


def parse_lines(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    amount_field: str = "amount",
    allow_zero: bool = False,
    default_reason: str = "no reason given",
) -> list[ProductLine]:
    """Each ``(source, row)`` as a :class:`ProductLine`; a row that cannot be used carries a
    ``problem``. ``allow_zero``: a count of 0 is a valid amount (a stocktake's empty shelf);
    ``default_reason``: the reason of a row that gives none."""
    return [_parse(source, row, amount_field, allow_zero, default_reason) for source, row in rows]


def _parse(
    source: str, row: Mapping[str, Any], amount_field: str, allow_zero: bool, default_reason: str
) -> ProductLine:
    code_kind, code = "code", ""
    for kind in CODE_KINDS:
        if str(row.get(kind) or "").strip():
            code_kind, code = kind, str(row[kind]).strip()
            break
    line = ProductLine(
        source=source,
        code_kind=code_kind,
        code=code,
        unit=str(row.get("unit") or "sale").strip().lower(),
        reason=str(row.get("reason") or "").strip() or default_reason,
    )
    raw_amount = row.get(amount_field)
    try:
        line.amount = float(str(raw_amount).strip().replace(",", "."))
    except ValueError:
        line.problem = f"{amount_field} {raw_amount!r} is not a number"
    for field in ("location_id", "storage_id"):
        raw = row.get(field)
        try:
            setattr(line, field, int(str(raw).strip()) if str(raw or "").strip() else None)
        except ValueError:
            line.problem = f"{field} {raw!r} is not a number"
    if not code:
        line.problem = "no barcode, article or code"
    elif line.unit not in UNIT_TYPES:
        line.problem = f"unit {line.unit!r} is neither 'sale' nor 'service'"
    elif line.amount is not None and (line.amount < 0 or (line.amount == 0 and not allow_zero)):
        least = "0 or more" if allow_zero else "greater than 0"
        line.problem = f"{amount_field} must be {least}, got {line.amount:g}"
    return line


def match_lines(
    hook: AltegioHook,
    lines: list[ProductLine],
    location_id: int | None = None,
    default_storage_id: int | None = None,
) -> list[ProductLine]:
    """Give each good line of a list people handed in its one product (by exact barcode or
    article, each code looked up once per location, see :func:`find_products`) and storage, or
    a ``problem``.

    :param location_id: the location of lines without their own ``location_id`` (default: the
        connection's).
    :param default_storage_id: the storage of that location's lines without one (default: each
        location's storage for sale).
    """
    default = hook.resolve_location_id(location_id)
    for location, group in by_location(lines, default).items():
        codes = {(line.code_kind, line.code) for line in group if not line.problem}
        storage = default_storage_id if location == default else None
        assign_products(group, hook.list_storages(location), find_products(hook, codes, location), storage)
    return lines


def assign_products(
    lines: list[ProductLine],
    storages: Iterable[Storage],
    found: Mapping[tuple[str, str], list[Product]],
    default_storage_id: int | None = None,
) -> list[ProductLine]:
    """Give each good line of one location its one product and storage, or a ``problem``.

    :param found: the products each ``(code_kind, code)`` names exactly (:func:`find_products`).
    :param default_storage_id: the storage of lines without one (default: the storage for sale).
    """
    by_id = {storage.id: storage for storage in storages if storage.id is not None}
    default = default_storage_id or next((s.id for s in by_id.values() if s.for_sale), None)
    for line in lines:
        if line.problem:
            continue
        matches = found.get((line.code_kind, line.code), [])
        storage_id = line.storage_id or default
        if not matches:
            line.problem = f"no product with {line.code_kind} {line.code!r}"
        elif len(matches) > 1:
            ids = ", ".join(str(p.good_id) for p in matches)
            line.problem = f"{line.code_kind} {line.code!r} matches several products ({ids})"
        elif storage_id not in by_id:
            line.problem = f"storage {storage_id} is not a storage of this location"
        elif line.unit == "service" and not (matches[0].unit_equals or 0) > 0:
            line.problem = "the product has no unit_equals; give the amount in the sale unit"
        else:
            line.product, line.storage_id = matches[0], storage_id
            line.storage_title = by_id[storage_id].title
    return lines


def mark_overdrawn(lines: Iterable[ProductLine]) -> None:
    """Give each matched line that takes more than its storage holds (with the earlier lines of
    that product and storage) a ``problem``; several lines of one product are added up."""
    usable = [line for line in lines if not line.problem and line.product is not None and line.storage_id]
    takes = [(line.product, line.storage_id, line.in_sale_units) for line in usable]
    for index, before, on_hand in overdrawn(takes):  # type: ignore[arg-type]  # filtered above
        line = usable[index]
        unit = line.product.unit_short_title if line.product else None
        held = f"{on_hand:g} {unit or 'units'}"
        line.problem = f"{line.describe()} is more than the {held} on hand in {line.storage_title}"
        if before:
            line.problem += f" (other lines already take {before:g})"


def per_storage(
    rows: Iterable[tuple[tuple[int, int, str], dict[str, Any]]],
    comment: Callable[[str, list[dict[str, Any]]], str],
) -> list[dict[str, Any]]:
    """The keyword arguments of one ``CreateStorageOperationOperator`` per (location, storage,
    operation type), from ``((location_id, storage_id, operation_type), transaction)`` rows;
    ``comment(operation_type, transactions)`` gives each document's comment."""
    groups: dict[tuple[int, int, str], list[dict[str, Any]]] = defaultdict(list)
    for key, transaction in rows:
        groups[key].append(transaction)
    return [
        {
            "location_id": location_id,
            "storage_id": storage_id,
            "operation_type": kind,
            "comment": comment(kind, transactions),
            "transactions": transactions,
        }
        for (location_id, storage_id, kind), transactions in sorted(groups.items())
    ]


def write_offs(lines: Iterable[ProductLine], prefix: str) -> list[dict[str, Any]]:
    """One write-off per (location, storage) of the good matched lines, each line's reason in its
    transaction and a summary of the reasons in the document's comment (``prefix: reason x2``)."""

    def comment(kind: str, transactions: list[dict[str, Any]]) -> str:
        reasons = Counter(t["comment"] for t in transactions)
        return f"{prefix}: " + "; ".join(f"{r} x{n}" if n > 1 else r for r, n in reasons.items())

    rows = [
        (
            (line.location_id, line.storage_id, "write_off"),
            {
                "good_id": line.product.good_id,
                "amount": line.amount,
                "operation_unit_type": UNIT_TYPES[line.unit],
                "cost_per_unit": cost_per_unit(line.product, line.unit),
                "comment": line.reason,
            },
        )
        for line in lines
        if not line.problem and line.product is not None and line.location_id and line.storage_id
    ]
    return per_storage(rows, comment)


def by_location(lines: Iterable[ProductLine], default_location_id: int) -> dict[int, list[ProductLine]]:
    """The lines per location: their own ``location_id``, else ``default_location_id`` (which
    they then carry)."""
    groups: dict[int, list[ProductLine]] = defaultdict(list)
    for line in lines:
        line.location_id = line.location_id or default_location_id
        groups[line.location_id].append(line)
    return dict(groups)


def to_sale_units(amount: float, unit: str, product: Product) -> float:
    """``amount`` of ``unit`` in the product's sale unit."""
    return amount / float(product.unit_equals or 1) if unit == "service" else amount


def unit_name(product: Product, unit: str) -> str:
    """The short title of the product's sale or service unit (``pcs``, ``ml``)."""
    title = product.service_unit_short_title if unit == "service" else product.unit_short_title
    return title or f"{unit} units"


def explain_amount(amount: float, unit: str, product: Product) -> str:
    """An amount in both units, e.g. ``-500 ml = -1 pcs of 500 ml`` (sale amounts say what one
    sale unit holds, when that is known)."""
    sale = unit_name(product, "sale")
    holds = (
        f" of {float(product.unit_equals):g} {unit_name(product, 'service')}" if product.unit_equals else ""
    )
    if unit == "service":
        in_sale = to_sale_units(amount, unit, product)
        return f"{amount:+g} {unit_name(product, 'service')} = {in_sale:+.4g} {sale}{holds}"
    return f"{amount:+g} {sale}{holds}"


def cost_per_unit(product: Product, unit: str) -> float:
    """The product's cost price of one sale or service unit (for a document's value)."""
    value = product.unit_actual_cost if unit == "service" else product.actual_cost
    return float(value or 0)


class StockDifference(BaseModel):
    """A counted product in one storage: what was counted against what Altegio holds.

    Amounts are in ``unit``, the unit it was counted in (the sale unit when its lines mixed
    units); ``on_hand`` is converted to it.
    """

    location_id: int
    storage_id: int
    storage_title: str | None = None
    product: Product
    unit: str
    on_hand: float
    counted: float
    sources: list[str]

    @property
    def difference(self) -> float:
        return round(self.counted - self.on_hand, 6)

    def explain(self) -> str:
        """The difference in plain words, both units: ``-500 ml = -1 pcs of 500 ml``."""
        return explain_amount(self.difference, self.unit, self.product) if self.difference else "as counted"

    def report(self) -> dict[str, Any]:
        """The difference as JSON (for XCom, a review and the booking): ids, amounts in
        ``unit`` (named by ``unit_name``), the plain-words difference and the cost price of one
        ``unit``."""
        return {
            "location_id": self.location_id,
            "storage_id": self.storage_id,
            "storage_title": self.storage_title,
            "good_id": self.product.good_id,
            "title": self.product.title,
            "unit": self.unit,
            "unit_name": unit_name(self.product, self.unit),
            "on_hand": round(self.on_hand, 3),
            "counted": self.counted,
            "difference": self.difference,
            "explained": self.explain(),
            "cost_per_unit": cost_per_unit(self.product, self.unit),
            "sources": self.sources,
        }


def differences_markdown(reports: Iterable[Mapping[str, Any]]) -> str:
    """:meth:`StockDifference.report` rows as a table a person reviews."""
    rows = [
        "| location | storage | product | on hand | counted | difference |",
        "|---:|---|---|---:|---:|---|",
    ]
    rows += [
        f"| {r['location_id']} | {r['storage_title']} | {r['title']} | {r['on_hand']:g} {r['unit_name']} | "
        f"{r['counted']:g} {r['unit_name']} | {r['explained']} |"
        for r in reports
    ]
    return "\n".join(rows)


def count_differences(lines: Iterable[ProductLine]) -> list[StockDifference]:
    """The matched, good lines of a stocktake summed per (location, storage, product) and
    compared with the stock on hand; sorted the same way."""
    groups: dict[tuple[int, int, int], list[ProductLine]] = defaultdict(list)
    for line in lines:
        if not line.problem and line.product is not None and line.storage_id is not None:
            groups[(line.location_id or 0, line.storage_id, line.product.good_id or 0)].append(line)
    out = []
    for (location_id, storage_id, _), group in sorted(groups.items()):
        product = group[0].product
        if product is None:  # filtered above; for the type checker
            continue
        unit = group[0].unit if len({line.unit for line in group}) == 1 else "sale"
        sale_on_hand = product.amount_in(storage_id)
        out.append(
            StockDifference(
                location_id=location_id,
                storage_id=storage_id,
                storage_title=group[0].storage_title,
                product=product,
                unit=unit,
                on_hand=sale_on_hand * float(product.unit_equals or 1) if unit == "service" else sale_on_hand,
                counted=sum(
                    (line.amount or 0.0) if line.unit == unit else line.in_sale_units for line in group
                ),
                sources=[line.source for line in group],
            )
        )
    return out
