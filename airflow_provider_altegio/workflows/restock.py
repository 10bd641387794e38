"""Restocking from the supplier: what runs low, the purchase order, its delivery, and what is
still on order.

:func:`low_stock` finds what to order; a restock drafts a :class:`PurchaseOrder` from it, the
supplier's detailed catalogue and what is already on order (:class:`OrderBook`), a person
approves it in a form (one field per line, :meth:`PurchaseOrder.approval_form`), and once the
delivery is confirmed (:meth:`PurchaseOrder.delivery_form`) :class:`Delivery` says what to book,
line by line. What a delivery left short stays on order as a :class:`BackOrder` until it
arrives or is cancelled. Orders and deliveries are plain data that round-trip through XCom as
JSON; a form's answer that cannot be used comes back as a list of problems in plain words.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed, match_variant
from airflow_provider_altegio.models.altegio import LowStock
from airflow_provider_altegio.values import is_blank, whole_number
from airflow_provider_altegio.workflows.catalogue import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

#: The columns of the order file sent to the supplier, in order.
CSV_COLUMNS = (
    "line",
    "supplier_code",
    "title",
    "quantity",
    "unit",
    "unit_price",
    "line_total",
    "location_id",
    "storage",
    "article",
    "barcode",
)


def low_stock(hook: AltegioHook, location_id: int | None = None) -> list[LowStock]:
    """The products of a location at or below their critical amount, with the whole sale units
    that bring each back to its desired amount (see :class:`LowStock`): the location's storages
    and its whole catalogue (one request a page). Products with no desired amount above their
    stock are left out: there is nothing to order for them.
    """
    location = hook.resolve_location_id(location_id)
    storages = hook.list_storages(location)
    titles = {s.id: s.title for s in storages if s.id is not None}
    for_sale = [s.id for s in storages if s.for_sale and s.id is not None] or sorted(titles)
    found = []
    for product in hook.iter_products(location, page_size=MAX_PAGE_SIZE):  # fewest requests
        on_hand = product.on_hand(titles)
        desired = product.desired_amount or 0.0
        if not product.is_low(titles) or desired <= on_hand or product.good_id is None or not for_sale:
            continue
        stock = {a.storage_id: a.amount for a in product.actual_amounts if a.storage_id in titles}
        home = max(stock, key=lambda s: (stock[s], s)) if any(stock.values()) else for_sale[0]
        found.append(
            LowStock(
                location_id=location,
                storage_id=home,
                storage_title=titles.get(home),
                good_id=product.good_id,
                title=product.title,
                article=product.article or None,
                barcode=product.barcode or None,
                unit=product.unit_short_title,
                on_hand=on_hand,
                critical_amount=product.critical_amount or 0.0,
                desired_amount=desired,
                quantity=_units_to_order(desired, on_hand),
            )
        )
    return sorted(found, key=lambda line: (line.storage_id, line.good_id))


def _units_to_order(desired: float, *have: float) -> int:
    """Whole sale units that bring what we have (stock, what is on order) up to ``desired``."""
    return max(0, math.ceil(desired - sum(have) - 1e-9))


@dataclass
class FormField:
    """One field of a form a person fills in Airflow's UI: its default, label, help and the JSON
    schema that picks the widget (``{"type": "integer"}`` is a number field, ``enum`` a
    dropdown; a type that admits ``"null"`` is optional)."""

    default: Any
    title: str
    description: str
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class Form:
    """What a person is asked: a text in Markdown and the fields, by name, in order."""

    body: str
    fields: dict[str, FormField]


def _line_field(number: int) -> str:
    return f"line_{number}"


def _answer_number(value: Any, label: str, problems: list[str]) -> int | None:
    """A whole number of 0 or more from a form, or ``None`` with the problem added."""
    try:
        return whole_number(value, label, minimum=0)
    except InvalidRequestError as error:
        problems.append(
            f"{label}: {'give a whole number of 0 or more' if is_blank(value) else error.problem}"
        )
        return None


def _with_legacy_lines(answer: Mapping[str, Any], name: str, problems: list[str]) -> dict[str, Any]:
    """The answer with ``{"3": 5}`` under ``name`` (its shape before 0.3, still accepted) read
    as ``{"line_3": 5}``."""
    values = {key: value for key, value in answer.items() if key != name}
    legacy = answer.get(name)
    if is_blank(legacy) or legacy == {}:
        return values
    if not isinstance(legacy, Mapping):
        problems.append(f"{name}: must map line numbers to quantities, got {legacy!r}")
        return values
    lines = {_line_field(int(k)) if str(k).strip().isdigit() else str(k): v for k, v in legacy.items()}
    return {**lines, **values}


class OrderLine(LowStock):
    """A shortage ordered from the supplier: whole sale units at the supplier's price.

    :ivar line: the line number people use to refer to it (in approvals and deliveries).
    :ivar supplier_code: the supplier's SKU code of the variant ordered.
    :ivar on_order: sale units of the product still on order from earlier orders when this one
        was drafted (already taken off ``quantity``).
    """

    line: int
    supplier_code: str
    cost_per_unit: float
    on_order: float = 0.0

    @property
    def total(self) -> float:
        return self.quantity * self.cost_per_unit

    @property
    def label(self) -> str:
        """How a form names the line: ``3. Shampoo 1000 ml``."""
        return f"{self.line}. {self.title or f'product {self.good_id}'}"

    @property
    def named(self) -> str:
        """How a message names the line: ``line 3 (Shampoo 1000 ml)``."""
        return f"line {self.line} ({self.title or f'product {self.good_id}'})"

    def details(self) -> str:
        """Where it goes, why, and what it costs, in one line of a form's help."""
        on_order = f", on order {self.on_order:g}" if self.on_order else ""
        unit = self.unit or "units"
        return (
            f"Location {self.location_id}, {self.storage_title or f'storage {self.storage_id}'}: on hand "
            f"{self.on_hand:g}, critical {self.critical_amount:g}, desired {self.desired_amount:g}{on_order} "
            f"{unit}. {self.supplier_code} at {self.cost_per_unit:.2f} per {self.unit or 'unit'}."
        )


