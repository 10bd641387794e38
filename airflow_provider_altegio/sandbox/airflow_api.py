"""An Airflow api-server beside the sandbox, and a stand-in for the people who answer
human-in-the-loop requests, so that the demo and the tests run approval flows unattended.

The answers go through Airflow's public REST API (``/api/v2/.../hitlDetails``) as a named user,
exactly as a manager's click in the *Required actions* page does; nothing writes to the
metadata database behind Airflow's back.
"""

from __future__ import annotations

import _thread
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_altegio.compat import HITL_WAITING_STATE

#: What a responder returns for a request: the options chosen and the form's values, or
#: ``None`` to leave it for later.
Answer = tuple[list[str], dict[str, Any]]


@dataclass(frozen=True)
class HitlRequest:
    """A task waiting for a person: where it is, what it asks, and its form's current values."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    subject: str
    body: str | None
    options: list[str]
    params: dict[str, Any]


@dataclass
class AirflowApi:
    """A logged-in client of an api-server's public REST API."""

    url: str
    user: str
    client: httpx.Client = field(repr=False)

    def pending(self) -> list[HitlRequest]:
        """Every human-in-the-loop request whose task is waiting for its answer."""
        page = self.client.get(
            "/api/v2/dags/~/dagRuns/~/hitlDetails",
            params={"response_received": False, "state": HITL_WAITING_STATE, "limit": 100},
        )
        page.raise_for_status()
        found = []
        for detail in page.json()["hitl_details"]:
            ti = detail["task_instance"]
            if ti["state"] != HITL_WAITING_STATE:
                continue  # not parked (yet): an answer now would not resume it
            found.append(
                HitlRequest(
                    dag_id=ti["dag_id"],
                    run_id=ti["dag_run_id"],
                    task_id=ti["task_id"],
                    map_index=ti["map_index"],
                    subject=detail["subject"],
                    body=detail.get("body"),
                    options=list(detail["options"]),
                    params={name: spec.get("value") for name, spec in (detail.get("params") or {}).items()},
                )
            )
        return found

    def answer(
        self, request: HitlRequest, options: list[str], params_input: dict[str, Any]
    ) -> dict[str, Any]:
        """Respond to ``request`` as this client's user; return Airflow's record of the answer."""
        path = (
            f"/api/v2/dags/{request.dag_id}/dagRuns/{request.run_id}/taskInstances/"
            f"{request.task_id}/{request.map_index}/hitlDetails"
        )
        response = self.client.patch(path, json={"chosen_options": options, "params_input": params_input})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """The return value a task instance pushed."""
        response = self.client.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
            params={"map_index": map_index, "deserialize": True},
        )
        response.raise_for_status()
        return response.json()["value"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_api_server(user: str = "store_manager", startup_timeout: float = 180) -> Iterator[AirflowApi]:
    """``airflow api-server`` on a free loopback port, on this process's Airflow settings and
    metadata database, with one admin ``user``; yields a client logged in as that user.

    :raises RuntimeError: the server exited or did not answer within ``startup_timeout``.
    """
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="airflow-api-") as scratch:
        passwords = Path(scratch) / "passwords.json"
        password = secrets.token_urlsafe(16)
        passwords.write_text(json.dumps({user: password}))
        env = {
            **os.environ,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        }
        log_path = Path(scratch) / "api-server.log"
        airflow = Path(sys.executable).with_name("airflow")
        with log_path.open("w") as log:
            server = subprocess.Popen(  # noqa: S603 - this venv's airflow, fixed arguments
                [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(server, url, log_path, startup_timeout)
                token = httpx.post(f"{url}/auth/token", json={"username": user, "password": password})
                token.raise_for_status()
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                    yield AirflowApi(url=url, user=user, client=client)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def wait_healthy(server: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float) -> None:
    """Wait until the api-server ``server`` at ``url`` answers its health check.

    :raises RuntimeError: it exited (the end of ``log_path`` says why) or did not answer in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"airflow api-server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"airflow api-server did not answer in {timeout:.0f} s")


@dataclass
class Responder:
    """Answers waiting requests with ``decide`` until stopped; keeps what it answered.

    ``decide`` gets each waiting request once each time it is opened and returns an
    :data:`Answer` (or ``None`` to leave it to someone else). An error in ``decide`` or in the
    API stops the responder and is raised again when the ``answering`` block ends.
    """

    api: AirflowApi
    decide: Callable[[AirflowApi, HitlRequest], Answer | None]
    interval: float = 0.5
    answered: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        seen: set[tuple[str, str, str, int]] = set()
        try:
            while not self._stop.wait(self.interval):
                for request in self.api.pending():
                    where = (request.dag_id, request.run_id, request.task_id, request.map_index)
                    if where in seen:
                        continue
                    seen.add(where)
                    answer = self.decide(self.api, request)
                    if answer is not None:
                        record = self.api.answer(request, *answer)
                        self.answered.append({"request": request, "response": record})
                        seen.discard(where)  # answered: it leaves the list; opened again, it is new
        except BaseException as exc:  # raised again in the caller's thread
            self.error = exc
            # The foreground waits for answers that will not come now: wake it up.
            _thread.interrupt_main()


@contextmanager
def answering(
    api: AirflowApi, decide: Callable[[AirflowApi, HitlRequest], Answer | None], interval: float = 0.5
) -> Iterator[Responder]:
    """Answer human-in-the-loop requests in the background while the block runs (a DAG run
    in ``dag.test()`` waits for them in the foreground).

    :raises BaseException: whatever stopped the responder, once the block is over.
    """
    responder = Responder(api, decide, interval)
    thread = threading.Thread(target=responder.run, name="hitl-responder", daemon=True)
    thread.start()
    try:
        yield responder
    except KeyboardInterrupt:
        if responder.error is None:
            raise
    finally:
        responder._stop.set()
        thread.join(timeout=30)
    if responder.error is not None:
        raise responder.error
