"""Deterministic seed data: a salon chain, its category tree, catalogue, stock and supplier.

Nothing here is stored per product. Product ``i`` of the chain catalogue is a pure function of
``(seed, i)`` (title, article, barcode, category, prices, units), and its seeded stock in a location
is a pure function of ``(seed, location, i)``. That is what lets the sandbox start with 100000
products per location in milliseconds: it materialises a product only when a request changes it.
Seeded ``last_change_date`` values grow with ``i``, so "changed after T" over untouched products is a
range of indices found by arithmetic, not a scan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

_MASK = (1 << 64) - 1

#: Unit id -> (short title, title); ids are what products and transactions carry.
UNITS: dict[int, tuple[str, str]] = {1: ("pcs", "Piece"), 2: ("ml", "Millilitre"), 3: ("g", "Gram")}
PCS, ML, G = 1, 2, 3

#: Seeded ``last_change_date`` values spread over this window, in catalogue order.
SEED_EPOCH = int(datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc).timestamp())
SEED_SPAN = 540 * 86400

USER_ID = 990001
#: The team member (staff) id the sandbox's connections book storage operations by.
MASTER_ID = 990101
USER_NAME = "Sandbox Manager"
USER_PHONE = "15550100001"
CHAIN_TITLE = "Lumiere Salon Group"


def mix(*parts: int) -> int:
    """A 64-bit splitmix hash of integers: the sandbox's cheap, order-free random source."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = ((h ^ (part & _MASK)) * 0xBF58476D1CE4E5B9) & _MASK
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK
        h ^= h >> 29
    return h


def ean13(body12: str) -> str:
    """Append the EAN-13 check digit to a 12-digit body."""
    total = sum(map(int, body12[0::2])) + 3 * sum(map(int, body12[1::2]))
    return body12 + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class StorageSeed:
    """A storage (inventory) of a location."""

    id: int
    title: str
    for_sale: int
    for_services: int
    comment: str


@dataclass(frozen=True)
class LocationSeed:
    """A location (company) of the chain.

    ``accessible`` is False for the franchise location: it exists in the chain (``GET /companies``
    lists it) but the sandbox user has no rights there, so its endpoints answer 403.
    """

    id: int
    index: int
    title: str
    address: str
    utc_offset_hours: int
    accessible: bool
    goods_base: int
    storages: tuple[StorageSeed, ...]

    @property
    def tz(self) -> timezone:
        """The location's fixed UTC offset, used for every date it shows or reads."""
        return timezone(timedelta(hours=self.utc_offset_hours))

    @property
    def retail_storage(self) -> StorageSeed:
        """The storage products are sold from."""
        return self.storages[0]

    @property
    def service_storage(self) -> StorageSeed:
        """The storage consumables are written off from."""
        return self.storages[1]


@dataclass(frozen=True)
class CategorySeed:
    """A chain-wide product category."""

    id: int
    title: str
    parent_id: int
    article: str


@dataclass(frozen=True)
class Kind:
    """A family of products: where they live in the tree, their units and price band."""

    code: str
    category_id: int
    noun: str
    variants: tuple[str, ...]
    sizes: tuple[int, ...]
    service_unit: int
    price: tuple[float, float]
    brands: tuple[str, ...]
    professional: bool


class ProductSeed(NamedTuple):
    """The seeded attributes of chain catalogue product ``product_index`` (shared by every location)."""

    product_index: int
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
    professional: bool
    brand: str


class DocumentLineSeed(NamedTuple):
    """One line of a seeded historical storage document."""

    product_index: int
    amount: float
    cost_per_unit: float


class DocumentSeed(NamedTuple):
    """A historical storage document seeded into a location (it does not move seeded stock)."""

    type_id: int
    storage_id: int
    create_date: datetime
    comment: str
    lines: tuple[DocumentLineSeed, ...]


