"""Test-wide setup shared by every suite.

Airflow reads ``AIRFLOW_HOME`` when it is first imported, so the isolation below happens at
conftest import time, before any test module imports Airflow. Each pytest session gets its own
throw-away home with a SQLite metadata database; nothing touches ``~/airflow``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

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

# The provider's sandbox fixtures are opt-in, as for any project that installs it.
pytest_plugins = ["airflow_provider_altegio.sandbox.pytest_plugin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Before 3.3, ``dag.test()`` runs a human-in-the-loop task's trigger in the test process,
    whose in-process supervisor cannot answer the trigger's reads of the response: the run fails
    (a deployment's triggerer answers them). Those tests then must fail, and they are told so."""
    from airflow_provider_altegio.compat import AIRFLOW_V_3_3_PLUS

    if AIRFLOW_V_3_3_PLUS:
        return
    for item in items:
        if item.get_closest_marker("hitl"):
            reason = "dag.test() runs human-in-the-loop tasks from Airflow 3.3 on"
            item.add_marker(pytest.mark.xfail(reason=reason, raises=AssertionError, strict=True))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the session's SQLite metadata database once; request it from tests that run DAGs.

    Before 3.3, ``dag.test()`` built its in-process execution API (a FastAPI app, about 1.5 s of
    CPU) anew for every task; the session keeps one, as Airflow 3.3 itself does
    (``functools.lru_cache`` on ``supervisor.in_process_api_server``).
    """
    import functools

    from airflow.sdk.execution_time import supervisor
    from airflow.utils import db

    from airflow_provider_altegio.compat import AIRFLOW_V_3_3_PLUS

    if not AIRFLOW_V_3_3_PLUS:
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)
    db.resetdb()
    return _SESSION_HOME / "airflow.db"


@pytest.fixture(scope="session")
def airflow_api(airflow_db: Path) -> Any:
    """An api-server on the session's metadata database, and a client logged in as
    ``store_manager``: tests answer human-in-the-loop requests through the REST API with it."""
    from airflow_provider_altegio.sandbox.airflow_api import run_api_server

    with run_api_server(user="store_manager") as api:
        yield api


@pytest.fixture
def run_dag(airflow_db: Path, request: pytest.FixtureRequest) -> Any:
    """Run a DAG defined in a test with ``dag.test()`` and return the finished DagRun.

    ``dag.test()`` only runs DAGs that are serialized in the metadata database, and the session's
    dags folder is empty, so the DAG is written there first, as the dag processor would. A
    human-in-the-loop test before 3.3 (an expected failure) runs without retries: ``dag.test()``
    would wait out each retry delay of a failure no retry can fix.
    """

    def run(dag: Any, **test_kwargs: Any) -> Any:
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        from airflow_provider_altegio.compat import AIRFLOW_V_3_3_PLUS, DagBag, sync_bag_to_db

        if not AIRFLOW_V_3_3_PLUS and request.node.get_closest_marker("hitl"):
            for task in dag.tasks:
                task.retries = 0
        DagBundlesManager().sync_bundles_to_db()
        bag = DagBag(dag_folder=os.devnull)
        bag.bag_dag(dag)
        sync_bag_to_db(bag, "dags-folder", None)
        return dag.test(**test_kwargs)

    return run


@pytest.fixture
def xcom(airflow_db: Path) -> Any:
    """Read back what a task of a finished ``run_dag`` pushed: ``xcom(dag_run, task_id)``."""

    def read(dag_run: Any, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id)
                .filter_by(map_index=map_index, key=key)
                .one_or_none()
            )
            return None if row is None else XComModel.deserialize_value(row)

    return read


@pytest.fixture
def core_options(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Give every HTTP core a hook builds in this test extra constructor arguments (recorded
    sleeps, a mock transport): ``core_options(sleep=..., transport=...)``."""
    import functools

    from airflow_provider_altegio.core.http import HttpCore
    from airflow_provider_altegio.hooks import base

    def use(**options: Any) -> None:
        monkeypatch.setattr(base, "HttpCore", functools.partial(HttpCore, **options))

    return use
