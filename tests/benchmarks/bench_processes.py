"""Benchmark 6: one account's budget shared by separate task processes.

Six processes (as Airflow runs six task instances) each read the whole catalogue through the
hook, on one set of credentials, against the sandbox at the platform's real limits (5/s and
200/min per token). Run once with the default file store and once with a real ``redis-server``.
Each process counts every response its httpx transport receives; the sandbox counts its 429s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks._common import REPO_ROOT, Result, Sandbox, check, emit, sandbox_process

PROCESSES = 6
PER_SECOND = 5
PER_MINUTE = 200
PAGE_SIZE = 100
# 3900 products = 39 full pages and an empty one: 40 requests a process, 240 in all, so the
# minute window binds as well as the second.
PRODUCTS = 3900
STARTUP = 15.0  # seconds for every process to import Airflow before the common start


def least_time(requests: int, per_second: int, per_minute: int) -> float:
    """Start of the last request under both sliding windows, sent as early as they allow."""
    starts: list[float] = []
    for i in range(requests):
        at = 0.0
        if i >= per_second:
            at = max(at, starts[i - per_second] + 1.0)
        if i >= per_minute:
            at = max(at, starts[i - per_minute] + 60.0)
        starts.append(at)
    return starts[-1]


def reader(conn_json: str, location_id: int, start: float) -> None:
    """One task process: read the catalogue from ``start`` and print what it saw as JSON."""
    os.environ["AIRFLOW_CONN_BENCH_SHARED"] = conn_json
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from tests.benchmarks.bench_ratelimit import count_responses

    hook = AltegioHook("bench_shared", page_size=PAGE_SIZE)
    hook.get_conn()
    time.sleep(max(0.0, start - time.time()))
    with count_responses() as statuses:
        read = sum(1 for _ in hook.iter_products(location_id))
    ended = time.time()
    hook.close()
    print(json.dumps({"read": read, "statuses": dict(statuses), "ended": ended}), flush=True)


def _run(sandbox: Sandbox, store: str) -> tuple[float, list[dict[str, object]]]:
    """Start the readers, wait for them all; the aggregate wall time and each one's report."""
    conn = {
        "conn_type": "altegio",
        "host": sandbox.altegio_url,
        "extra": {
            "partner_token": "bench-partner-token-0123456789",
            "user_token": "bench-user-token-0123456789",
            "requests_per_second": PER_SECOND,
            "requests_per_minute": PER_MINUTE,
            "rate_limit_store": store,
        },
    }
    start = time.time() + STARTUP
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", __name__, json.dumps(conn), str(sandbox.location_id), repr(start)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"a reader failed with exit code {proc.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return max(float(r["ended"]) for r in reports) - start, reports  # type: ignore[arg-type]


def _measure(results: list[Result], name: str, store: str) -> None:
    with sandbox_process(products=PRODUCTS, rps=PER_SECOND, rpm=PER_MINUTE) as sandbox:
        before = _server_429s(sandbox)
        elapsed, reports = _run(sandbox, store)
        server = _server_429s(sandbox) - before
    received = sum(int(r["statuses"].get("429", 0)) for r in reports)  # type: ignore[attr-defined]
    requests = sum(sum(r["statuses"].values()) for r in reports)  # type: ignore[attr-defined]
    complete = all(r["read"] == PRODUCTS for r in reports)
    bound = least_time(requests, PER_SECOND, PER_MINUTE)
    detail = (
        f"{PROCESSES} processes x {PRODUCTS} products, {requests} requests in all at "
        f"{PER_SECOND}/s and {PER_MINUTE}/min ({name} store): {elapsed:.1f} s against a least "
        f"time of {bound:.1f} s; 429s received {received}, refused by the sandbox {server}; "
        f"every process read every product: {complete}"
    )
    emit(check(f"processes_{name}_429_received", max(received, server), "count", "==", 0, detail), results)
    emit(check(f"processes_{name}_incomplete_reads", 0 if complete else 1, "count", "==", 0), results)
    emit(check(f"processes_{name}_wall_vs_least", elapsed / bound, "x", "<=", 1.15, detail), results)


def _server_429s(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.requests(method="GET") if entry.get("status") == 429)


def run(results: list[Result]) -> None:
    from tests.servers import redis_server

    with tempfile.TemporaryDirectory(prefix="altegio-budget-") as directory:
        _measure(results, "file", str(Path(directory)))
    with redis_server() as url:
        _measure(results, "redis", url)


if __name__ == "__main__":
    reader(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
