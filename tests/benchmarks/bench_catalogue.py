"""Benchmark 1: a full catalogue read, AltegioHook against a bare httpx loop and an HttpHook loop.

The sandbox serves 10000 products with its rate limits off, in its own process. Each variant is
what one task does: build its client, read every page, close. The variants run interleaved and
the ratio of medians is the figure, so machine noise cancels out. The hook builds a model for
every product; the bare loop only decodes JSON. At the platform's real limits (5/s, 200/min) the
rate budget, not this work, sets the pace.
"""

from __future__ import annotations

import functools

import httpx

from tests.benchmarks._common import (
    API_HEADERS,
    Result,
    Sandbox,
    check,
    emit,
    interleaved,
    median,
    sandbox_process,
    set_altegio_connection,
    set_http_connection,
)

PRODUCTS = 10_000
#: The hook's default page size, and the largest the API takes (fewer requests, same items).
PAGE_SIZES = (100, 1000)
REPETITIONS = 11


def read_with_hook(sandbox: Sandbox, page_size: int) -> int:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook("bench_altegio", page_size=page_size)
    try:
        return sum(1 for _ in hook.iter_products(sandbox.location_id))
    finally:
        hook.close()


def read_with_httpx(sandbox: Sandbox, page_size: int) -> int:
    total = 0
    with httpx.Client(base_url=sandbox.altegio_url, headers=API_HEADERS, timeout=60.0) as client:
        page = 1
        while True:
            response = client.get(f"/goods/{sandbox.location_id}", params={"page": page, "count": page_size})
            response.raise_for_status()
            data = response.json()["data"]
            total += len(data)
            if len(data) < page_size:
                return total
            page += 1


def read_with_http_hook(sandbox: Sandbox, page_size: int) -> int:
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id="bench_http")
    total = 0
    page = 1
    while True:
        response = hook.run(f"goods/{sandbox.location_id}", data={"page": page, "count": page_size})
        data = response.json()["data"]
        total += len(data)
        if len(data) < page_size:
            return total
        page += 1


def run(results: list[Result]) -> None:
    with sandbox_process(products=PRODUCTS, rps=0, rpm=0) as sandbox:
        set_altegio_connection(
            "bench_altegio", sandbox, requests_per_second=0, requests_per_minute=0, timeout=60
        )
        set_http_connection("bench_http", sandbox)
        for page_size in PAGE_SIZES:
            _compare(results, sandbox, page_size)


def _compare(results: list[Result], sandbox: Sandbox, page_size: int) -> None:
    readers = {"AltegioHook": read_with_hook, "httpx": read_with_httpx, "HttpHook": read_with_http_hook}
    variants = {name: functools.partial(read, sandbox, page_size) for name, read in readers.items()}
    # One warm-up each: imports, pydantic schema build and the server's first-touch caches.
    counts = {name: variant() for name, variant in variants.items()}
    if set(counts.values()) != {PRODUCTS}:
        raise RuntimeError(f"the variants read different catalogues: {counts}")
    times = interleaved(variants, REPETITIONS)
    hook, bare, http_hook = (median(times[name]) for name in ("AltegioHook", "httpx", "HttpHook"))
    detail = (
        f"median of {REPETITIONS} interleaved reads of {PRODUCTS} products, pages of {page_size}: "
        f"AltegioHook (models built) {hook * 1000:.0f} ms, bare httpx (JSON only) {bare * 1000:.0f} ms, "
        f"HttpHook (JSON only) {http_hook * 1000:.0f} ms, so {hook / http_hook:.2f}x HttpHook"
    )
    emit(check(f"catalogue_read_vs_httpx_p{page_size}", hook / bare, "x", "<=", 1.5, detail), results)
