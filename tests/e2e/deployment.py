"""Real Airflow deployments for the end-to-end tests: a throw-away PostgreSQL cluster, Airflow's
own processes (api-server, scheduler, dag-processor, triggerer, Celery workers) on free ports,
and the sandbox in its own process at the platform's limits. Everything started here is stopped
on exit, whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from airflow_provider_altegio.sandbox.airflow_api import wait_healthy

AIRFLOW = Path(sys.executable).with_name("airflow")
#: Where each scenario leaves its figures (``<name>.json``), for the docs' tables.
FIGURES = Path(__file__).resolve().parents[2] / "build" / "e2e"
#: Debian's PostgreSQL server programs (package postgresql), newest version first.
PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 1.0) -> T:
    """Call ``check`` until it returns something truthy; raise naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def clean_env() -> dict[str, str]:
    """This environment without the test session's own Airflow settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}


def report(name: str, figures: dict[str, Any]) -> None:
    """Print a scenario's figures and keep them in ``build/e2e/<name>.json``."""
    print(f"{name}: {json.dumps(figures)}")
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, indent=2))


def _stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextmanager
def postgres() -> Iterator[Callable[[str], str]]:
    """A PostgreSQL cluster in a temporary directory on a free port (Debian's server, run as the
    ``postgres`` user when we are root, as initdb requires), with Airflow's schema migrated once
    into a template; yields ``create(db) -> URL``, a new database with that schema."""
    tools = PG_BINS[0] if PG_BINS else Path(shutil.which("initdb") or "initdb").parent
    data = Path(tempfile.mkdtemp(prefix="altegio-e2e-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_owner, tools / "initdb", "-D", data / "db", "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    # Durability is not what these tests are about: no fsync, no per-commit flush.
    settings = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    settings += ["-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1", "-k", str(data)]
    with (data / "postgres.log").open("w") as log:
        server = subprocess.Popen(
            [*as_owner, tools / "postgres", "-D", data / "db", "-p", str(port), *settings],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = [tools / "pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"]
        wait_until(lambda: subprocess.run(ready, check=False).returncode == 0, 60, "postgres", 0.2)

        def create(name: str, template: str = "airflow") -> str:
            command = [tools / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
            subprocess.run([*command, "-T", template, name], check=True, capture_output=True)
            return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{name}"

        url = create("airflow", template="template1")
        with tempfile.TemporaryDirectory(prefix="altegio-e2e-migrate-") as home:
            env = {**clean_env(), "AIRFLOW_HOME": home, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
            subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=900)
        yield create
    finally:
        _stop(server)
        shutil.rmtree(data, ignore_errors=True)


@dataclass
class Sandbox:
    """The sandbox in its own process (``altegio-sandbox``), read up to its ready line."""

    url: str
    location_ids: list[int]
    connection: Any  # SandboxInfo: connection JSON, the request log, state and faults

    def listings(self, location_id: int) -> int:
        """How many product listings of ``location_id`` the sandbox has answered so far."""
        return len(self.connection.requests("GET", f"/api/v1/goods/{location_id}"))

    def refused(self) -> int:
        """How many requests the sandbox answered 429 so far."""
        return sum(1 for entry in self.connection.requests() if entry.get("status") == 429)


@contextmanager
def sandbox(products: int) -> Iterator[Sandbox]:
    """The sandbox at the platform's limits, 5 requests a second and 200 a minute per account."""
    from airflow_provider_altegio.sandbox.options import SandboxOptions
    from airflow_provider_altegio.sandbox.testing import SandboxInfo

    port = free_port()
    command = [sys.executable, "-m", "airflow_provider_altegio.sandbox", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--products", str(products), "--rps", "5", "--rpm", "200"]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:

            def healthy() -> bool:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"the sandbox exited:\n{log.read().decode()[-3000:]}")
                try:
                    return httpx.get(f"{url}/_sandbox/health", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(healthy, 120, "the sandbox", 0.2)
            info = SandboxInfo.connect(url, SandboxOptions(rps=5, rpm=200))
            yield Sandbox(url, info.location_ids, info)
            info.close()
        finally:
            _stop(process)


@dataclass
class Deployment:
    """One Airflow deployment: its home, configuration and running processes."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def dags(self) -> Path:
        return self.home / "dags"

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """Run an ``airflow`` CLI command; its output, or its log tail in the error."""
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def start(self, name: str, *args: str, **env: str) -> None:
        """Start ``airflow <args>`` as process ``name`` (its log in the home), ``env`` added."""
        log = (self.home / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *args], env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def check_alive(self) -> None:
        """Raise, with its log's tail, if a process died."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.home / f"{name}.log").read_text()[-4000:]
                raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{tail}")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the metadata database."""
        import psycopg2

        url = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2", "postgresql")
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def states(self, dag_id: str) -> dict[str, str | None]:
        """The state of each task instance of the DAG's runs, by task id."""
        self.check_alive()
        rows = self.query("select task_id, state from task_instance where dag_id = %s", dag_id)
        return dict(rows)

    def trigger(self, dag_id: str) -> None:
        """Trigger ``dag_id`` from the CLI, as a person would (no logical date), once parsed."""
        parsed = "select 1 from dag where dag_id = %s and not is_paused and not is_stale"
        wait_until(lambda: self.query(parsed, dag_id), 300, f"the dag-processor to parse {dag_id}")
        self.airflow("dags", "trigger", dag_id)

    def stop(self) -> None:
        for process in self.processes.values():
            _stop(process, timeout=60)
        self.processes.clear()


@contextmanager
def deployment(
    database_url: str, executor: str, connections: dict[str, str], **config: str
) -> Iterator[Deployment]:
    """Airflow's api-server, scheduler, dag-processor and triggerer on a migrated metadata
    database, with ``connections`` (``AIRFLOW_CONN_*`` values by id) and more ``AIRFLOW__*`` ``config``."""
    home = Path(tempfile.mkdtemp(prefix="altegio-e2e-airflow-"))
    api_port = free_port()
    env = clean_env()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-only-jwt-secret-of-enough-length",
            "AIRFLOW__API__SECRET_KEY": "e2e-only-secret-key",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **{f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in connections.items()},
            **{f"AIRFLOW__{key.upper()}": value for key, value in config.items()},
        }
    )
    airflow = Deployment(home, env)
    airflow.dags.mkdir()
    try:
        airflow.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port))
        for name in ("scheduler", "dag-processor", "triggerer"):
            airflow.start(name, name)
        api = airflow.processes["api-server"]
        wait_healthy(api, f"http://127.0.0.1:{api_port}", home / "api-server.log", timeout=300)  # type: ignore[arg-type]
        yield airflow
    finally:
        airflow.stop()
        shutil.rmtree(home, ignore_errors=True)
