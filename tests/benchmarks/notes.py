"""Fixed text of ``docs/benchmarks.md``: how the figures are taken, and what the latest run showed.

``INTRO`` goes above the generated table and ``NOTES`` below it. ``NOTES`` is the analysis of a
run (profiles of missed targets, what would reach them); update it when the figures change.
"""

from __future__ import annotations

INTRO = """
## What to expect against the live platform

Altegio allows one account 5 requests a second and 200 a minute, shared by every task, sensor
and worker using its tokens. That budget, not the provider's own work, decides how long a job
takes:

- **A whole catalogue** of 10000 products is 100 requests at the default 100 a page: about 20
  seconds, and half a minute's budget. The walks of a whole catalogue (low stock, many codes)
  ask 1000 a page: 11 requests. No source documents that the API serves pages that large, so a
  short first page is confirmed by one more request, and a lower live cap loses nothing (see
  [API notes](api-notes.md)).
- **A storage operation** is one request, plus, when the operator checks an outflow's stock,
  the products' reads (one walk page, or one read per product where that is fewer), and a
  transaction search on a retry.
- **A job** makes close to the fewest requests its work allows: every example DAG is measured
  against that figure below (`requests_*`).
- **Deferred sensors share their polls**: all those of one connection, location and
  `poke_interval` in a triggerer cost about one request per interval together, however many
  there are (1000 measured below). Every task and sensor of one account, in every process,
  draws from the one budget, so none of them meets a 429.
- The provider's own work per page (decoding the JSON and building the models) is tens of
  milliseconds, measured below.

## How the figures are taken

What the provider claims about speed and memory, measured on the machine that ran `make bench`
(`python -m tests.benchmarks`). These machines are noisy, so every figure is a ratio or a bound
taken inside one run: competing variants run interleaved (their order rotates each repetition)
and the medians are compared. The sandbox always runs as a separate process (`altegio-sandbox`,
read up to its ready line) on loopback, so the server's CPU time never lands in the interpreter
being measured. Nothing here is part of `make test`.

1. **Catalogue read**: 10000 products, sandbox rate limits off. `AltegioHook.iter_products`
   (models built) against a bare `httpx.Client` loop over the same pages (JSON only); an
   `apache-airflow-providers-http` `HttpHook.run` loop is shown for reference. Each variant
   builds its client, reads every page and closes, as one task would.
2. **Rate limit**: the sandbox enforces 50/s and 2000/min per token (the platform's 5 and 200,
   scaled up); the hook is given the same budget. Every response reaching the httpx transport is
   counted, so one 429 shows even when it was retried. The least time is `requests / rate` (or
   the start of the last request under sliding windows, when later).
3. **Import cost**: fresh interpreters; what importing `operators.products`, `operators.storage`
   and `sensors.products` adds after `import airflow.sdk`; and each example DAG file parsed by
   Airflow's `DagBag.process_file` next to an empty DAG file and the smallest TaskFlow DAG, once
   with the provider's modules cold and once preloaded: the difference is the provider's share.
4. **Deferred waiting**: 1000 `WaitForProductChange` triggers on one location, subscribed to
   Airflow's own `SharedStreamManager` as the triggerer subscribes them, against the sandbox at
   the platform's limits (5/s, 200/min). Every listing request the sandbox logs over four
   intervals is counted; one product is then changed and every trigger must fire within one
   `poke_interval`. Memory per trigger from `tracemalloc`, from before the first subscription to
   all of them past their first poll.
6. **Processes**: six processes (six task instances) each read a 3900-product catalogue through
   the hook on one set of credentials, sandbox at 5/s and 200/min: 240 requests, so the minute
   window binds too. Once with the default file store, once with a real `redis-server`. The
   least time is the start of the last request when every request goes as early as both
   sliding windows allow.
7. **Shared poll through a deadline**: 200 `ProductChangeTrigger`s of one location, poke 10 s,
   driven through Airflow's `SharedStreamManager` as the triggerer's `run_trigger` drives them
   (`tests/triggers/triggerer.py`), sandbox at 5/s and 200/min. The first trigger to subscribe,
   whose kwargs build the group's poll, times out after three intervals; listings are counted
   over those three intervals and three more; then a product is changed, half an interval
   after a poll, and the other 199 must fire within one interval.
8. **Requests per job**: `scripts/demo.py` runs the restock and the stocktake, then a
   five-line write-off and a dry-run catalogue sync of the whole supplier catalogue, against the
   sandbox at 60 and at 2000 products per location, and counts the requests each run made, per
   API, next to the fewest its work allows (`least_requests` and `other_examples`: the
   catalogue walks in pages of 1000, a search per code where that is fewer, the supplier's
   search and details 100 at a time, one request per document booked).
5. **Streaming**: peak RSS growth of a fresh process reading 100000 products against 10000
   (kernel high-water mark reset after a warm-up page), with the `tracemalloc` heap peak as a
   cross-check.
"""

