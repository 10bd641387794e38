"""The product catalogue of one location: seeded products computed on demand, changes kept.

Data structures, chosen so that a 100000-product catalogue pages without per-page slowdown:

* ``ids``: the sorted list of live product ids; an unfiltered page is one slice.
* ``_touched``: products that were created or changed, in change order (a dict re-inserted on
  every change). Untouched seeded products are never stored; they are recomputed from the seed.
* filtered queries (``term``, ``category_id``, ``changed_after``/``changed_before``) are computed
  once per catalogue version and cached, so paging through a filtered result slices a list too.
  ``changed_after`` uses arithmetic on the seeded change times plus a reverse walk of
  ``_touched`` that stops at the first older change: an incremental read does not scan the catalogue.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_altegio.sandbox.dates import format_offset_datetime
from airflow_provider_altegio.sandbox.seed import UNITS, ChainSeed, LocationSeed
from airflow_provider_altegio.sandbox.validation import not_found

_CACHE_SIZE = 16


@dataclass(slots=True)
class Product:
    """A product of one location as the sandbox stores it once it has been touched."""

    good_id: int
    title: str
    article: str
    barcode: str
    category_id: int
    cost: float
    actual_cost: float
    sale_unit_id: int
    service_unit_id: int
    unit_equals: float
    critical_amount: float
    desired_amount: float
    netto: float
    brutto: float
    stock: dict[int, float]
    changed_at: int
    print_title: str = ""
    comment: str = ""
    tax_variant: int | None = None
    vat_id: int | None = None
    is_chain: bool = True
    correction_rules: list[dict[str, Any]] = field(default_factory=list)

    def haystack(self) -> str:
        """What ``term`` is matched against (same layout as the seeded haystacks)."""
        return f"{self.title.lower()}\n{self.article.lower()}\n{self.barcode}"

    def to_api(self, location: LocationSeed) -> dict[str, Any]:
        """The product object as ``GET /goods/{location_id}`` shows it."""
        sale_short = UNITS.get(self.sale_unit_id, ("unit", ""))[0]
        service_short = UNITS.get(self.service_unit_id, ("unit", ""))[0]
        unit_cost = round(self.actual_cost / self.unit_equals, 4) if self.unit_equals else self.actual_cost
        return {
            "title": self.title,
            "value": self.title,
            "label": f"{self.title} ({self.article})" if self.article else self.title,
            "id": self.good_id,
            "good_id": self.good_id,
            "salon_id": location.id,
            "print_title": self.print_title or self.title,
            "article": self.article,
            "barcode": self.barcode,
            "category_id": self.category_id,
            "cost": self.cost,
            "actual_cost": self.actual_cost,
            "unit_id": self.sale_unit_id,
            "unit_short_title": sale_short,
            "service_unit_id": self.service_unit_id,
            "service_unit_short_title": service_short,
            "unit_actual_cost": unit_cost,
            "unit_actual_cost_format": f"{unit_cost:g} $",
            "unit_equals": self.unit_equals,
            "critical_amount": self.critical_amount,
            "desired_amount": self.desired_amount,
            "netto": self.netto,
            "brutto": self.brutto,
            "comment": self.comment,
            "tax_variant": self.tax_variant,
            "vat_id": self.vat_id,
            "is_chain": self.is_chain,
            # The loyalty and marking fields as a live client's strict schema requires them
            # (numbers; the official field list allows 0/1 or true/false for allow_empty_code).
            "is_goods_mark_enabled": False,
            "loyalty_abonement_type_id": 0,
            "loyalty_certificate_type_id": 0,
            "loyalty_allow_empty_code": 0,
            "loyalty_serial_number_limited": 0,
            "loyalty_expiration_type_id": None,
            "actual_amounts": [
                {"storage_id": storage.id, "amount": self.stock.get(storage.id, 0.0)}
                for storage in location.storages
            ],
            "correction_rules": list(self.correction_rules),
            "last_change_date": format_offset_datetime(self.changed_at, location.tz),
        }


@dataclass(frozen=True)
class ProductQuery:
    """Filters of ``GET /goods/{location_id}``; ``category_ids`` is the category with its subtree."""

    term: str | None = None
    category_ids: frozenset[int] | None = None
    changed_after: int | None = None
    changed_before: int | None = None

    @property
    def empty(self) -> bool:
        """True when nothing filters the catalogue."""
        return (
            not self.term
            and self.category_ids is None
            and self.changed_after is None
            and self.changed_before is None
        )

    def matches(self, product: Product) -> bool:
        """Whether a stored product passes every filter."""
        if self.term and self.term not in product.haystack():
            return False
        if self.category_ids is not None and product.category_id not in self.category_ids:
            return False
        if self.changed_after is not None and product.changed_at < self.changed_after:
            return False
        return self.changed_before is None or product.changed_at <= self.changed_before


class LocationCatalogue:
    """Products of one location: seeded ones on demand, created and changed ones stored.

    :param chain: the seeded chain (shared by every location).
    :param location: the location this catalogue belongs to.
    :param clock: returns the sandbox's "now" in epoch seconds for change stamps.
    """

    def __init__(self, chain: ChainSeed, location: LocationSeed, clock: Callable[[], int]) -> None:
        self.chain = chain
        self.location = location
        self._clock = clock
        self.ids: list[int] = []
        self._touched: dict[int, Product] = {}
        self._deleted: set[int] = set()
        self._cache: OrderedDict[ProductQuery, tuple[int, list[int]]] = OrderedDict()
        self._next_id = 0
        self.version = 0
        self.reset()

    def reset(self) -> None:
        """Back to the seeded catalogue (cheap: nothing per product is rebuilt)."""
        first = self.location.goods_base + 1
        self.ids = list(range(first, first + self.chain.size))
        self._touched = {}
        self._deleted = set()
        self._cache.clear()
        self._next_id = first + self.chain.size
        self.version += 1

    # -- reading ----------------------------------------------------------------------------

    def _seed_index(self, good_id: int) -> int | None:
        index = good_id - self.location.goods_base - 1
        return index if 0 <= index < self.chain.size else None

    def get(self, good_id: int) -> Product | None:
        """The product, or None if it does not exist (or was deleted)."""
        product = self._touched.get(good_id)
        if product is not None:
            return product
        index = self._seed_index(good_id)
        if index is None or good_id in self._deleted:
            return None
        return self._from_seed(index)

    def require(self, good_id: int) -> Product:
        """The product, or a 404 :class:`ApiError`."""
        product = self.get(good_id)
        if product is None:
            raise not_found("Product")
        return product

    def _from_seed(self, index: int) -> Product:
        spec = self.chain.product(index)
        return Product(
            good_id=self.location.goods_base + 1 + index,
            title=spec.title,
            article=spec.article,
            barcode=spec.barcode,
            category_id=spec.category_id,
            cost=spec.cost,
            actual_cost=spec.actual_cost,
            sale_unit_id=spec.sale_unit_id,
            service_unit_id=spec.service_unit_id,
            unit_equals=spec.unit_equals,
            critical_amount=spec.critical_amount,
            desired_amount=spec.desired_amount,
            netto=spec.netto,
            brutto=spec.brutto,
            stock=self.chain.stock(self.location, spec),
            changed_at=self.chain.changed_at(index),
        )

    @property
    def touched(self) -> list[Product]:
        """Products created or changed since the seed, oldest change first."""
        return list(self._touched.values())

    def find(self, query: ProductQuery) -> list[int]:
        """Sorted ids of live products matching ``query`` (cached per catalogue version)."""
        if query.empty:
            return self.ids
        hit = self._cache.get(query)
        if hit is not None and hit[0] == self.version:
            self._cache.move_to_end(query)
            return hit[1]
        result = self._compute(query)
        self._cache[query] = (self.version, result)
        self._cache.move_to_end(query)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _compute(self, query: ProductQuery) -> list[int]:
        window = self.chain.index_window(query.changed_after, query.changed_before)
        candidates: list[int] | range
        if query.category_ids is not None:
            runs: list[int] = []
            for category_id in query.category_ids:
                members = self.chain.category_members(category_id)
                lo = bisect.bisect_left(members, window.start)
                hi = bisect.bisect_left(members, window.stop)
                runs.extend(members[lo:hi])
            runs.sort()
            candidates = runs
        else:
            candidates = window
        base = self.location.goods_base + 1
        term = query.term
        haystack = self.chain.haystack
        touched, deleted = self._touched, self._deleted
        seeded = [
            base + i
            for i in candidates
            if (not term or term in haystack(i)) and base + i not in touched and base + i not in deleted
        ]
        changed = [
            product.good_id for product in self._walk_touched(query.changed_after) if query.matches(product)
        ]
        if not changed:
            return seeded
        seeded.extend(changed)
        seeded.sort()
        return seeded

    def _walk_touched(self, after: int | None) -> list[Product]:
        """Touched products, newest first, stopping at the first change older than ``after``."""
        if after is None:
            return list(self._touched.values())
        newest_first: list[Product] = []
        for good_id in reversed(self._touched):
            product = self._touched[good_id]
            if product.changed_at < after:
                break
            newest_first.append(product)
        return newest_first

    # -- writing ----------------------------------------------------------------------------

    def touch(self, product: Product) -> None:
        """Store ``product`` as changed now: it moves to the end of the change order."""
        product.changed_at = self._clock()
        self._touched.pop(product.good_id, None)
        self._touched[product.good_id] = product
        self.version += 1

    def create(self, product: Product) -> Product:
        """Give ``product`` the next id, store it and return it."""
        product.good_id = self._next_id
        product.stock = {storage.id: 0.0 for storage in self.location.storages}
        product.is_chain = False
        self._next_id += 1
        self.ids.append(product.good_id)
        self.touch(product)
        return product

    def delete(self, good_id: int) -> None:
        """Remove a product (404 if it does not exist)."""
        self.require(good_id)
        self._touched.pop(good_id, None)
        self._deleted.add(good_id)
        position = bisect.bisect_left(self.ids, good_id)
        del self.ids[position]
        self.version += 1
