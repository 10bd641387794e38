"""Response-model parsing: ``Product`` against a bare pydantic model of the same shape.

Not one of the issue's five benchmarks; it guards the cost of the tolerant models, which is most
of what ``AltegioHook.iter_products`` adds to a bare httpx loop (benchmark 1). The products are
the sandbox's own pages. Two ways of reading are measured: item by item from decoded JSON (the
general path) and whole pages from the body bytes in one pass (what the hook does with a
well-formed page). The bare model has the same fields with plain ``int``/``float``/``str``
types, no placeholder rules and ``extra="allow"``: as fast as pydantic reads this shape, so the
ratio says what the tolerance costs, whatever the machine. Times are CPU time of interleaved
rounds (the machines are shared). Run it with ``python -m tests.benchmarks.bench_models``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from tests.benchmarks._common import API_HEADERS, Result, check, emit, median, sandbox_process

PRODUCTS = 2000
PAGE_SIZE = 100
ROUNDS = 15


class _BareAmount(BaseModel):
    model_config = ConfigDict(extra="allow")

    storage_id: int | None = None
    amount: float = 0.0


class _BareProduct(BaseModel):
    """``Product``'s fields with pydantic's own types: the floor for this shape."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    good_id: int | None = None
    title: str | None = None
    value: str | None = None
    label: str | None = None
    print_title: str | None = None
    article: str | None = None
    barcode: str | None = None
    category_id: int | None = None
    cost: float | None = None
    actual_cost: float | None = None
    unit_id: int | None = None
    unit_short_title: str | None = None
    service_unit_id: int | None = None
    service_unit_short_title: str | None = None
    unit_actual_cost: float | None = None
    unit_actual_cost_format: str | None = None
    unit_equals: float | None = None
    critical_amount: float | None = None
    desired_amount: float | None = None
    actual_amounts: list[_BareAmount] = Field(default_factory=list)
    last_change_date: datetime | None = None
    netto: float | None = None
    brutto: float | None = None
    comment: str | None = None
    is_barcode: bool | None = None


def fetch_products(altegio_url: str, location_id: int) -> list[dict[str, Any]]:
    """The first :data:`PRODUCTS` products of the sandbox, as the API sends them."""
    products: list[dict[str, Any]] = []
    with httpx.Client(base_url=altegio_url, headers=API_HEADERS, timeout=60.0) as client:
        page = 1
        while len(products) < PRODUCTS:
            response = client.get(f"/goods/{location_id}", params={"page": page, "count": PAGE_SIZE})
            response.raise_for_status()
            data = response.json()["data"]
            if not data:
                break
            products.extend(data)
            page += 1
    return products[:PRODUCTS]


def _cpu_per_item(parse: Callable[[Any], object], items: list[Any]) -> float:
    """CPU seconds per product of ``parse`` over ``items`` (products, or pages of them).

    Starts from a collected heap, so no variant pays for the garbage of the one before it.
    """
    gc.collect()
    start = time.process_time()
    for item in items:
        parse(item)
    count = sum(len(item) if isinstance(item, list) else 1 for item in items)
    return (time.process_time() - start) / count


def _one_pass(model: type[BaseModel]) -> Callable[[Any], object]:
    """Read a page of ``model`` items from its body bytes, as the hook does."""
    from airflow_provider_altegio.core.dialects import AltegioDialect, read_page

    def read(page: list[dict[str, Any]]) -> object:
        body = _BODIES[id(page)]
        if read_page(AltegioDialect, model, body) is None:
            raise RuntimeError(f"the one-pass read refused a sandbox page for {model.__name__}")
        return None

    return read


# Body bytes of each page, encoded once outside the timed loop.
_BODIES: dict[int, bytes] = {}


def _pages(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    import json

    pages = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)]
    for page in pages:
        _BODIES[id(page)] = json.dumps({"success": True, "data": page, "meta": {}}).encode()
    return pages


def run(results: list[Result]) -> None:
    from airflow_provider_altegio.models.altegio import Product

    with sandbox_process(products=PRODUCTS) as sandbox:
        items = fetch_products(sandbox.altegio_url, sandbox.location_id)
    if len(items) != PRODUCTS:
        raise RuntimeError(f"the sandbox sent {len(items)} products, not {PRODUCTS}")
    if Product.model_validate(items[0]).good_id != _BareProduct.model_validate(items[0]).good_id:
        raise RuntimeError("Product and the bare model read the sample differently")

    variants: dict[str, Callable[[Any], object]] = {
        "Product": Product.model_validate,
        "bare": _BareProduct.model_validate,
    }
    pages = _pages(items)
    inputs = {"Product": items, "bare": items, "Product pages": pages, "bare pages": pages}
    variants["Product pages"] = _one_pass(Product)
    variants["bare pages"] = _one_pass(_BareProduct)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for name, parse in variants.items():  # warm-up
        _cpu_per_item(parse, inputs[name][:2])
    names = list(variants)
    for round_ in range(ROUNDS):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            times[name].append(_cpu_per_item(variants[name], inputs[name]))

    us = {name: median(times[name]) * 1e6 for name in variants}
    detail = (
        f"median CPU time of {ROUNDS} interleaved rounds over {PRODUCTS} sandbox products, per "
        f"product: item by item from decoded JSON, Product {us['Product']:.1f} us and bare pydantic model "
        f"{us['bare']:.1f} us; pages of {PAGE_SIZE} in one pass, Product {us['Product pages']:.1f} us "
        f"and bare {us['bare pages']:.1f} us"
    )
    emit(check("model_parse_per_product", us["Product"], "us", "<=", 25.0, detail), results)
    emit(check("model_parse_vs_bare_pydantic", us["Product"] / us["bare"], "x", "<=", 1.3, detail), results)
    # The page read includes decoding the JSON (about 10 us a product), which the item path does not.
    emit(check("model_page_read_per_product", us["Product pages"], "us", "<=", 35.0, detail), results)
    # In one pass the bare model runs wholly in pydantic-core, while Product's date and list rules
    # call into Python for every product, so the share of the tolerance is larger here (1.2 to
    # 1.35 on a 2-core machine).
    ratio = us["Product pages"] / us["bare pages"]
    emit(check("model_page_read_vs_bare_pydantic", ratio, "x", "<=", 1.5, detail), results)


if __name__ == "__main__":
    run([])