NOTES = """
## Notes: what the figures mean, and why a target is missed

**Catalogue read.** The hook builds a model for every product; the loops it is compared with only
decode JSON. The target is that this costs at most half again the time of the bare loop. Paging
is a plain loop over the one request flow (ask for a page, read it, ask for the next), and the
models are read with pydantic's public API. Of the time per page of 1000 products, decoding the
JSON takes about 8 ms and building the models about 23 ms (the tolerant readers have fast paths
for values already of the right type, and look for placeholders with one test per field).
The rest is the sandbox building the page, which at the platform's real limits is dwarfed by the
wait for the rate budget: 10000 products at 1000 a page is 10 requests, 2 s at 5 requests a
second, against the 1 to 2 s of work measured here with the limits off.

Earlier versions beat the bare loop with a read-ahead thread, a one-pass page parser and pauses
of the garbage collector. They were removed: against the live platform they bought nothing a
user waits for, and they changed process-wide state inside Airflow workers.

**Rate limit.** The client-side limiter keeps both windows; the sandbox, which enforces the same
budget, answered no 429, and the run took the least time the limit allows plus the last answer.

**Import and parse cost.** The operator and sensor modules import the hook lazily, so DAG
parsing pulls in neither the HTTP core nor the models. An example DAG file parses in roughly
60 to 90 ms as the first file of a process against about 1 ms for an empty DAG file: about
35 ms of that is Airflow's own `@dag`/`@task` machinery (it imports the standard provider's
PythonOperator), most of the rest is Airflow building the DAG (`Param` validation with
jsonschema, operator construction); the provider's share is the figure in the table.

**Deferred waiting.** Before this release each trigger polled on its own: 1000 triggers at a
5 s interval made 200 requests a second, a budget of 5 a second could carry 25 of them, and 100
sensors polling every 10 s took the whole 200 a minute. Now the triggers of one connection,
location and interval share one poll, so the group makes one listing per interval (plus the
first at start), whatever its size. Memory per trigger is its subscriber queue, its filter's
coroutine and the trigger object; the listing itself is shared.

**Shared poll through a deadline.** The poll of a group depends only on its key (connection,
listing, interval), never on the deadline of the trigger it was built from; each trigger ends
its own wait at its deadline. Before, the first subscriber's deadline set the poll's pause to
zero once it had passed: 50 requests per 10 s, the account's whole budget, for as long as the
other 199 waited.

**Processes.** The budget's log lives in a file under `flock` (or in Redis), so six processes
pace themselves as one: no 429, and the wall time is the least the limits allow plus the last
answers. With a limiter per process, as before, the same load got 85 answers 429 from the
sandbox.

**Deployments (`make e2e`, not `make bench`).** Two real deployments against the sandbox at
5/s and 200/min, measured by the end-to-end tests (their figures land in `build/e2e/`):

- A real `airflow triggerer` (LocalExecutor, PostgreSQL) with 30 deferred sensors of one
  location, poke 10 s, the 5 with `timeout=150` deferred first: at most 1 listing in any 10 s
  before they timed out (15 in 145 s) and after (4 in 41 s); the other 25 fired 8.9 s after an
  edit, and their tasks succeeded 12.1 s after it (Airflow resuming 25 task processes on two
  cores); 0 answered 429.
- CeleryExecutor, a real `redis-server` as broker, two workers that share no disk, 12
  parallel catalogue reads (252 requests) and a receipt, after a warm-up run; two runs. With
  `rate_limit_store` in Redis: 253 requests, 0 answered 429, the run 80.0 s and 83.2 s. With
  each worker's default file store: 380 and 365 requests, 127 and 112 answered 429 and waited
  out, the run 82.0 s and 78.9 s. Each booked one document. A third run, in CI's `make e2e` on
  2026-12-06: Redis 253 requests, 0 answered 429, 73.1 s; file store 392 requests, 139
  answered 429, 73.6 s. The least time the budget allows is
  about 71 s, and the platform holds both to it: a second worker's own budget buys no speed,
  only 429s for every client of the account. Redis is what makes two workers one client.

**Streaming.** The hook holds the page being consumed and the ids it has met, so that a product
that comes twice across a page boundary (as live listings were seen to serve them) counts once:
reading 100000 products costs about 6 MB more than reading 10000, almost all of it that set of
ids. Before the de-duplication the difference was under a megabyte.
"""