class ReceivedLine(OrderLine):
    """An order line with what arrived: ``received`` may differ from ``quantity`` (ordered)."""

    received: int

    @property
    def ordered(self) -> int:
        return self.quantity


class BackOrder(BaseModel):
    """What an earlier order's delivery left short and is still expected (on order).

    :ivar order_id: the order it was ordered in; a later delivery is booked against it.
    :ivar outstanding: sale units still to come.
    """

    order_id: str
    line: int
    location_id: int
    storage_id: int
    storage_title: str | None = None
    good_id: int
    title: str | None = None
    supplier_code: str
    unit: str | None = None
    cost_per_unit: float
    outstanding: int

    @property
    def key(self) -> str:
        """The name of its form field: ``back_order_PO-1A2B_3``."""
        return f"back_order_{self.order_id}_{self.line}"

    @property
    def label(self) -> str:
        return f"{self.order_id} line {self.line}: {self.title or f'product {self.good_id}'}"


class ReceivedBackOrder(BackOrder):
    """A back-order with what arrived of it now."""

    received: int


class Delivery(BaseModel):
    """A confirmed delivery, checked against its order.

    :ivar lines: every order line with the quantity that arrived.
    :ivar back_orders: earlier orders' back-orders that arrived with it (booked against them).
    :ivar cancelled_back_orders: keys (:attr:`BackOrder.key`) of back-orders the supplier
        cancelled: they are no longer on order.
    :ivar extra_items: items delivered that were not ordered, as the person reported them.
        They are reported, never booked: nothing says which product or storage they are.
    """

    order_id: str
    lines: list[ReceivedLine]
    back_orders: list[ReceivedBackOrder] = Field(default_factory=list)
    cancelled_back_orders: list[str] = Field(default_factory=list)
    extra_items: list[dict[str, Any]] = Field(default_factory=list)
    note: str = ""

    @property
    def short(self) -> list[ReceivedLine]:
        """Lines that arrived with less than was ordered (nothing at all included)."""
        return [line for line in self.lines if line.received < line.ordered]

    @property
    def over(self) -> list[ReceivedLine]:
        """Lines that arrived with more than was ordered."""
        return [line for line in self.lines if line.received > line.ordered]

    def receipts(self) -> list[dict[str, Any]]:
        """The keyword arguments of one receipt per (location, storage), for
        ``CreateStorageOperationOperator``: what arrived (back-orders included, each naming its
        own order), at the order's prices, sorted so that a re-run gives each storage the same
        map index (the exactly-once key includes it)."""
        by_storage: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for line in self.lines:
            if line.received > 0:
                differs = f", ordered {line.ordered}" if line.received != line.ordered else ""
                comment = f"{self.order_id} line {line.line}, supplier code {line.supplier_code}{differs}"
                by_storage[(line.location_id, line.storage_id)].append(_receipt_line(line, comment))
        for back in self.back_orders:
            if back.received > 0:
                comment = f"{back.order_id} line {back.line} (back-order), supplier code {back.supplier_code}"
                by_storage[(back.location_id, back.storage_id)].append(_receipt_line(back, comment))
        return [
            {
                "location_id": location_id,
                "storage_id": storage_id,
                "comment": f"Delivery of purchase order {self.order_id}",
                "transactions": transactions,
            }
            for (location_id, storage_id), transactions in sorted(by_storage.items())
        ]

    def report(self) -> str:
        """What differed from the order, in plain words (empty when everything arrived)."""
        out = [
            f"line {line.line} {line.title}: ordered {line.ordered}, arrived {line.received}"
            + (" (the rest stays on order)" if line.received < line.ordered else "")
            for line in self.short + self.over
        ]
        out += [f"back-order {b.label}: {b.received} of {b.outstanding} arrived" for b in self.back_orders]
        out += [f"back-order {key}: cancelled by the supplier" for key in self.cancelled_back_orders]
        out += [f"not ordered: {item}" for item in self.extra_items]
        return "\n".join(out)


