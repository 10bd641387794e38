"""Benchmark 2: reading under the platform's rate limit, scaled up so the run stays short.

The sandbox enforces 50 requests per second and 2000 per minute per token (the real platform: 5
and 200); the hook is configured with the same budget. Every response the hook's transport
receives is counted, so a single 429 shows, even one the hook retried quietly. The wall time is
compared with the least time the limit allows for the same number of requests.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.benchmarks._common import Result, Sandbox, check, emit, sandbox_process, set_altegio_connection

PER_SECOND = 50
PER_MINUTE = 2000
PRODUCTS = 10_000
# 10000 / 20 = 500 full pages and one empty page: 501 requests, so the last one may start at
# exactly 10.0 s under a 50/s sliding window; requests / rate is 10.02 s.
PAGE_SIZE = 20


@contextmanager
def count_responses() -> Iterator[Counter[int]]:
    """Count every HTTP status that reaches any sync httpx transport in this process."""
    statuses: Counter[int] = Counter()
    original = httpx.HTTPTransport.handle_request

    def counting(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        response = original(self, request)
        statuses[response.status_code] += 1
        return response

    httpx.HTTPTransport.handle_request = counting  # type: ignore[method-assign]
    try:
        yield statuses
    finally:
        httpx.HTTPTransport.handle_request = original  # type: ignore[method-assign]


def least_time(requests: int, per_second: float, per_minute: float) -> float:
    """Least wall time for ``requests`` under both budgets: ``requests / rate``, or the start of the
    last request under sliding windows when that is later."""
    last = requests - 1
    sliding = max(math.floor(last / per_second), 60 * math.floor(last / per_minute))
    return max(requests / per_second, float(sliding))


def run(results: list[Result]) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with sandbox_process(products=PRODUCTS, rps=PER_SECOND, rpm=PER_MINUTE) as sandbox:
        set_altegio_connection(
            "bench_limited",
            sandbox,
            requests_per_second=PER_SECOND,
            requests_per_minute=PER_MINUTE,
            timeout=30,
        )
        hook = AltegioHook("bench_limited", page_size=PAGE_SIZE)
        with count_responses() as statuses:
            start = time.perf_counter()
            read = sum(1 for _ in hook.iter_products(sandbox.location_id))
            elapsed = time.perf_counter() - start
        hook.close()
        server = _server_429s(sandbox)

    requests = sum(statuses.values())
    bound = least_time(requests, PER_SECOND, PER_MINUTE)
    detail = (
        f"{read} products in {requests} requests (pages of {PAGE_SIZE}) under {PER_SECOND}/s and "
        f"{PER_MINUTE}/min: {elapsed:.2f} s against a least time of {bound:.2f} s; "
        f"statuses {dict(sorted(statuses.items()))}; sandbox-side 429s: {server}"
    )
    emit(check("ratelimit_429_received", max(statuses[429], server), "count", "==", 0, detail), results)
    emit(check("ratelimit_wall_vs_least", elapsed / bound, "x", "<=", 1.05, detail), results)


def _server_429s(sandbox: Sandbox) -> int:
    """How many of the requests the sandbox logged it answered with 429."""
    return sum(1 for entry in sandbox.requests(method="GET") if entry.get("status") == 429)
