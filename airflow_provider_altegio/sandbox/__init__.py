"""A local, faithful Altegio (YCLIENTS) v1 and Altacolor API server for demos, tests and benchmarks.

Run it with ``altegio-sandbox`` (or ``python -m airflow_provider_altegio.sandbox``), or from Python
with :func:`airflow_provider_altegio.sandbox.testing.run_sandbox`; pytest users get the
``altegio_sandbox`` fixture. This package module imports nothing: starting a server pulls in
Starlette and uvicorn only when asked for.

Modules: ``options`` (startup options and defaults), ``seed`` (the deterministic chain),
``catalogue`` (one location's products), ``state`` (categories, documents, transactions and the
endpoint operations), ``altacolor`` (supplier catalogue), ``app`` (HTTP routes), ``control``
(``/_sandbox``), ``faults`` (fault injection and request log), ``limits`` (429s), ``server``
(uvicorn), ``testing`` (``run_sandbox``, ``SandboxInfo``), ``pytest_plugin``.

Where the documents leave a choice open, the sandbox decides as follows:

* **Access.** Without valid partner and user tokens: 401 ``Authentication needed.``. Location
  ``1003`` belongs to the chain (``GET /companies`` lists it) but not to the sandbox user: 403.
  A location id that is not in the chain: 404. ``POST /auth`` needs the partner token only.
* **Stock may go negative**, as on the platform, unless ``--reject-negative-stock`` (or
  ``configure(allow_negative_stock=False)``): then sale, usage, write-off and transfer of more
  than the storage holds answer 422 on ``goods_transactions.N.amount`` and nothing is written.
* **Stock moves count as changes.** A storage operation moves ``last_change_date`` of the
  products it touches, so ``changed_after`` sees sales and receipts (what restock sensors need).
* **Dates.** ``changed_after``/``changed_before``/``start_date``/``end_date`` accept every
  documented form; without an offset they are read in the location's time zone (1001: UTC-5,
  1002: UTC+3, 1003: UTC+1; ``GET /company/{id}`` tells it as ``"timezone": "-5"``). Both
  bounds are inclusive, at one-second precision; a bare ``end_date`` covers the whole day.
* **Paging.** ``page`` from 1, ``count`` 1-1000 (422 beyond, never silently capped); goods
  default to 25 per page, transactions to 20, category composition to 1000. Lists are in id
  order (transactions oldest first), so new items only ever append to the last page.
* **Filters.** ``term`` is a case-insensitive substring of title, article or barcode;
  ``category_id`` includes sub-categories; ``/goods/search`` caps ``count`` at 100.
* **Storage operations.** ``goods_transactions`` is required, as the official field list says
  (the older ``transactions`` is not read). Without a team member (``master_id`` on the document
  or on every line) the answer is HTTP 400 ``Staff member required``, as a production
  integration saw. ``create_date`` takes ISO-8601 with an offset or the location's wall clock,
  and is written back as ``2026-09-21T23:00:00.000-05:00``. Type 5 (transfer) is refused: nothing
  documents how it names its target. Amounts are positive in requests and signed in responses.
  ``operation_unit_type`` 2 amounts are in service units and move
  ``amount / unit_equals`` of stock. The document keeps its ``comment`` verbatim.
* **Writes answer** as the documents show: ``POST /goods`` 201 with the product object,
  ``PUT /goods`` a list of one, ``DELETE`` 200 with ``data: null``; deleting a category that
  still has sub-categories or products is a 422.
* **Altacolor** always answers HTTP 200; the outcome is in ``response_status``. String fields
  compare case-insensitively; ``Between`` only applies to Date Modified.
* **Rate limits** are sliding windows per token pair (``--rps``/``--rpm``); refused requests do
  not count; ``Retry-After`` is whole seconds. Control paths and Altacolor are not limited.
"""

from __future__ import annotations