_CATEGORY_TREE: tuple[tuple[int, str, int, str], ...] = (
    (101, "Hair care", 0, "HAIR"),
    (102, "Colouring", 0, "COLOR"),
    (103, "Manicure", 0, "NAIL"),
    (104, "Consumables", 0, "CONS"),
    (105, "Skin care", 0, "SKIN"),
    (111, "Shampoo", 101, "HAIR-SH"),
    (112, "Conditioner", 101, "HAIR-CO"),
    (113, "Styling", 101, "HAIR-ST"),
    (114, "Treatments", 101, "HAIR-TR"),
    (121, "Permanent colour", 102, "COLOR-PC"),
    (122, "Developers", 102, "COLOR-DV"),
    (123, "Bleach and lighteners", 102, "COLOR-BL"),
    (131, "Nail polish", 103, "NAIL-NP"),
    (132, "Gel systems", 103, "NAIL-GS"),
    (133, "Nail care", 103, "NAIL-NC"),
    (141, "Disposables", 104, "CONS-DS"),
    (142, "Cleaning and hygiene", 104, "CONS-CH"),
    (143, "Towels and capes", 104, "CONS-TC"),
    (151, "Face", 105, "SKIN-FC"),
    (152, "Body", 105, "SKIN-BD"),
)

_HAIR = ("Lumina Pro", "Keratica", "Velvet & Co", "Nordic Salon", "Ambra")
_COLOUR = ("Lumina Pro", "Chroma Lab", "Ambra")
_NAIL = ("Maison Nail", "Gloss Theory", "Nailberry Lab")
_CLEAN = ("Cleanline", "SalonBasics")
_SKIN = ("Pura Botanica", "Solaris")
_SHADES = (
    "4.5 Mahogany Brown",
    "5.0 Light Brown",
    "6.1 Dark Ash Blonde",
    "7.3 Golden Blonde",
    "8.1 Light Ash Blonde",
    "9.0 Very Light Blonde",
    "10.2 Platinum Pearl",
    "3.0 Dark Brown",
    "5.4 Light Copper Brown",
    "6.6 Dark Red Blonde",
    "7.0 Medium Blonde",
    "8.3 Light Golden Blonde",
    "9.1 Very Light Ash Blonde",
    "12.11 Intense Ash",
)
_POLISH = ("Cherry Red", "Nude Rose", "Midnight Blue", "Pearl White", "Coral Bliss", "Plum Velvet")
_HAIR_LINES = (
    "Hydra Repair",
    "Colour Protect",
    "Volume Boost",
    "Scalp Balance",
    "Silver Bright",
    "Daily Clean",
)

KINDS: tuple[Kind, ...] = (
    Kind("SH", 111, "Shampoo", _HAIR_LINES, (250, 500, 1000), ML, (9.0, 34.0), _HAIR, False),
    Kind("CO", 112, "Conditioner", _HAIR_LINES, (200, 500, 1000), ML, (10.0, 36.0), _HAIR, False),
    Kind(
        "ST",
        113,
        "Styling Mousse",
        ("Strong Hold", "Flexible", "Curl Define"),
        (150, 300),
        ML,
        (11.0, 24.0),
        _HAIR,
        False,
    ),
    Kind(
        "HS",
        113,
        "Hairspray",
        ("Strong Hold", "Flexible", "Shine"),
        (300, 500),
        ML,
        (10.0, 22.0),
        _HAIR,
        False,
    ),
    Kind(
        "MK",
        114,
        "Hair Mask",
        ("Deep Repair", "Keratin", "Argan"),
        (200, 500),
        ML,
        (14.0, 42.0),
        _HAIR,
        False,
    ),
    Kind("PC", 121, "Permanent Colour", _SHADES, (60,), ML, (6.5, 12.0), _COLOUR, True),
    Kind(
        "DV",
        122,
        "Cream Developer",
        ("3% 10 vol", "6% 20 vol", "9% 30 vol", "12% 40 vol"),
        (1000,),
        ML,
        (8.0, 15.0),
        _COLOUR,
        True,
    ),
    Kind("BL", 123, "Bleach Powder", ("Dust-free Blue", "Plex Bond"), (500,), G, (18.0, 39.0), _COLOUR, True),
    Kind("NP", 131, "Nail Polish", _POLISH, (15,), ML, (6.0, 14.0), _NAIL, False),
    Kind("GP", 132, "Gel Polish", _POLISH, (10,), ML, (9.0, 18.0), _NAIL, True),
    Kind("TC", 132, "Top Coat", ("No Wipe", "Matte"), (10,), ML, (9.0, 16.0), _NAIL, True),
    Kind("CU", 133, "Cuticle Oil", ("Almond", "Vanilla"), (15,), ML, (5.0, 11.0), _NAIL, False),
    Kind("NR", 133, "Nail Polish Remover", ("Acetone-free", "Classic"), (500,), ML, (4.0, 9.0), _NAIL, True),
    Kind("GL", 141, "Nitrile Gloves", ("Size S", "Size M", "Size L"), (100,), PCS, (7.0, 12.0), _CLEAN, True),
    Kind(
        "FO",
        141,
        "Highlighting Foil",
        ("Silver 12 cm", "Gold 12 cm"),
        (100,),
        PCS,
        (12.0, 19.0),
        _CLEAN,
        True,
    ),
    Kind("DS", 142, "Surface Disinfectant", ("Citrus", "Unscented"), (1000,), ML, (8.0, 16.0), _CLEAN, True),
    Kind("HG", 142, "Hand Sanitiser", ("Aloe", "Unscented"), (500,), ML, (5.0, 9.0), _CLEAN, True),
    Kind("TW", 143, "Disposable Towels", ("40x80 cm", "70x50 cm"), (50,), PCS, (9.0, 15.0), _CLEAN, True),
    Kind("CG", 151, "Cleansing Gel", ("Sensitive", "Purifying"), (200,), ML, (12.0, 26.0), _SKIN, False),
    Kind("BD", 152, "Body Lotion", ("Shea", "Citrus"), (400,), ML, (11.0, 24.0), _SKIN, False),
)

