"""Test-wide setup shared by every suite.

Airflow reads ``AIRFLOW_HOME`` when it is first imported, so the isolation below happens at
conftest import time, before any test module imports Airflow. Each pytest session gets its own
throw-away home with a SQLite metadata database; nothing touches ``~/airflow``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="altegio-provider-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_SESSION_HOME / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_SESSION_HOME / 'airflow.db'}"
# Connections come from AIRFLOW_CONN_* variables set by each test; never from a real backend.
for _name in list(os.environ):
    if _name.startswith("AIRFLOW_CONN_"):
        del os.environ[_name]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the session's SQLite metadata database once; request it from tests that run DAGs."""
    from airflow.utils import db

    db.resetdb()
    return _SESSION_HOME / "airflow.db"
