"""A local, faithful Altegio (YCLIENTS) v1 and Altacolor API server for demos, tests and benchmarks.

Run it with ``altegio-sandbox`` (or ``python -m airflow_provider_altegio.sandbox``), or from Python
with :func:`airflow_provider_altegio.sandbox.testing.run_sandbox`; pytest users get the
``altegio_sandbox`` fixture. This package module imports nothing: starting a server pulls in
Starlette and uvicorn only when asked for.
"""

from __future__ import annotations