#: id, title, address, whether the user manages it, UTC offset in hours: one location west of
#: UTC and one east, so a date sent in the wrong zone lands on the wrong hour in a test.
_LOCATIONS: tuple[tuple[int, str, str, bool, int], ...] = (
    (1001, "Lumiere Downtown", "12 Market Street", True, -5),
    (1002, "Lumiere Riverside", "48 River Road", True, 3),
    (1003, "Lumiere Airport (franchise)", "Terminal 2, Unit 14", False, 1),
)


#: Article prefixes: the first three letters of the brand.
_BRAND_CODES = {
    brand: "".join(ch for ch in brand.upper() if ch.isalpha())[:3] for kind in KINDS for brand in kind.brands
}

#: Every distinct base title as (kind, brand, variant, size) indices. Product ``i`` takes combo
#: ``permutation(i // len(_COMBOS))[i % len(_COMBOS)]``, so titles repeat only across rounds, and a
#: repeat carries its round as a line number (``... 250 ml #2``): unique per location at any size.
_COMBOS: tuple[tuple[int, int, int, int], ...] = tuple(
    (k, b, v, s)
    for k, kind in enumerate(KINDS)
    for b in range(len(kind.brands))
    for v in range(len(kind.variants))
    for s in range(len(kind.sizes))
)


class _Identity(NamedTuple):
    """What names a seeded product (and what ``term`` searches), plus the rest of its hash."""

    kind: Kind
    brand: str
    size_index: int
    title: str
    article: str
    barcode: str
    rest: int


