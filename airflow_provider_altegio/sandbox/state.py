"""The sandbox's in-memory Altegio state and the operations the API endpoints perform on it.

One :class:`SandboxState` holds the chain (locations, storages), categories, one
:class:`~airflow_provider_altegio.sandbox.catalogue.LocationCatalogue` per location, storage
documents and their transactions. Methods take already-authorised locations and raw request
bodies, validate them (422 with ``meta.errors``), apply them atomically and return API-shaped data.
All access happens under :attr:`SandboxState.lock`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.sandbox.altacolor import AltacolorCatalogue
from airflow_provider_altegio.sandbox.catalogue import LocationCatalogue, Product, ProductQuery
from airflow_provider_altegio.sandbox.dates import (
    format_document_date,
    format_offset_datetime,
    format_wall_clock_offset,
    to_epoch,
)
from airflow_provider_altegio.sandbox.seed import (
    CHAIN_TITLE,
    UNITS,
    USER_ID,
    USER_NAME,
    USER_PHONE,
    ChainSeed,
    LocationSeed,
    StorageSeed,
    descendants,
)
from airflow_provider_altegio.sandbox.validation import ApiError, BodyReader, invalid, not_found

if TYPE_CHECKING:
    from airflow_provider_altegio.sandbox.options import SandboxOptions

#: Storage document types (``type_id``) and their titles. The one-shot operation documents
#: 1-5; the documents endpoint 1 (sale), 3 (receipt) and 7 (write-off).
DOCUMENT_TYPES: dict[int, str] = {
    1: "Sale of goods",
    2: "Consumables write-off",
    3: "Goods receipt",
    4: "Goods write-off",
    5: "Transfer between storages",
    7: "Write-off",
}
OPERATION_TYPES = {t: DOCUMENT_TYPES[t] for t in (1, 2, 3, 4, 5)}
DOCUMENT_ENDPOINT_TYPES = {t: DOCUMENT_TYPES[t] for t in (1, 3, 7)}
OUTFLOW_TYPES = frozenset({1, 2, 4, 7})
TRANSFER = 5
#: Fields the official pages mark required on a line of ``POST .../goods_transactions``.
TRANSACTION_REQUIRED = ("cost_per_unit", "discount", "cost", "operation_unit_type")
#: The live API's answer to a storage operation without a team member (HTTP 400).
STAFF_REQUIRED = "Staff member required"
_CORRECTION_UNITS = ("sale", "service")


@dataclass
class RuntimeSettings:
    """Settings the control API may change at run time (reset restores the startup options)."""

    rps: float
    rpm: float
    allow_negative_stock: bool
    altacolor_enabled: bool

    @classmethod
    def from_options(cls, options: SandboxOptions) -> RuntimeSettings:
        """The settings a sandbox started with."""
        return cls(options.rps, options.rpm, options.allow_negative_stock, options.altacolor_enabled)


@dataclass(slots=True)
class Category:
    """A product category; ``location_id`` None means chain-wide (``is_chain``)."""

    id: int
    title: str
    parent_id: int
    article: str = ""
    comment: str = ""
    location_id: int | None = None

    def to_api(self) -> dict[str, Any]:
        """The category object of the ``goods_categories`` endpoints."""
        return {
            "id": self.id,
            "title": self.title,
            "parent_category_id": self.parent_id or None,
            "is_chain": self.location_id is None,
            "article": self.article,
            "comment": self.comment,
        }

    def tree_element(self) -> dict[str, Any]:
        """The category as a products-tree element (``/goods/search``, ``category_node``)."""
        return {
            "parent_id": self.parent_id,
            "item_id": 0,
            "category_id": self.id,
            "title": self.title,
            "is_chain": self.location_id is None,
            "is_category": True,
            "is_item": False,
        }


@dataclass(slots=True)
class Transaction:
    """One goods transaction (a line of a storage document, signed amount)."""

    id: int
    document_id: int
    type_id: int
    location_id: int
    good_id: int
    good_title: str
    storage_id: int
    amount: float
    cost_per_unit: float
    discount: float
    cost: float
    unit_id: int
    operation_unit_type: int
    master_id: int
    client_id: int
    supplier_id: int
    create_date: datetime
    create_epoch: int
    changed_at: int
    comment: str


@dataclass(slots=True)
class Document:
    """A storage operation document."""

    id: int
    location_id: int
    type_id: int
    storage_id: int
    number: int
    comment: str
    create_date: datetime
    changed_at: int
    master_id: int
    seeded: bool
    transaction_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Line:
    """A validated storage operation line, before it is applied."""

    product: Product
    amount: float
    cost_per_unit: float
    discount: float
    cost: float
    operation_unit_type: int
    master_id: int
    client_id: int
    supplier_id: int
    comment: str

    @property
    def stock_delta(self) -> float:
        """The amount in sale units (``actual_amounts`` are kept in sale units)."""
        if self.operation_unit_type == 2 and self.product.unit_equals:
            return self.amount / self.product.unit_equals
        return self.amount


class SandboxState:
    """Everything the sandbox serves, with the operations of the Altegio endpoints.

    :param options: startup options (seed, catalogue size, credentials, limits).
    :param clock: wall clock in epoch seconds; injectable for tests.
    """

    def __init__(self, options: SandboxOptions, clock: Callable[[], float] = time.time) -> None:
        self.options = options
        self.lock = threading.RLock()
        self._wall = clock
        self._last_now = 0
        self.chain = ChainSeed(options.seed, options.products)
        self.locations: dict[int, LocationSeed] = {loc.id: loc for loc in self.chain.locations}
        self.settings = RuntimeSettings.from_options(options)
        self.catalogues = {
            loc.id: LocationCatalogue(self.chain, loc, self.now) for loc in self.chain.locations
        }
        self.altacolor = AltacolorCatalogue(self.chain, self.now)
        self.categories: dict[int, Category] = {}
        self.documents: dict[int, Document] = {}
        self.transactions: dict[int, Transaction] = {}
        self._tx_by_location: dict[int, list[Transaction]] = {}
        self._next = {"category": 0, "document": 0, "transaction": 0}
        self._numbers: dict[int, int] = {}
        self.reset()

    @property
    def accessible_locations(self) -> list[LocationSeed]:
        """Locations the sandbox user may manage (what the ready line lists)."""
        return [loc for loc in self.chain.locations if loc.accessible]

    def now(self) -> int:
        """The sandbox clock: wall time in seconds, never older than the seed, never going back."""
        now = max(int(self._wall()), self.chain.latest_seeded_change + 1, self._last_now)
        self._last_now = now
        return now

    def reset(self) -> None:
        """Back to the seeded state: catalogue, categories, documents, settings."""
        with self.lock:
            self.settings = RuntimeSettings.from_options(self.options)
            for catalogue in self.catalogues.values():
                catalogue.reset()
            self.altacolor.reset()
            self.categories = {
                c.id: Category(c.id, c.title, c.parent_id, c.article) for c in self.chain.categories
            }
            self.documents = {}
            self.transactions = {}
            self._tx_by_location = {loc_id: [] for loc_id in self.locations}
            self._next = {"category": 900, "document": 500_000, "transaction": 800_000}
            self._numbers = dict.fromkeys(self.locations, 0)
            for location in self.accessible_locations:
                self._seed_history(location)

    def _seed_history(self, location: LocationSeed) -> None:
        catalogue = self.catalogues[location.id]
        for seed in self.chain.seeded_documents(location):
            stamp = to_epoch(seed.create_date.replace(tzinfo=location.tz))
            lines = [
                _Line(
                    catalogue.require(location.goods_base + 1 + line.product_index),
                    line.amount,
                    line.cost_per_unit,
                    0.0,
                    round(line.amount * line.cost_per_unit, 2),
                    1,
                    0,
                    0,
                    0,
                    "",
                )
                for line in seed.lines
            ]
            self._record(
                location,
                seed.type_id,
                seed.storage_id,
                seed.comment,
                seed.create_date,
                0,
                lines,
                changed_at=stamp,
                seeded=True,
            )

    # -- lookups ----------------------------------------------------------------------------

    def catalogue(self, location: LocationSeed) -> LocationCatalogue:
        """The product catalogue of a location."""
        return self.catalogues[location.id]

    def storage(self, location: LocationSeed, storage_id: int | None) -> StorageSeed | None:
        """A storage of ``location`` by id, or None."""
        return next((s for s in location.storages if s.id == storage_id), None)

    def visible_categories(self, location: LocationSeed) -> Iterable[Category]:
        """Chain categories plus the location's own."""
        return (c for c in self.categories.values() if c.location_id in (None, location.id))

    def category(self, location: LocationSeed, category_id: int) -> Category:
        """A category visible to ``location``, or 404."""
        category = self.categories.get(category_id)
        if category is None or category.location_id not in (None, location.id):
            raise not_found("Category")
        return category

    def category_subtree(self, location: LocationSeed, category_id: int) -> frozenset[int]:
        """``category_id`` and its descendants (404 for an unknown category)."""
        self.category(location, category_id)
        parents = {c.id: c.parent_id for c in self.visible_categories(location)}
        return frozenset(descendants(parents, category_id))

    # -- products ---------------------------------------------------------------------------

    def product_query(self, location: LocationSeed, query: Mapping[str, Any]) -> ProductQuery:
        """Parse the ``GET /goods`` filters (422 for bad dates, 404 for an unknown category)."""
        reader = BodyReader(query)
        term = reader.text("term")
        category_id = reader.integer("category_id", minimum=0)
        after = reader.datetime("changed_after", location.tz)
        before = reader.datetime("changed_before", location.tz)
        reader.raise_if_any()
        return ProductQuery(
            term=term.strip().lower() or None if term else None,
            category_ids=self.category_subtree(location, category_id) if category_id else None,
            changed_after=to_epoch(after) if after else None,
            changed_before=to_epoch(before) if before else None,
        )

    def create_product(self, location: LocationSeed, body: Mapping[str, Any]) -> Product:
        """``POST /goods/{location_id}``: title, category_id, sale_unit_id, service_unit_id required."""
        product = Product(
            good_id=0,
            title="",
            article="",
            barcode="",
            category_id=0,
            cost=0.0,
            actual_cost=0.0,
            sale_unit_id=1,
            service_unit_id=1,
            unit_equals=1.0,
            critical_amount=0.0,
            desired_amount=0.0,
            netto=0.0,
            brutto=0.0,
            stock={},
            changed_at=0,
        )
        self._apply_product_fields(location, product, body, creating=True)
        return self.catalogue(location).create(product)

    def update_product(self, location: LocationSeed, good_id: int, body: Mapping[str, Any]) -> Product:
        """``PUT /goods/{location_id}/{good_id}``: any subset of the create fields."""
        catalogue = self.catalogue(location)
        product = catalogue.require(good_id)
        self._apply_product_fields(location, product, body, creating=False)
        catalogue.touch(product)
        return product

    def _apply_product_fields(
        self, location: LocationSeed, product: Product, body: Mapping[str, Any], *, creating: bool
    ) -> None:
        reader = BodyReader(body)
        values: dict[str, Any] = {
            "title": reader.text("title", required=creating),
            "print_title": reader.text("print_title"),
            "article": reader.text("article"),
            "barcode": reader.text("barcode"),
            "comment": reader.text("comment", max_length=1000),
            "category_id": reader.integer("category_id", required=creating, minimum=0),
            "sale_unit_id": reader.integer("sale_unit_id", required=creating, choices=UNITS),
            "service_unit_id": reader.integer("service_unit_id", required=creating, choices=UNITS),
            "cost": reader.number("cost", minimum=0),
            "actual_cost": reader.number("actual_cost", minimum=0),
            "unit_equals": reader.number("unit_equals", positive=True),
            "critical_amount": reader.number("critical_amount", minimum=0),
            "desired_amount": reader.number("desired_amount", minimum=0),
            "netto": reader.number("netto", minimum=0),
            "brutto": reader.number("brutto", minimum=0),
            "tax_variant": reader.integer("tax_variant", minimum=0),
            "vat_id": reader.integer("vat_id", minimum=0),
        }
        if values["title"] is not None and not values["title"].strip():
            reader.error("title", "The title field is required.")
        category_id = values["category_id"]
        if category_id:
            known = self.categories.get(category_id)
            if known is None or known.location_id not in (None, location.id):
                reader.error("category_id", "The selected category_id is invalid.")
        rules = self._correction_rules(reader, body.get("correction_rules"))
        reader.raise_if_any()
        for name, value in values.items():
            if value is not None:
                setattr(product, name, value)
        if rules is not None:
            product.correction_rules = rules

    @staticmethod
    def _correction_rules(reader: BodyReader, raw: Any) -> list[dict[str, Any]] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            reader.error("correction_rules", "The correction_rules must be an array.")
            return None
        rules: list[dict[str, Any]] = []
        for n, item in enumerate(raw):
            if not isinstance(item, Mapping):
                reader.error(f"correction_rules.{n}", "The rule must be an object.")
                continue
            rule = reader.child(item, f"correction_rules.{n}")
            rule_type = rule.integer("type", required=True, choices=OPERATION_TYPES)
            base_unit = rule.text("base_unit", required=True)
            if base_unit is not None and base_unit not in _CORRECTION_UNITS:
                rule.error("base_unit", "The selected base_unit is invalid.")
            rules.append({"type": rule_type, "base_unit": base_unit})
        return rules

    # -- categories -------------------------------------------------------------------------

    def child_categories(self, location: LocationSeed, parent_id: int) -> list[Category]:
        """Categories directly under ``parent_id`` (0: the roots); 404 for an unknown parent."""
        if parent_id:
            self.category(location, parent_id)
        return [c for c in self.visible_categories(location) if c.parent_id == parent_id]

    def save_category(
        self, location: LocationSeed, body: Mapping[str, Any], category_id: int | None = None
    ) -> Category:
        """Create (``category_id`` None) or update a category."""
        existing = self.category(location, category_id) if category_id is not None else None
        reader = BodyReader(body)
        title = reader.text("title", required=existing is None)
        parent_id = reader.integer("parent_category_id", minimum=0)
        article = reader.text("article")
        comment = reader.text("comment", max_length=1000)
        if title is not None and not title.strip():
            reader.error("title", "The title field is required.")
        if parent_id:
            parent = self.categories.get(parent_id)
            if parent is None or parent.location_id not in (None, location.id):
                reader.error("parent_category_id", "The selected parent_category_id is invalid.")
            elif existing is not None and parent_id in self.category_subtree(location, existing.id):
                reader.error("parent_category_id", "A category cannot be moved under itself.")
        reader.raise_if_any()
        if existing is None:
            self._next["category"] += 1
            existing = Category(self._next["category"], title or "", parent_id or 0, location_id=location.id)
            self.categories[existing.id] = existing
        else:
            existing.title = title if title is not None else existing.title
            existing.parent_id = parent_id if parent_id is not None else existing.parent_id
        existing.article = article if article is not None else existing.article
        existing.comment = comment if comment is not None else existing.comment
        return existing

    def delete_category(self, location: LocationSeed, category_id: int) -> None:
        """Delete an empty category; 422 while it still holds sub-categories or products."""
        category = self.category(location, category_id)
        if any(c.parent_id == category.id for c in self.categories.values()):
            raise invalid("category_id", "The category has sub-categories.")
        direct = ProductQuery(category_ids=frozenset({category.id}))
        if any(self.catalogues[loc_id].find(direct) for loc_id in self.locations):
            raise invalid("category_id", "The category still has products.")
        del self.categories[category.id]

    def search_tree(self, location: LocationSeed, term: str | None, count: int) -> list[dict[str, Any]]:
        """``/goods/search``: root categories without a term; else categories, then products."""
        if not term:
            return [c.tree_element() for c in self.child_categories(location, 0)]
        needle = term.lower()
        found = [
            c.tree_element()
            for c in self.visible_categories(location)
            if needle in c.title.lower() or (c.article and needle in c.article.lower())
        ][:count]
        if len(found) < count:
            catalogue = self.catalogue(location)
            for good_id in catalogue.find(ProductQuery(term=needle))[: count - len(found)]:
                found.append(product_tree_element(catalogue.require(good_id)))
        return found

    def category_node(
        self, location: LocationSeed, category_id: int, page: int, count: int
    ) -> dict[str, Any]:
        """``/goods/category_node``: the category with a page of its direct children."""
        category = self.category(location, category_id)
        subcategories = self.child_categories(location, category.id)
        catalogue = self.catalogue(location)
        product_ids = catalogue.find(ProductQuery(category_ids=frozenset({category.id})))
        total = len(subcategories) + len(product_ids)
        start = (page - 1) * count
        children = [c.tree_element() for c in subcategories[start : start + count]]
        first_product = max(0, start - len(subcategories))
        for good_id in product_ids[first_product : first_product + count - len(children)]:
            children.append(product_tree_element(catalogue.require(good_id)))
        return {**category.tree_element(), "children": children, "children_count": total}

    # -- storage operations -----------------------------------------------------------------

    def _document_head(
        self, location: LocationSeed, reader: BodyReader, types: Mapping[int, str]
    ) -> tuple[int | None, int | None, datetime | None, str]:
        """``type_id`` (one of ``types``), ``storage_id``, ``create_date`` (the location's wall
        clock) and ``comment`` of a new document; errors are collected in ``reader``."""
        type_id = reader.integer("type_id", required=True, choices=types)
        storage_id = reader.integer("storage_id", required=True)
        if storage_id is not None and self.storage(location, storage_id) is None:
            reader.error("storage_id", "The selected storage_id is invalid.")
        create_date = reader.datetime("create_date", location.tz, required=True)
        comment = reader.text("comment", max_length=1000) or ""
        local_date = create_date.astimezone(location.tz).replace(tzinfo=None) if create_date else None
        return type_id, storage_id, local_date, comment

    def create_operation(self, location: LocationSeed, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /storage_operations/operation``: validate, then create a document and move stock."""
        reader = BodyReader(body)
        type_id, storage_id, create_date, comment = self._document_head(location, reader, OPERATION_TYPES)
        if type_id == TRANSFER:
            # Documented as a type, but nothing documents how it names its target storage: the
            # sandbox refuses what it cannot model rather than invent an effect.
            reader.error("type_id", "Transfers (type 5) are not modelled: book a write-off and a receipt.")
        master_id = reader.integer("master_id", minimum=0) or 0
        reader.boolean("paid")
        reader.integer("account_id", minimum=0)
        lines = self._read_lines(location, reader, body, master_id)
        reader.raise_if_any()
        self._require_staff(lines)
        assert type_id is not None
        assert storage_id is not None
        assert create_date is not None
        self._check_stock(reader, type_id, storage_id, lines, "goods_transactions.{n}.amount")
        document = self._record(
            location,
            type_id,
            storage_id,
            comment,
            create_date,
            master_id,
            lines,
            changed_at=self.now(),
            seeded=False,
        )
        return {
            "document": self.document_to_api(document),
            "transactions": [
                self.transaction_record_to_api(self.transactions[t]) for t in document.transaction_ids
            ],
        }

    def create_document(self, location: LocationSeed, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /storage_operations/documents``: an empty document (types 1, 3 and 7) that
        ``POST /storage_operations/goods_transactions`` fills; nothing moves yet."""
        reader = BodyReader(body)
        type_id, storage_id, create_date, comment = self._document_head(
            location, reader, DOCUMENT_ENDPOINT_TYPES
        )
        reader.raise_if_any()
        assert type_id is not None
        assert storage_id is not None
        assert create_date is not None
        document = self._record(
            location, type_id, storage_id, comment, create_date, 0, [], changed_at=self.now(), seeded=False
        )
        return self.document_to_api(document)

    def add_transaction(self, location: LocationSeed, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /storage_operations/goods_transactions``: one line added to an existing document
        of this location, with the checks of the one-shot operation; stock moves at once."""
        reader = BodyReader(body)
        document_id = reader.integer("document_id", required=True, minimum=1)
        document = self.documents.get(document_id) if document_id else None
        if document_id and (document is None or document.location_id != location.id):
            reader.error("document_id", "The selected document_id is invalid.")
            document = None
        for name in TRANSACTION_REQUIRED:
            if not reader.present(name):
                reader.error(name, f"The {name} field is required.")
        line = self._read_line(self.catalogue(location), reader, body, 0, {})
        reader.raise_if_any()
        assert document is not None
        assert line is not None
        self._require_staff([line])
        self._check_stock(reader, document.type_id, document.storage_id, [line], "amount")
        (tx,) = self._append(location, document, [line], changed_at=self.now(), seeded=False)
        return self.transaction_record_to_api(tx)

    @staticmethod
    def _require_staff(lines: list[_Line]) -> None:
        if any(line.master_id <= 0 for line in lines):
            # What a production integration got without master_id (see docs/api-notes.md).
            raise ApiError(400, STAFF_REQUIRED)

    def _read_lines(
        self, location: LocationSeed, reader: BodyReader, body: Mapping[str, Any], master_id: int
    ) -> list[_Line]:
        key = "goods_transactions"  # the official field; the old name "transactions" is not read
        raw_lines = body.get(key)
        if not isinstance(raw_lines, list) or not raw_lines:
            reader.error(key, f"The {key} field is required and must be a non-empty array.")
            return []
        catalogue = self.catalogue(location)
        products: dict[int, Product] = {}
        lines: list[_Line] = []
        for n, raw in enumerate(raw_lines):
            if not isinstance(raw, Mapping):
                reader.error(f"{key}.{n}", "The transaction must be an object.")
                continue
            line = self._read_line(catalogue, reader.child(raw, f"{key}.{n}"), raw, master_id, products)
            if line is not None:
                lines.append(line)
        return lines

    @staticmethod
    def _read_line(
        catalogue: LocationCatalogue,
        line: BodyReader,
        raw: Mapping[str, Any],
        master_id: int,
        products: dict[int, Product],
    ) -> _Line | None:
        """One transaction line (``products`` caches lookups across the lines of a body)."""
        good_id = line.integer("good_id", required=True, minimum=1)
        amount = line.number("amount", required=True, positive=True)
        cost_per_unit = line.number("cost_per_unit", minimum=0) or 0.0
        discount = line.number("discount", minimum=0, maximum=100) or 0.0
        cost = line.number("cost", minimum=0)
        unit_type = line.integer("operation_unit_type", choices={1: "sale", 2: "service"}) or 1
        ids = [line.integer(name, minimum=0) or 0 for name in ("master_id", "client_id", "supplier_id")]
        text = line.text("comment", max_length=1000) or ""
        product = products.get(good_id) if good_id else None
        if good_id and product is None:
            product = catalogue.get(good_id)
            if product is None:
                line.error("good_id", "The selected good_id is invalid.")
            else:
                products[good_id] = product
        if product is None or amount is None:
            return None
        if cost is None:
            cost = round(amount * cost_per_unit * (1 - discount / 100), 2)
        return _Line(
            product,
            amount,
            cost_per_unit,
            discount,
            cost,
            unit_type,
            ids[0] or master_id,
            ids[1],
            ids[2],
            text,
        )

    def _check_stock(
        self, reader: BodyReader, type_id: int, storage_id: int, lines: list[_Line], field: str
    ) -> None:
        """422 on ``field`` (``{n}``: the line's index) for outflows beyond stock, when refused."""
        if self.settings.allow_negative_stock or type_id not in OUTFLOW_TYPES:
            return
        remaining: dict[int, float] = {}
        for n, line in enumerate(lines):
            good_id = line.product.good_id
            on_hand = remaining.get(good_id, line.product.stock.get(storage_id, 0.0))
            remaining[good_id] = on_hand - line.stock_delta
            if remaining[good_id] < -1e-9:
                reader.error(
                    field.format(n=n), f"Not enough stock: {on_hand:g} on hand in storage {storage_id}."
                )
        reader.raise_if_any()

    def _record(
        self,
        location: LocationSeed,
        type_id: int,
        storage_id: int,
        comment: str,
        create_date: datetime,
        master_id: int,
        lines: list[_Line],
        *,
        changed_at: int,
        seeded: bool,
    ) -> Document:
        """Create the document and its transactions; move stock unless replaying seeded history."""
        self._next["document"] += 1
        self._numbers[location.id] += 1
        document = Document(
            self._next["document"],
            location.id,
            type_id,
            storage_id,
            self._numbers[location.id],
            comment,
            create_date,
            changed_at,
            master_id,
            seeded,
        )
        self.documents[document.id] = document
        self._append(location, document, lines, changed_at=changed_at, seeded=seeded)
        return document

    def _append(
        self, location: LocationSeed, document: Document, lines: list[_Line], *, changed_at: int, seeded: bool
    ) -> list[Transaction]:
        """Add ``lines`` to ``document`` as transactions signed by its type; move stock unless
        replaying seeded history."""
        sign = -1.0 if document.type_id in OUTFLOW_TYPES else 1.0
        create_epoch = to_epoch(document.create_date.replace(tzinfo=location.tz))
        added: list[Transaction] = []
        for line in lines:
            self._next["transaction"] += 1
            unit_id = (
                line.product.service_unit_id if line.operation_unit_type == 2 else line.product.sale_unit_id
            )
            tx = Transaction(
                self._next["transaction"],
                document.id,
                document.type_id,
                location.id,
                line.product.good_id,
                line.product.title,
                document.storage_id,
                sign * line.amount,
                line.cost_per_unit,
                line.discount,
                line.cost,
                unit_id,
                line.operation_unit_type,
                line.master_id,
                line.client_id,
                line.supplier_id,
                document.create_date,
                create_epoch,
                changed_at,
                line.comment,
            )
            self.transactions[tx.id] = tx
            self._tx_by_location[location.id].append(tx)
            document.transaction_ids.append(tx.id)
            added.append(tx)
            if not seeded:
                stock = line.product.stock
                stock[document.storage_id] = round(
                    stock.get(document.storage_id, 0.0) + sign * line.stock_delta, 6
                )
        if not seeded:
            catalogue = self.catalogue(location)
            for product in {id(line.product): line.product for line in lines}.values():
                catalogue.touch(product)
        return added

    def delete_document(self, location: LocationSeed, document_id: int) -> None:
        """``DELETE /storage_operations/documents``: the document and its transactions go, and
        the stock they moved moves back (as deleting a document in the salon's back office does)."""
        document = self.document(document_id, location)
        catalogue = self.catalogue(location)
        for tx_id in document.transaction_ids:
            tx = self.transactions.pop(tx_id)
            self._tx_by_location[location.id].remove(tx)
            product = catalogue.get(tx.good_id)
            if product is None:
                continue  # the product itself was deleted since
            moved = tx.amount / (product.unit_equals or 1.0) if tx.operation_unit_type == 2 else tx.amount
            product.stock[tx.storage_id] = round(product.stock.get(tx.storage_id, 0.0) - moved, 6)
            catalogue.touch(product)
        del self.documents[document_id]

    def document(self, document_id: int, location: LocationSeed | None = None) -> Document:
        """A document by id (in ``location`` when given), or 404."""
        document = self.documents.get(document_id)
        if document is None or (location is not None and document.location_id != location.id):
            raise not_found("Document")
        return document

    def find_transactions(self, location: LocationSeed, query: Mapping[str, Any]) -> list[Transaction]:
        """``GET /storages/transactions``: filter by create date, document and change time."""
        reader = BodyReader(query)
        start = reader.datetime("start_date", location.tz)
        end = reader.datetime("end_date", location.tz, end_of_day=True)
        document_id = reader.integer("document_id", minimum=0)
        after = reader.datetime("changed_after", location.tz)
        before = reader.datetime("changed_before", location.tz)
        reader.raise_if_any()
        if document_id:
            document = self.documents.get(document_id)
            if document is None or document.location_id != location.id:
                return []
            candidates = [self.transactions[t] for t in document.transaction_ids]
        else:
            candidates = self._tx_by_location[location.id]
        bounds = [
            (start, "create_epoch", 1),
            (end, "create_epoch", -1),
            (after, "changed_at", 1),
            (before, "changed_at", -1),
        ]
        active = [(to_epoch(moment), attr, sign) for moment, attr, sign in bounds if moment is not None]
        return [
            tx
            for tx in candidates
            if all((getattr(tx, attr) - limit) * sign >= 0 for limit, attr, sign in active)
        ]

    # -- serialisation ----------------------------------------------------------------------

    def _storage_ref(self, location_id: int, storage_id: int) -> dict[str, Any]:
        storage = self.storage(self.locations[location_id], storage_id)
        return {"id": storage_id, "title": storage.title if storage else ""}

    def product_to_api(self, location: LocationSeed, product: Product) -> dict[str, Any]:
        """A product as the goods endpoints show it, with the fields a live integration reads
        that only the state knows: its category's title as ``category``."""
        category = self.categories.get(product.category_id)
        return {**product.to_api(location), "category": category.title if category else ""}

    def company_to_api(self, location: LocationSeed) -> dict[str, Any]:
        """The company (location) object embedded in documents and listed by ``/companies``."""
        return {
            "id": location.id,
            "title": location.title,
            "public_title": CHAIN_TITLE,
            "country_id": 1,
            "city_id": 2,
            # A number, as the official field list, the API Blueprint and a live client's strict
            # schema have it (the official example alone writes "-5").
            "timezone": location.utc_offset_hours,
            "address": location.address,
            "coordinate_lat": 40.73061,
            "coordinate_lon": -73.935242,
            "logo": "",
            "zip": "",
            "phones": [],
            "site": "",
            "active": 1,
        }

    def document_to_api(self, document: Document) -> dict[str, Any]:
        """The document object of ``storage_operations`` responses."""
        data: dict[str, Any] = {
            "id": document.id,
            "type_id": document.type_id,
            "type": {"id": document.type_id, "title": DOCUMENT_TYPES[document.type_id]},
            "storage_id": document.storage_id,
            "user_id": USER_ID,
            "company_id": document.location_id,
            "number": document.number,
            "comment": document.comment,
            "create_date": format_document_date(
                document.create_date, self.locations[document.location_id].tz
            ),
            "storage": self._storage_ref(document.location_id, document.storage_id),
            "company": self.company_to_api(self.locations[document.location_id]),
            "user": {"id": USER_ID, "name": USER_NAME, "phone": USER_PHONE},
        }
        return data

    def _transaction_fields(self, tx: Transaction) -> dict[str, Any]:
        """What both shapes of a goods transaction share: signed amount, the product, storage
        and unit nested."""
        return {
            "id": tx.id,
            "document_id": tx.document_id,
            "type_id": tx.type_id,
            "company_id": tx.location_id,
            "amount": tx.amount,
            "cost_per_unit": tx.cost_per_unit,
            "discount": tx.discount,
            "cost": tx.cost,
            "unit_id": tx.unit_id,
            "operation_unit_type": tx.operation_unit_type,
            "supplier_id": tx.supplier_id,
            "record_id": 0,
            "client_id": tx.client_id,
            "master_id": tx.master_id,
            "last_change_date": format_offset_datetime(tx.changed_at, self.locations[tx.location_id].tz),
            "comment": tx.comment,
            "service_id": 0,
            "user_id": USER_ID,
            "deleted": False,
            "good": {"id": tx.good_id, "title": tx.good_title},
            "storage": self._storage_ref(tx.location_id, tx.storage_id),
            "unit": {"id": tx.unit_id, "title": UNITS.get(tx.unit_id, ("", ""))[1]},
        }

    def transaction_to_api(self, tx: Transaction) -> dict[str, Any]:
        """A goods transaction as the transaction listing shows it (the official and the API
        Blueprint's listing examples): no flat ``good_id``/``storage_id``, ``type`` as a title,
        ``create_date`` as ``2012-12-21T19:08:00+0400``, the client under ``clients``."""
        return {
            **self._transaction_fields(tx),
            "type": DOCUMENT_TYPES[tx.type_id],
            "create_date": format_wall_clock_offset(tx.create_date, self.locations[tx.location_id].tz),
            "supplier": {"id": tx.supplier_id, "title": f"Supplier {tx.supplier_id}"}
            if tx.supplier_id
            else [],
            "clients": {"id": tx.client_id, "name": f"Client {tx.client_id}"} if tx.client_id else [],
            "master": {"id": tx.master_id, "title": f"Master {tx.master_id}"} if tx.master_id else [],
        }

    def transaction_record_to_api(self, tx: Transaction) -> dict[str, Any]:
        """A goods transaction as the answers of the operation, of ``POST .../goods_transactions``
        and of a document's transaction list show it (the API Blueprint's and the official
        pages' examples): flat ids too, ``type`` as an object, the document's date form, and the
        people as ``[]`` (the form a live client that validates these answers strictly requires;
        the official page allows array or object)."""
        return {
            **self._transaction_fields(tx),
            "type": {"id": tx.type_id, "title": DOCUMENT_TYPES[tx.type_id]},
            "good_id": tx.good_id,
            "storage_id": tx.storage_id,
            "create_date": format_document_date(tx.create_date, self.locations[tx.location_id].tz),
            "supplier": [],
            "client": [],
            "master": [],
        }

    def settings_to_api(self) -> dict[str, Any]:
        """The run-time settings as the control API shows them."""
        return dataclasses.asdict(self.settings)

    # -- control dump -----------------------------------------------------------------------

    def dump(
        self,
        *,
        location_id: int | None = None,
        good_ids: Iterable[int] = (),
        document_id: int | None = None,
        comment: str | None = None,
        include_seeded: bool = False,
    ) -> dict[str, Any]:
        """A read-only picture for tests: documents, transactions, and stock of changed products.

        Stock is shown for products changed since the seed plus ``good_ids``; documents are the
        ones created since the seed unless ``include_seeded``.
        """
        locations = [loc for loc in self.chain.locations if location_id in (None, loc.id)]
        wanted = set(good_ids)
        documents = [
            d
            for d in self.documents.values()
            if d.location_id in {loc.id for loc in locations}
            and (include_seeded or not d.seeded)
            and document_id in (None, d.id)
            and (comment is None or comment in d.comment)
        ]
        stock: dict[str, dict[str, dict[str, float]]] = {}
        for location in locations:
            catalogue = self.catalogue(location)
            products = {p.good_id: p for p in catalogue.touched}
            for good_id in wanted:
                product = catalogue.get(good_id)
                if product is not None:
                    products[good_id] = product
            stock[str(location.id)] = {
                str(good_id): {str(k): v for k, v in product.stock.items()}
                for good_id, product in sorted(products.items())
            }
        return {
            "locations": [
                {
                    "id": loc.id,
                    "title": loc.title,
                    "accessible": loc.accessible,
                    "storages": [{"id": s.id, "title": s.title} for s in loc.storages],
                    "products": len(self.catalogue(loc).ids),
                    "changed_products": len(self.catalogue(loc).touched),
                }
                for loc in locations
            ],
            "documents": [
                {**self.document_to_api(d), "transaction_ids": list(d.transaction_ids), "seeded": d.seeded}
                for d in documents
            ],
            "transactions": [
                self.transaction_to_api(self.transactions[t]) for d in documents for t in d.transaction_ids
            ],
            "stock": stock,
            "settings": self.settings_to_api(),
        }


def product_tree_element(product: Product) -> dict[str, Any]:
    """A product as a products-tree element."""
    return {
        "parent_id": product.category_id,
        "item_id": product.good_id,
        "category_id": 0,
        "title": product.title,
        "is_chain": product.is_chain,
        "is_category": False,
        "is_item": True,
    }
