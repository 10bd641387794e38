"""Benchmark 1: a full catalogue read, AltegioHook against a bare httpx loop and an HttpHook loop.

The sandbox serves 10000 products with its rate limits off, in its own process. Each variant is
what one task does: build its client, read every page, close. The variants run interleaved and
the ratio of medians is the figure, so machine noise cancels out.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
REPETITIONS = 21


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


class CollectorClock:
    """Time spent in Python's garbage collector, per variant: part of each read's cost."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self._started = 0.0
        self._total = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._total += time.perf_counter() - self._started

    @contextmanager
    def watching(self) -> Iterator[None]:
        gc.callbacks.append(self._callback)
        try:
            yield
        finally:
            gc.callbacks.remove(self._callback)

    def timed(self, name: str, read: Callable[[], int]) -> Callable[[], int]:
        """``read``, recording the collector time of each call under ``name``."""

        def call() -> int:
            before = self._total
            try:
                return read()
            finally:
                self.spent.setdefault(name, []).append(self._total - before)

        return call


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
    clock = CollectorClock()
    with clock.watching():
        times = interleaved({name: clock.timed(name, read) for name, read in variants.items()}, REPETITIONS)
    names = ("AltegioHook", "httpx", "HttpHook")
    hook, bare, http_hook = (median(times[name]) for name in names)
    collector = ", ".join(f"{name} {median(clock.spent[name]) * 1000:.0f} ms" for name in names)
    detail = (
        f"median of {REPETITIONS} interleaved reads of {PRODUCTS} products, pages of {page_size}: "
        f"AltegioHook {hook * 1000:.0f} ms, bare httpx {bare * 1000:.0f} ms, "
        f"HttpHook {http_hook * 1000:.0f} ms; of which in the garbage collector: {collector}"
    )
    suffix = f"p{page_size}"
    emit(check(f"catalogue_read_vs_httpx_{suffix}", hook / bare, "x", "<=", 1.10, detail), results)
    emit(check(f"catalogue_read_vs_httphook_{suffix}", hook / http_hook, "x", "<", 1.0, detail), results)