class ChainSeed:
    """The seeded chain: locations, storages, categories and the lazily computed catalogue.

    :param seed: random seed; the same seed gives the same data.
    :param products: catalogue size per location.
    """

    def __init__(self, seed: int, products: int) -> None:
        self.seed = seed
        self.size = products
        self.locations: tuple[LocationSeed, ...] = tuple(
            LocationSeed(
                id=loc_id,
                index=k,
                title=title,
                address=address,
                utc_offset_hours=offset,
                accessible=accessible,
                goods_base=10_000_000 * (k + 1),
                storages=(
                    StorageSeed(
                        3000 + 100 * (k + 1) + 1, "Retail shelf", 1, 0, "Products for sale at reception"
                    ),
                    StorageSeed(
                        3000 + 100 * (k + 1) + 2,
                        "Back room consumables",
                        0,
                        1,
                        "Professional products written off in services",
                    ),
                ),
            )
            for k, (loc_id, title, address, accessible, offset) in enumerate(_LOCATIONS)
        )
        self.categories: tuple[CategorySeed, ...] = tuple(CategorySeed(*row) for row in _CATEGORY_TREE)
        self._barcode_base = 10**9 + mix(seed, 7) % (8 * 10**9)
        self._step = SEED_SPAN // max(products, 1)
        self._haystacks: list[str] | None = None
        self._members: dict[int, list[int]] | None = None
        self._rounds: dict[int, list[int]] = {}

    # -- products -------------------------------------------------------------------------

    def _combo(self, index: int) -> tuple[tuple[int, int, int, int], int]:
        """The (kind, brand, variant, size) combo of product ``index`` and its round (0 = first use)."""
        round_no, position = divmod(index, len(_COMBOS))
        order = self._rounds.get(round_no)
        if order is None:
            # A seeded shuffle per round: each round uses every combo once, in its own order.
            order = list(range(len(_COMBOS)))
            random.Random(mix(self.seed, round_no, 41)).shuffle(order)
            self._rounds[round_no] = order
        return _COMBOS[order[position]], round_no

    def _identity(self, index: int) -> _Identity:
        (k, b, v, size_index), round_no = self._combo(index)
        kind = KINDS[k]
        brand = kind.brands[b]
        title = (
            f"{brand} {kind.variants[v]} {kind.noun} {kind.sizes[size_index]} {UNITS[kind.service_unit][0]}"
        )
        return _Identity(
            kind,
            brand,
            size_index,
            f"{title} #{round_no + 1}" if round_no else title,
            f"{_BRAND_CODES[brand]}-{kind.code}-{index + 1:05d}",
            ean13(f"20{self._barcode_base + index:010d}"),
            mix(self.seed, index),
        )

    def product(self, index: int) -> ProductSeed:
        """The seeded attributes of catalogue product ``index`` (0-based)."""
        kind, brand, size_index, title, article, barcode, h = self._identity(index)
        size = kind.sizes[size_index]
        lo, hi = kind.price
        scale = 0.6 + 0.4 * size_index if len(kind.sizes) > 1 else 1.0
        cost = round((lo + (hi - lo) * (h % 1000) / 1000) * scale, 2)
        h //= 1000
        actual_cost = round(cost * (0.45 + (h % 16) / 100), 2)
        h //= 16
        critical = float(1 + h % 4 if kind.professional else 2 + h % 4)
        netto = float(size) if kind.service_unit != PCS else 0.0
        return ProductSeed(
            index,
            title,
            article,
            barcode,
            kind.category_id,
            cost,
            actual_cost,
            PCS,
            kind.service_unit,
            float(size),
            critical,
            critical * (4 if kind.professional else 3),
            netto,
            round(netto * 1.12, 1),
            kind.professional,
            brand,
        )

    def stock(self, location: LocationSeed, spec: ProductSeed) -> dict[int, float]:
        """Seeded stock of a product per storage of ``location``; about 15% is below critical."""
        h = mix(self.seed, location.id, spec.product_index, 3)
        main, other = (
            (location.service_storage, location.retail_storage)
            if spec.professional
            else (location.retail_storage, location.service_storage)
        )
        if h % 100 < 15:
            amounts = {main.id: float((h >> 8) % (int(spec.critical_amount) + 1)), other.id: 0.0}
        else:
            top = int(spec.desired_amount * 1.5)
            main_amount = float(spec.critical_amount + 1 + (h >> 8) % max(top - int(spec.critical_amount), 1))
            reserve = 0.0 if spec.professional else float((h >> 20) % 7)
            amounts = {main.id: main_amount, other.id: reserve}
        return {storage.id: amounts[storage.id] for storage in location.storages}

    def changed_at(self, index: int) -> int:
        """Seeded ``last_change_date`` (epoch seconds) of product ``index``; grows with the index."""
        return SEED_EPOCH + index * self._step

    @property
    def latest_seeded_change(self) -> int:
        """The newest seeded change; the sandbox clock never shows anything older for a new change."""
        return self.changed_at(max(self.size - 1, 0)) + SEED_SPAN // 100

    def index_window(self, after: int | None, before: int | None) -> range:
        """Indices whose seeded change time lies in ``[after, before]`` (both inclusive)."""
        lo = 0 if after is None else max(0, -(-(after - SEED_EPOCH) // self._step))
        hi = self.size if before is None else min(self.size, (before - SEED_EPOCH) // self._step + 1)
        return range(lo, max(lo, hi))

    def haystack(self, index: int) -> str:
        """Lower-cased title, article and barcode: what ``term`` is matched against."""
        if self._haystacks is None:
            # Built once, on the first term search, and shared by every location.
            identities = map(self._identity, range(self.size))
            self._haystacks = [f"{i.title.lower()}\n{i.article.lower()}\n{i.barcode}" for i in identities]
        return self._haystacks[index]

    def category_members(self, category_id: int) -> list[int]:
        """Sorted indices of seeded products in ``category_id`` (direct members only)."""
        if self._members is None:
            members: dict[int, list[int]] = {}
            for i in range(self.size):
                members.setdefault(KINDS[self._combo(i)[0][0]].category_id, []).append(i)
            self._members = members
        return self._members.get(category_id, [])

    # -- history and supplier ---------------------------------------------------------------

    def seeded_documents(self, location: LocationSeed) -> list[DocumentSeed]:
        """A few historical receipts and sales so that the transactions list is not empty."""
        if not location.accessible or self.size == 0:
            return []
        docs: list[DocumentSeed] = []
        pool = min(self.size, 200)
        start = datetime(2026, 5, 4, 10, 0)
        for n in range(6):
            h = mix(self.seed, location.id, n, 11)
            type_id = 3 if n % 3 == 0 else 1
            storage = location.service_storage if n % 3 == 0 and n % 2 else location.retail_storage
            picks = [(h >> (8 * k)) % pool for k in range(1 + h % 3)]
            lines = tuple(
                DocumentLineSeed(
                    product_index=i,
                    amount=float(1 + (h >> (8 * k + 4)) % (12 if type_id == 3 else 3)),
                    cost_per_unit=self.product(i).actual_cost if type_id == 3 else self.product(i).cost,
                )
                for k, i in enumerate(picks)
            )
            comment = "Supplier delivery" if type_id == 3 else "Retail sale"
            docs.append(
                DocumentSeed(type_id, storage.id, start + timedelta(days=9 * n, hours=n), comment, lines)
            )
        return docs

    def altacolor_products(self) -> list[AltacolorSeed]:
        """The supplier catalogue: about 65% of the first 2000 articles, plus codes Altegio lacks."""
        out: list[AltacolorSeed] = []
        for i in range(min(self.size, 2000)):
            if mix(self.seed, i, 21) % 100 < 65:
                spec = self.product(i)
                out.append(
                    self._supplier_item(
                        len(out), spec.article, spec.title, spec.brand, spec.actual_cost, spec.category_id
                    )
                )
        extra = max(20, len(out) // 4)
        for j in range(extra):
            kind = KINDS[mix(self.seed, j, 22) % len(KINDS)]
            brand = kind.brands[mix(self.seed, j, 23) % len(kind.brands)]
            variant = kind.variants[mix(self.seed, j, 24) % len(kind.variants)]
            lo, hi = kind.price
            price = round(lo * 0.5 + (hi - lo) * 0.5 * (mix(self.seed, j, 25) % 100) / 100, 2)
            out.append(
                self._supplier_item(
                    len(out),
                    f"ALT-{kind.code}-{9000 + j}",
                    f"{brand} {variant} {kind.noun}",
                    brand,
                    price,
                    kind.category_id,
                )
            )
        return out

    def _supplier_item(
        self, position: int, code: str, name: str, supplier: str, unit_cost: float, category_id: int
    ) -> AltacolorSeed:
        h = mix(self.seed, position, 31)
        price = round(unit_cost * (0.9 + (h % 21) / 100), 2)
        category = next(c.title for c in self.categories if c.id == category_id)
        return AltacolorSeed(
            product_id=70001 + position,
            product_code=code,
            product_name=name,
            supplier=supplier,
            price=price,
            cost=round(price * 0.62, 2),
            category=category,
            sort_position=int((h >> 8) % 10_000),
            date_modified=SEED_EPOCH - 200 * 86400 + int((h >> 24) % (500 * 86400)),
        )


@dataclass(slots=True)
class AltacolorSeed:
    """One product of the seeded Altacolor supplier catalogue.

    Mutable because the sandbox's :class:`~airflow_provider_altegio.sandbox.altacolor.SupplierProduct`
    (this record plus its API shape) is changed in place by the control API.
    """

    product_id: int
    product_code: str
    product_name: str
    supplier: str
    price: float
    cost: float
    category: str
    sort_position: int
    date_modified: int


def descendants(categories: dict[int, int], root: int) -> set[int]:
    """``root`` and every category below it, given a ``{id: parent_id}`` map."""
    children: dict[int, list[int]] = {}
    for cat_id, parent in categories.items():
        children.setdefault(parent, []).append(cat_id)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def merge_sorted(*runs: list[int]) -> list[int]:
    """Merge already sorted id lists (timsort merges sorted runs in linear time)."""
    merged: list[int] = []
    for run in runs:
        merged.extend(run)
    merged.sort()
    return merged
