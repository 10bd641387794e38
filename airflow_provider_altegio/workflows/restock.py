"""Restocking from the supplier: what runs low, the purchase order, and its delivery.

:func:`low_stock` finds what to order; a restock drafts a :class:`PurchaseOrder` from it and the
supplier's detailed catalogue, a person approves it (changing quantities if need be), and once
the delivery is confirmed :meth:`PurchaseOrder.receive` says what to book, line by line. Orders
and deliveries are plain data that round-trip through XCom as JSON.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed, match_variant
from airflow_provider_altegio.models.altegio import LowStock
from airflow_provider_altegio.values import is_blank, whole_number

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
    for product in hook.iter_products(location):
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
                quantity=math.ceil(desired - on_hand - 1e-9),
            )
        )
    return sorted(found, key=lambda line: (line.storage_id, line.good_id))


class OrderLine(LowStock):
    """A shortage ordered from the supplier: whole sale units at the supplier's price.

    :ivar line: the line number people use to refer to it (in approvals and deliveries).
    :ivar supplier_code: the supplier's SKU code of the variant ordered.
    """

    line: int
    supplier_code: str
    cost_per_unit: float

    @property
    def total(self) -> float:
        return self.quantity * self.cost_per_unit


class ReceivedLine(OrderLine):
    """An order line with what arrived: ``received`` may differ from ``quantity`` (ordered)."""

    received: int

    @property
    def ordered(self) -> int:
        return self.quantity


class Delivery(BaseModel):
    """A confirmed delivery, checked against its order.

    :ivar lines: every order line with the quantity that arrived.
    :ivar extra_items: items delivered that were not ordered, as the person reported them.
        They are reported, never booked: nothing says which product or storage they are.
    """

    order_id: str
    lines: list[ReceivedLine]
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
        ``CreateStorageOperationOperator``: what arrived, at the order's prices, sorted so that
        a re-run gives each storage the same map index (the exactly-once key includes it)."""
        by_storage: dict[tuple[int, int], list[ReceivedLine]] = defaultdict(list)
        for line in self.lines:
            if line.received > 0:
                by_storage[(line.location_id, line.storage_id)].append(line)
        return [
            {
                "location_id": location_id,
                "storage_id": storage_id,
                "comment": f"Delivery of purchase order {self.order_id}",
                "transactions": [
                    {
                        "good_id": line.good_id,
                        "amount": line.received,
                        "cost_per_unit": line.cost_per_unit,
                        "operation_unit_type": 1,  # whole sale units
                        "comment": f"{self.order_id} line {line.line}, supplier code {line.supplier_code}"
                        + (f", ordered {line.ordered}" if line.received != line.ordered else ""),
                    }
                    for line in lines
                ],
            }
            for (location_id, storage_id), lines in sorted(by_storage.items())
        ]

    def report(self) -> str:
        """What differed from the order, in plain words (empty when everything arrived)."""
        out = [
            f"line {line.line} {line.title}: ordered {line.ordered}, arrived {line.received}"
            for line in self.short + self.over
        ]
        out += [f"not ordered: {item}" for item in self.extra_items]
        return "\n".join(out)


class PurchaseOrder(BaseModel):
    """An order to the supplier: lines per storage, and what the supplier does not carry.

    :ivar not_carried: low-stock products the supplier has no variant for; someone orders them
        elsewhere.
    """

    order_id: str
    supplier: str = "Altacolor"
    lines: list[OrderLine]
    not_carried: list[LowStock] = Field(default_factory=list)

    @classmethod
    def draft(
        cls,
        order_id: str,
        shortages: Iterable[LowStock | Mapping[str, Any]],
        catalogue: Iterable[AltacolorProductDetailed],
        supplier: str = "Altacolor",
    ) -> PurchaseOrder:
        """Price each shortage from the supplier's detailed catalogue (the variant its article or
        barcode names, see :func:`match_variant`); the ones it does not carry go to
        ``not_carried``. Lines are numbered in (location, storage, product) order."""
        details = list(catalogue)
        lines: list[OrderLine] = []
        not_carried: list[LowStock] = []
        wanted = sorted(
            (LowStock.model_validate(item) for item in shortages),
            key=lambda s: (s.location_id, s.storage_id, s.good_id),
        )
        for shortage in wanted:
            match = match_variant(details, shortage.article, shortage.barcode)
            if match is None or match[1].sku is None or not match[1].price:
                not_carried.append(shortage)
                continue
            lines.append(
                OrderLine(
                    **shortage.model_dump(),
                    line=len(lines) + 1,
                    supplier_code=match[1].sku,
                    cost_per_unit=match[1].price,
                )
            )
        return cls(order_id=order_id, supplier=supplier, lines=lines, not_carried=not_carried)

    @property
    def total(self) -> float:
        return sum(line.total for line in self.lines)

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
        arrived = self._line_numbers(received, "received")
        return Delivery(
            order_id=self.order_id,
            lines=[
                ReceivedLine(**line.model_dump(), received=arrived.get(line.line, line.quantity))
                for line in self.lines
            ],
            extra_items=[item if isinstance(item, dict) else {"item": item} for item in extra_items or []],
            note=note or "",
        )

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
        """The order as a person reviews it: a table of lines, the total, and what is not carried."""
        rows = [
            f"Purchase order **{self.order_id}** to {self.supplier}: {len(self.lines)} lines, "
            f"total {self.total:.2f}. Quantities are whole sale units.",
            "",
            "| line | location | storage | product | on hand | critical | desired | order | price | total |",
            "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {line.line} | {line.location_id} | {line.storage_title or line.storage_id} | "
            f"{line.title} ({line.supplier_code}) | {line.on_hand:g} | {line.critical_amount:g} | "
            f"{line.desired_amount:g} | {line.quantity} {line.unit or ''} | {line.cost_per_unit:.2f} | "
            f"{line.total:.2f} |"
            for line in self.lines
        ]
        if self.not_carried:
            rows += ["", f"Not carried by {self.supplier} (order elsewhere):"]
            rows += [
                f"- location {item.location_id}: {item.title} (article {item.article}, barcode "
                f"{item.barcode}): {item.quantity} {item.unit or ''} needed"
                for item in self.not_carried
            ]
        return "\n".join(rows)
