"""Benchmark 5: streaming keeps memory flat: peak memory reading 100000 products against 10000.

Each read runs in a fresh interpreter that imports everything and reads one page first, then
resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) and reads the whole catalogue with
``AltegioHook.iter_products``. The figure is the peak RSS growth over the warm start; a second
pass under ``tracemalloc`` gives the Python-heap peak as a cross-check.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc
from pathlib import Path

from tests.benchmarks._common import (
    Result,
    check,
    emit,
    median,
    run_child,
    sandbox_process,
    set_altegio_connection,
)

SMALL, LARGE = 10_000, 100_000
REPETITIONS = 3
BUDGET_MB = 20.0


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(conn_id: str, location_id: int, expected: int, trace: bool) -> dict[str, float]:
    """Read the whole catalogue once; report the peak memory growth over the warm start."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook(conn_id)
    warm = hook.iter_products(location_id)
    next(warm)  # imports, schema build, connection pool: not part of what streaming costs
    warm.close()
    gc.collect()
    if trace:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    if not _reset_peak():
        raise RuntimeError("cannot reset the peak RSS mark (/proc/self/clear_refs)")
    start_rss = _rss_kb("VmRSS")
    count = 0
    for _product in hook.iter_products(location_id):
        count += 1
    if count != expected:
        raise RuntimeError(f"read {count} products, expected {expected}")
    figures = {"rss_growth_mb": (_rss_kb("VmHWM") - start_rss) / 1024}
    if trace:
        figures["heap_peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        tracemalloc.stop()
    hook.close()
    return figures


def _measure(products: int) -> tuple[list[float], float]:
    """Peak RSS growth of ``REPETITIONS`` fresh readers, and one reader's traced heap peak."""
    with sandbox_process(products=products, rps=0, rpm=0) as sandbox:
        set_altegio_connection(
            "bench_stream", sandbox, requests_per_second=0, requests_per_minute=0, timeout=60
        )
        args = ["--child", "bench_stream", str(sandbox.location_id), str(products)]
        rss = [run_child(__name__, *args)["rss_growth_mb"] for _ in range(REPETITIONS)]
        heap = run_child(__name__, *args, "--trace")["heap_peak_mb"]
    return rss, heap


def run(results: list[Result]) -> None:
    (small_rss, small_heap), (large_rss, large_heap) = _measure(SMALL), _measure(LARGE)
    small, large = median(small_rss), median(large_rss)
    detail = (
        f"peak RSS growth over a warm start, median of {REPETITIONS} fresh processes: "
        f"{SMALL} products {small:.1f} MB, {LARGE} products {large:.1f} MB; "
        f"Python heap peak (tracemalloc): {small_heap:.1f} MB and {large_heap:.1f} MB"
    )
    emit(check("streaming_peak_100k_minus_10k", large - small, "MB", "<=", BUDGET_MB, detail), results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, metavar=("CONN_ID", "LOCATION_ID", "PRODUCTS"), required=True)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    conn_id, location_id, products = args.child
    print(json.dumps(child(conn_id, int(location_id), int(products), args.trace)))


if __name__ == "__main__":
    main()
