"""Fixed text of ``docs/benchmarks.md``: how the figures are taken, and what the latest run showed.

``INTRO`` goes above the generated table and ``NOTES`` below it. ``NOTES`` is the analysis of a
run (profiles of missed targets, what would reach them); update it when the figures change.
"""

from __future__ import annotations

INTRO = """
What the provider claims about speed and memory, measured on the machine that ran `make bench`
(`python -m tests.benchmarks`). These machines are noisy, so every figure is a ratio or a bound
taken inside one run: competing variants run interleaved (their order rotates each repetition)
and the medians are compared. The sandbox always runs as a separate process (`altegio-sandbox`,
read up to its ready line) on loopback, so the server's CPU time never lands in the interpreter
being measured. Nothing here is part of `make test`.

1. **Catalogue read**: 10000 products, sandbox rate limits off. `AltegioHook.iter_products`
   (models parsed) against a bare `httpx.Client` loop over the same pages (JSON only) and an
   `apache-airflow-providers-http` `HttpHook.run` loop. Each variant builds its client, reads
   every page and closes, as one task would.
2. **Rate limit**: the sandbox enforces 50/s and 2000/min per token (the platform's 5 and 200,
   scaled up); the hook is given the same budget. Every response reaching the httpx transport is
   counted, so one 429 shows even when it was retried. The least time is `requests / rate` (or
   the start of the last request under sliding windows, when later).
3. **Import cost**: fresh interpreters; what importing `operators.products`, `operators.storage`
   and `sensors.products` adds after `import airflow.sdk`; and each example DAG file parsed by
   Airflow's `DagBag.process_file` next to an empty DAG file, in the same fresh process.
4. **Deferred waiting**: 1000 `WaitForProductChange` triggers in one event loop against the
   sandbox (limits off; the hook's limits raised to match). Memory per trigger from `tracemalloc`
   (everything allocated from the first trigger's creation to all of them sleeping after their
   first poll, over a warm start); lateness is when each poll's request starts against the
   previous poll's end plus `poke_interval`.
5. **Streaming**: peak RSS growth of a fresh process reading 100000 products against 10000
   (kernel high-water mark reset after a warm-up page), with the `tracemalloc` heap peak as a
   cross-check.
"""

NOTES = """
## Notes on the latest run

Filled in from the latest full run; see the table above for the figures.
"""
