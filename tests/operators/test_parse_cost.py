"""DAG files import the operator and sensor modules on every parse: that must stay cheap and
must not touch the network or the metadata database."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_import_and_instantiate_without_hooks_or_connections() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        for name in list(os.environ):
            if name.startswith("AIRFLOW_CONN_"):
                del os.environ[name]
        from airflow.sdk import DAG
        from airflow_provider_altegio.operators.products import (
            AltacolorSearchProductsOperator, CreateProductOperator, SearchProductsOperator,
        )
        from airflow_provider_altegio.operators.storage import CreateStorageOperationOperator
        from airflow_provider_altegio.sensors.products import (
            AltacolorWaitForProductChangeSensor, WaitForProductChangeSensor,
        )
        with DAG("parse_only", schedule=None):
            SearchProductsOperator(task_id="search", term="{{ params.term }}")
            AltacolorSearchProductsOperator(task_id="supplier", conditions=[{"field": "name", "value": "x"}])
            CreateProductOperator(task_id="create", product={"title": "x"})
            CreateStorageOperationOperator(
                task_id="receipt", operation_type="receipt", storage_id=1,
                transactions=[{"good_id": 1, "amount": 1}],
            )
            WaitForProductChangeSensor(task_id="wait", deferrable=True)
            AltacolorWaitForProductChangeSensor(task_id="wait_supplier")
        heavy = [m for m in ("airflow_provider_altegio.hooks.altegio",
                             "airflow_provider_altegio.hooks.altacolor",
                             "airflow_provider_altegio.models.altegio",
                             "airflow_provider_altegio.triggers.products") if m in sys.modules]
        print("HEAVY", heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
