"""conftest.py of a project that tests its DAGs against the Altegio sandbox."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before anything imports Airflow: a throw-away home with a SQLite metadata
# database, and the project's own DAGs folder (dag.test() runs DAGs from
# there).
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-tests-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parent / "dags")

# The provider's fixtures: altegio_sandbox_server, altegio_sandbox,
# altegio_sandbox_client.
pytest_plugins = ["airflow_provider_altegio.sandbox.pytest_plugin"]


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    """Create the metadata database once per run."""
    from airflow.utils import db

    db.resetdb()