def _receipt_line(line: ReceivedLine | ReceivedBackOrder, comment: str) -> dict[str, Any]:
    return {
        "good_id": line.good_id,
        "amount": line.received,
        "cost_per_unit": line.cost_per_unit,
        "operation_unit_type": 1,  # whole sale units
        "comment": comment,
    }


class PurchaseOrder(BaseModel):
    """An order to the supplier: lines per storage, what the supplier does not carry, and what
    earlier orders still have on order.

    :ivar not_carried: low-stock products the supplier has no variant for; someone orders them
        elsewhere.
    :ivar covered: low-stock products that need nothing more: what is on order brings them to
        their desired amount (``quantity`` is what they would need without it).
    :ivar back_orders: earlier orders' lines still expected; their delivery can be confirmed
        with this order's.
    :ivar notices: what the person approving must read first (e.g. the product that started an
        asset-triggered run is not carried by the supplier).
    """

    order_id: str
    supplier: str = "Altacolor"
    lines: list[OrderLine]
    not_carried: list[LowStock] = Field(default_factory=list)
    covered: list[LowStock] = Field(default_factory=list)
    back_orders: list[BackOrder] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)

    @classmethod
    def draft(
        cls,
        order_id: str,
        shortages: Iterable[LowStock | Mapping[str, Any]],
        catalogue: Iterable[AltacolorProductDetailed],
        supplier: str = "Altacolor",
        on_order: Mapping[tuple[int, int], float] | None = None,
        back_orders: Iterable[BackOrder] = (),
    ) -> PurchaseOrder:
        """Price each shortage from the supplier's detailed catalogue (the variant its article or
        barcode names, see :func:`match_variant`); the ones it does not carry go to
        ``not_carried``. What is on order (``{(location_id, good_id): units}``, see
        :meth:`OrderBook.on_order`) is taken off each quantity; a shortage it covers goes to
        ``covered``. Lines are numbered in (location, storage, product) order."""
        details = list(catalogue)
        pending = on_order or {}
        lines: list[OrderLine] = []
        not_carried: list[LowStock] = []
        covered: list[LowStock] = []
        wanted = sorted(
            (LowStock.model_validate(item) for item in shortages),
            key=lambda s: (s.location_id, s.storage_id, s.good_id),
        )
        for shortage in wanted:
            ordered = pending.get((shortage.location_id, shortage.good_id), 0.0)
            quantity = _units_to_order(shortage.desired_amount, shortage.on_hand, ordered)
            if quantity == 0:
                covered.append(shortage)
                continue
            match = match_variant(details, shortage.article, shortage.barcode)
            if match is None or match[1].sku is None or not match[1].price:
                not_carried.append(shortage.model_copy(update={"quantity": quantity}))
                continue
            lines.append(
                OrderLine(
                    **shortage.model_dump(exclude={"quantity"}),
                    quantity=quantity,
                    on_order=ordered,
                    line=len(lines) + 1,
                    supplier_code=match[1].sku,
                    cost_per_unit=match[1].price,
                )
            )
        return cls(
            order_id=order_id,
            supplier=supplier,
            lines=lines,
            not_carried=not_carried,
            covered=covered,
            back_orders=[b for b in back_orders if b.order_id != order_id],
        )

    @property
    def total(self) -> float:
        return sum(line.total for line in self.lines)

    def note_trigger(self, location_id: int | None, good_ids: Iterable[int]) -> PurchaseOrder:
        """This order with a notice for each product whose running low started the run (an
        asset event of ``location_id``) and that the order does not contain, saying why."""
        notices = list(self.notices)
        for good_id in good_ids:

            def here(item: LowStock, good_id: int = good_id) -> bool:
                return item.good_id == good_id and location_id in (None, item.location_id)

            missing = next((item for item in self.not_carried if here(item)), None)
            covered = next((item for item in self.covered if here(item)), None)
            if missing is not None:
                notices.append(
                    f"This run started because {missing.title} (location {missing.location_id}) ran "
                    f"low, but {self.supplier} does not carry it, so it is not in this order: order "
                    "it elsewhere."
                )
            elif covered is not None:
                notices.append(
                    f"This run started because {covered.title} ran low; what is already on order covers it, "
                    "so it is not in this order."
                )
        return self.model_copy(update={"notices": notices})

    def _line_numbers(self, changes: Mapping[str, Any] | None, field: str) -> dict[int, int]:
        """``{line number: whole units}`` from a person's ``{"3": 5}``; every key must be a line."""
        if is_blank(changes):
            return {}
        if not isinstance(changes, Mapping):
            raise InvalidRequestError(field, f"must map line numbers to quantities, got {changes!r}")
        known = {line.line for line in self.lines}
        out = {}
        for key, value in changes.items():
            number = whole_number(key, f"{field} key {key!r}")
            if number not in known:
                raise InvalidRequestError(f"{field}[{key!r}]", f"order {self.order_id} has no line {number}")
            out[number] = whole_number(value, f"{field}[{key!r}]", minimum=0)
        return out

    def with_quantities(self, changes: Mapping[str, Any] | None) -> PurchaseOrder:
        """This order with the quantities a person changed (``{"3": 5}``; 0 drops the line).

        :raises InvalidRequestError: naming ``quantities[...]``: not a line of the order, or not
            a whole number of 0 or more.
        """
        quantities = self._line_numbers(changes, "quantities")
        return self._with_lines(quantities)

    def _with_lines(self, quantities: Mapping[int, int]) -> PurchaseOrder:
        lines = [
            line.model_copy(update={"quantity": quantities.get(line.line, line.quantity)})
            for line in self.lines
        ]
        return self.model_copy(update={"lines": [line for line in lines if line.quantity > 0]})

    def receive(
        self,
        received: Mapping[str, Any] | None = None,
        extra_items: Iterable[Any] | None = None,
        note: str = "",
    ) -> Delivery:
        """The delivery of this order: every line as ordered unless ``received`` says otherwise
        (``{"3": 4}``: line 3 arrived with 4; 0: not at all).

        :raises InvalidRequestError: naming ``received[...]``: not a line, or not a whole
            number of 0 or more.
        """
        return self._delivery(
            self._line_numbers(received, "received"),
            extra_items=[item if isinstance(item, dict) else {"item": item} for item in extra_items or []],
            note=note or "",
        )

    def _delivery(self, received: Mapping[int, int], **fields: Any) -> Delivery:
        """The delivery where each line arrived as ``received`` says, else as ordered."""
        lines = [
            ReceivedLine(**line.model_dump(), received=received.get(line.line, line.quantity))
            for line in self.lines
        ]
        return Delivery(order_id=self.order_id, lines=lines, **fields)

    # --- the forms a person fills in ------------------------------------------------------

    def _header(self) -> list[str]:
        """What the person must know beside the lines, a paragraph each: what is not carried,
        what is covered by what is on order, and what earlier orders still owe."""

        def named(item: LowStock) -> str:
            where = f"location {item.location_id}: " if len(self._locations()) > 1 else ""
            return f"{where}{item.title or f'product {item.good_id}'}"

        rows = []
        if self.not_carried:
            rows.append(
                f"**Not carried by {self.supplier}**, to order elsewhere ({len(self.not_carried)}): "
                + "; ".join(
                    f"{named(i)} ({_code(i)}): {i.quantity} {i.unit or 'units'}" for i in self.not_carried
                )
                + "."
            )
        if self.covered:
            rows.append(
                f"**Low, but covered by what is already on order** ({len(self.covered)}): "
                + "; ".join(named(item) for item in self.covered)
                + "."
            )
        if self.back_orders:
            rows.append(
                "**Still on order from earlier orders** (back-orders): "
                + "; ".join(
                    f"{b.label} ({b.outstanding} {b.unit or 'units'} to come)" for b in self.back_orders
                )
                + "."
            )
        return rows

    def _locations(self) -> set[int]:
        return {x.location_id for x in [*self.lines, *self.not_carried, *self.covered]}

    def _top(self) -> list[str]:
        return [f"> **{notice}**\n" for notice in self.notices]

    def _line_fields(self, title_and_help: Callable[[OrderLine], tuple[str, str]]) -> dict[str, FormField]:
        """A whole-number field per line, defaulting to its quantity."""
        fields = {}
        for line in self.lines:
            title, description = title_and_help(line)
            schema = {"type": "integer", "minimum": 0}
            fields[_line_field(line.line)] = FormField(line.quantity, title, description, schema)
        return fields

    def approval_form(self) -> Form:
        """The approval: one whole-number field per line, labelled with its product and
        defaulting to the drafted quantity (0 drops the line). Above them, the order's notices
        first, then its total, what is not carried and what is still on order."""
        intro = (
            f"Purchase order **{self.order_id}** to {self.supplier}: {len(self.lines)} lines, total "
            f"{self.total:.2f} as drafted. Quantities are whole sale units; set a line to 0 to drop it."
        )
        fields = self._line_fields(lambda line: (line.label, line.details()))
        return Form(body="\n\n".join([*self._top(), intro, *self._header()]), fields=fields)

    def read_approval(self, answer: Mapping[str, Any]) -> tuple[PurchaseOrder, list[str]]:
        """The order as approved (``answer``: the approval form's values; a line left out keeps
        its drafted quantity), and the problems that make the answer unusable (empty when it can
        be used). The shape before 0.3, ``{"quantities": {"3": 5}}``, is read too."""
        problems: list[str] = []
        values = _with_legacy_lines(answer, "quantities", problems)
        by_field = {_line_field(line.line): line for line in self.lines}
        quantities: dict[int, int] = {}
        for name, value in values.items():
            line = by_field.get(name)
            if line is None:
                problems.append(_unknown_field(name, self.order_id))
                continue
            number = _answer_number(value, line.named, problems)
            if number is not None:
                quantities[line.line] = number
        approved = self._with_lines(quantities)
        if not problems and self.lines and not approved.lines:
            problems.append("Every quantity is 0, so nothing would be ordered: reject the order instead.")
        return approved, problems

    def delivery_form(self) -> Form:
        """The delivery: per line, the whole units that arrived (default: as ordered); per
        back-order of an earlier order, what arrived of it now (default: nothing); which
        back-orders the supplier cancelled; what came without being ordered; a delivery note.
        Only the lines are required."""
        fields = self._line_fields(
            lambda line: (
                f"{line.label}: arrived",
                f"Ordered {line.quantity} {line.unit or 'units'}. {line.details()}",
            )
        )
        for back in self.back_orders:
            fields[back.key] = FormField(
                default=0,
                title=f"{back.label}: arrived now",
                description=f"Back-order: {back.outstanding} {back.unit or 'units'} still to come, "
                f"for location {back.location_id}, {back.storage_title or f'storage {back.storage_id}'}.",
                schema={"type": "integer", "minimum": 0, "maximum": back.outstanding},
            )
        if self.back_orders:
            fields["cancelled_back_orders"] = FormField(
                default=None,
                title="Back-orders the supplier cancelled",
                description="They are no longer on order; the next restock orders them again if needed.",
                schema={
                    "type": ["null", "array"],
                    "items": {"type": "string", "enum": [b.key for b in self.back_orders]},
                    "examples": [b.key for b in self.back_orders],
                    "values_display": {b.key: b.label for b in self.back_orders},
                },
            )
        fields["extra_items"] = FormField(
            default=None,
            title="Delivered but not ordered",
            description='One object per item, e.g. [{"code": "ALT-123", "amount": 2}]. Reported, not booked. '
            "Empty: nothing extra came.",
            schema={
                "type": ["null", "array"],
                "items": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "amount": {"type": "number"}},
                },
            },
        )
        fields["delivery_note"] = FormField(
            default=None,
            title="Delivery note",
            description="The delivery note's number, or a remark. Optional.",
            schema={"type": ["null", "string"]},
        )
        short = "what arrived is booked; what did not stays on order"
        intro = (
            f"Purchase order **{self.order_id}** to {self.supplier}: {len(self.lines)} lines. "
            f"**Delivered**: {short}. **Cancelled**: the order was cancelled and nothing of it came."
        )
        return Form(body="\n\n".join([*self._top(), intro]), fields=fields)

    def read_delivery(
        self,
        chosen: Iterable[str],
        answer: Mapping[str, Any],
        outstanding: Mapping[str, int] | None = None,
    ) -> tuple[Delivery | None, list[str]]:
        """The delivery the delivery form's ``answer`` describes (``None`` when the order was
        cancelled) and the problems that make it unusable (empty when it can be used).

        :param outstanding: each back-order's units still on order now, by key (see
            :meth:`OrderBook.outstanding`): what arrived of it cannot be more (someone may have
            booked it in another run meanwhile). Default: as when this order was drafted.
        """
        problems: list[str] = []
        values = _with_legacy_lines(answer, "received", problems)
        lines = {_line_field(line.line): line for line in self.lines}
        backs = {back.key: back for back in self.back_orders}
        now = dict(outstanding) if outstanding is not None else {k: b.outstanding for k, b in backs.items()}
        received: dict[int, int] = {}
        arrived: dict[str, int] = {}
        for name, value in values.items():
            if name in ("extra_items", "delivery_note", "cancelled_back_orders"):
                continue
            if name in lines:
                number = _answer_number(value, lines[name].named, problems)
                if number is not None:
                    received[lines[name].line] = number
            elif name in backs:
                number = _answer_number(value, backs[name].label, problems)
                if number is not None and number > now.get(name, 0):
                    problems.append(
                        f"{backs[name].label}: {number} arrived, but only {now.get(name, 0)} "
                        "are still on order (put the rest under Delivered but not ordered)"
                    )
                elif number:
                    arrived[name] = number
            else:
                problems.append(_unknown_field(name, self.order_id))
        cancelled = _chosen_back_orders(values.get("cancelled_back_orders"), backs, problems)
        problems += [f"{backs[key].label}: both arrived and cancelled" for key in cancelled if key in arrived]
        extra = _extra_items(values.get("extra_items"), problems)
        if list(chosen) == ["Cancelled"] and (arrived or cancelled):
            problems.append(
                "Cancelled means nothing of this order came, but back-orders are given: choose "
                "Delivered and set this order's lines to 0 instead."
            )
        if problems or list(chosen) == ["Cancelled"]:
            return None, problems
        note = values.get("delivery_note")
        return (
            self._delivery(
                received,
                back_orders=[
                    ReceivedBackOrder(**backs[key].model_dump(), received=n) for key, n in arrived.items()
                ],
                cancelled_back_orders=cancelled,
                extra_items=extra,
                note="" if is_blank(note) else str(note).strip(),
            ),
            [],
        )

    # --- the files ------------------------------------------------------------------------

    def to_csv(self) -> str:
        """The order as the supplier reads it: one row per line, a header row first."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for line in self.lines:
            writer.writerow(
                [
                    line.line,
                    line.supplier_code,
                    line.title or "",
                    line.quantity,
                    line.unit or "",
                    f"{line.cost_per_unit:.2f}",
                    f"{line.total:.2f}",
                    line.location_id,
                    line.storage_title or line.storage_id,
                    line.article or "",
                    line.barcode or "",
                ]
            )
        return out.getvalue()

    def to_markdown(self) -> str:
        """The order as a person reviews it: its notices, a table of lines (with what was
        already on order), the total, what is not carried and what is still on order."""
        rows = self._top()
        rows += [
            f"Purchase order **{self.order_id}** to {self.supplier}: {len(self.lines)} lines, "
            f"total {self.total:.2f}. Quantities are whole sale units.",
            "",
            "| line | location | storage | product | on hand | critical | desired | on order | order "
            "| price | total |",
            "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {line.line} | {line.location_id} | {line.storage_title or line.storage_id} | "
            f"{line.title} ({line.supplier_code}) | {line.on_hand:g} | {line.critical_amount:g} | "
            f"{line.desired_amount:g} | {line.on_order:g} | {line.quantity} {line.unit or ''} | "
            f"{line.cost_per_unit:.2f} | {line.total:.2f} |"
            for line in self.lines
        ]
        return "\n".join(rows) + "".join(f"\n\n{row}" for row in self._header())


def _code(item: LowStock) -> str:
    """The code a supplier knows a product by: its article, else its barcode."""
    if item.article or item.barcode:
        return f"article {item.article}" if item.article else f"barcode {item.barcode}"
    return f"good {item.good_id}"


def _unknown_field(name: str, order_id: str) -> str:
    if name.startswith("line_") and name[5:].isdigit():
        return f"order {order_id} has no line {name[5:]}"
    return f"{name}: not a field of this form"


def _chosen_back_orders(value: Any, backs: Mapping[str, BackOrder], problems: list[str]) -> list[str]:
    if is_blank(value) or value == []:
        return []
    if not isinstance(value, list):
        problems.append(f"Back-orders the supplier cancelled: must be a list, got {value!r}")
        return []
    unknown = [key for key in value if key not in backs]
    problems += [
        f"Back-orders the supplier cancelled: {key} is not a back-order of this form" for key in unknown
    ]
    return [str(key) for key in value if key in backs]


def _extra_items(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    """What came without being ordered: a list of ``{"code": ..., "amount": ...}``."""
    if is_blank(value) or value == []:
        return []
    if not isinstance(value, list):
        problems.append('Delivered but not ordered: must be a list like [{"code": "ALT-123", "amount": 2}]')
        return []
    items = []
    for number, item in enumerate(value, start=1):
        where = f"Delivered but not ordered, item {number}"
        if not isinstance(item, Mapping) or is_blank(item.get("code")):
            problems.append(f'{where}: give its code and amount, e.g. {{"code": "ALT-123", "amount": 2}}')
            continue
        try:
            amount = whole_number(item.get("amount"), "amount", minimum=1)
        except InvalidRequestError as error:
            problems.append(f"{where} ({item['code']}): amount {error.problem}")
            continue
        items.append({**item, "code": str(item["code"]).strip(), "amount": amount})
    return items


# --- what is on order ------------------------------------------------------------------------

#: What a record keeps of each order line: enough to book a back-order against it later.
RECORD_FIELDS = frozenset(BackOrder.model_fields) - {"order_id", "outstanding"} | {"quantity"}


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


class OrderStore:
    """Where an :class:`OrderBook` keeps its records: a mapping in memory (tests), or Airflow
    Variables (:class:`VariableOrderStore`). Values are JSON-ready dicts."""

    def __init__(self, data: MutableMapping[str, Any] | None = None) -> None:
        self.data = data if data is not None else {}

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        return None if value is None else dict(value)

    def set(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.data if key.startswith(prefix))


class VariableOrderStore(OrderStore):
    """Airflow Variables, as tasks read and write them: in the metadata database behind the
    API server, so every worker and every run sees the same records."""

    def get(self, key: str) -> dict[str, Any] | None:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None, deserialize_json=True)
        return dict(value) if value else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value, description="On order (altegio_restock)", serialize_json=True)

    def delete(self, key: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(key)

    def keys(self, prefix: str) -> list[str]:
        from airflow.sdk import Variable

        return sorted(Variable.keys(prefix=prefix))


class OrderBook:
    """What is on order, kept across runs and workers: one record per purchase order, under
    ``<prefix><order_id>`` in an :class:`OrderStore`.

    A record holds the order's lines and, per delivery that brought some of them, what arrived
    (``received[<delivering order id>][<line>]``) or was cancelled. A line's outstanding units
    are its quantity minus everything received, or none once cancelled. Every write sets values
    under keys only one run writes (its own order, or its own delivery's entry in an earlier
    order), so a retried task writes the same thing again instead of counting twice. A record
    with nothing outstanding is deleted.

    An order counts as on order in full while it waits for its approval (``drafted``, for
    ``approval_wait``) and once sent (``approved``, for ``delivery_wait``); what its delivery
    left short counts for ``back_order_wait`` after that delivery. A record older than that
    belongs to a run that never finished, and is ignored.
    """

    def __init__(
        self,
        store: OrderStore,
        prefix: str = "altegio_restock.on_order.",
        *,
        approval_wait: timedelta = timedelta(days=3),
        delivery_wait: timedelta = timedelta(days=21),
        back_order_wait: timedelta = timedelta(days=60),
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.waits = {"drafted": approval_wait, "approved": delivery_wait, "delivered": back_order_wait}

    def _key(self, order_id: str) -> str:
        return f"{self.prefix}{order_id}"

    def records(self, now: datetime | None = None, exclude: str | None = None) -> list[dict[str, Any]]:
        """Every order still counting as on order (but ``exclude``), oldest first."""
        moment = now or _now()
        found = []
        for key in self.store.keys(self.prefix):
            record = self.store.get(key)
            if not record or record["order_id"] == exclude:
                continue
            if datetime.fromisoformat(record["since"]) + self.waits[record["status"]] > moment:
                found.append(record)
        return sorted(found, key=lambda r: (r["since"], r["order_id"]))

    @staticmethod
    def _outstanding(record: Mapping[str, Any], line: Mapping[str, Any]) -> int:
        number = str(line["line"])
        if any(number in lines for lines in record.get("cancelled", {}).values()):
            return 0
        received = sum(int(lines.get(number, 0)) for lines in record.get("received", {}).values())
        return max(0, int(line["quantity"]) - received)

    def on_order(
        self, now: datetime | None = None, exclude: str | None = None
    ) -> dict[tuple[int, int], float]:
        """Units on order per ``(location_id, good_id)``: waiting for approval, sent, or left
        short by a delivery; ``exclude`` names an order not to count (the one being drafted)."""
        total: dict[tuple[int, int], float] = defaultdict(float)
        for record in self.records(now, exclude):
            for line in record["lines"]:
                total[(line["location_id"], line["good_id"])] += self._outstanding(record, line)
        return {key: units for key, units in total.items() if units > 0}

    def back_orders(self, now: datetime | None = None, exclude: str | None = None) -> list[BackOrder]:
        """What delivered orders are still owed, line by line."""
        found = []
        for record in self.records(now, exclude):
            if record["status"] != "delivered":
                continue
            for line in record["lines"]:
                if outstanding := self._outstanding(record, line):
                    found.append(
                        BackOrder.model_validate(
                            {**line, "order_id": record["order_id"], "outstanding": outstanding}
                        )
                    )
        return found

    def outstanding(self, now: datetime | None = None) -> dict[str, int]:
        """Each back-order's units still to come, by :attr:`BackOrder.key`."""
        return {back.key: back.outstanding for back in self.back_orders(now)}

    def _write(self, order_id: str, status: str, lines: Iterable[BaseModel], now: datetime | None) -> None:
        self.store.set(
            self._key(order_id),
            {
                "order_id": order_id,
                "status": status,
                "since": (now or _now()).isoformat(),
                "lines": [line.model_dump(mode="json", include=set(RECORD_FIELDS)) for line in lines],
            },
        )

    def reserve(self, order: PurchaseOrder, now: datetime | None = None) -> None:
        """Count a drafted order as on order while it waits for its approval, so that a run
        drafting meanwhile does not order the same again."""
        if order.lines:
            self._write(order.order_id, "drafted", order.lines, now)

    def approve(self, order: PurchaseOrder, now: datetime | None = None) -> None:
        """Count the order, with its approved quantities, as on order until its delivery."""
        if order.lines:
            self._write(order.order_id, "approved", order.lines, now)
        else:
            self.drop(order.order_id)

    def drop(self, order_id: str) -> None:
        """Forget an order: rejected, or cancelled as a whole."""
        self.store.delete(self._key(order_id))

    def record_delivery(self, delivery: Delivery, now: datetime | None = None) -> None:
        """Book a delivery: what arrived of its order (the rest stays on order), what arrived of
        earlier orders' back-orders, each against its own order, and the back-orders the
        supplier cancelled. Orders left with nothing outstanding are forgotten."""
        own = self.store.get(self._key(delivery.order_id))
        if own is None:  # sent by an older version, or its record lost: the delivery knows the lines
            self._write(delivery.order_id, "delivered", delivery.lines, now)
            own = self.store.get(self._key(delivery.order_id)) or {}
        own.update(status="delivered", since=(now or _now()).isoformat())
        own.setdefault("received", {})[delivery.order_id] = {
            str(line.line): line.received for line in delivery.lines
        }
        touched = {delivery.order_id: own}

        def earlier(order_id: str) -> dict[str, Any] | None:
            if order_id not in touched and (record := self.store.get(self._key(order_id))) is not None:
                touched[order_id] = record
            return touched.get(order_id)

        for back in delivery.back_orders:
            if (record := earlier(back.order_id)) is not None:
                entry = record.setdefault("received", {}).setdefault(delivery.order_id, {})
                entry[str(back.line)] = back.received
        for key in delivery.cancelled_back_orders:
            order_id, line = key.removeprefix("back_order_").rsplit("_", 1)
            if (record := earlier(order_id)) is not None:
                cancelled = record.setdefault("cancelled", {}).setdefault(delivery.order_id, [])
                cancelled[:] = sorted({*cancelled, line})
        for order_id, record in touched.items():
            if any(self._outstanding(record, line) for line in record["lines"]):
                self.store.set(self._key(order_id), record)
            else:
                self.drop(order_id)
