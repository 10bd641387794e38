"""Shared plumbing of the benchmarks: results, the sandbox subprocess, connections and timing.

The sandbox always runs in its own process (the ``altegio-sandbox`` CLI, read up to its ready
line), so the server's CPU time never lands in the interpreter being measured.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]

PARTNER_TOKEN = "bench-partner-token-0123456789"
USER_TOKEN = "bench-user-token-0123456789"
ACCEPT = "application/vnd.api.v2+json"
AUTHORIZATION = f"Bearer {PARTNER_TOKEN}, User {USER_TOKEN}"
API_HEADERS = {"Accept": ACCEPT, "Authorization": AUTHORIZATION}


@dataclass(frozen=True)
class Result:
    """One benchmark figure: printed as a ``BENCH`` line and written as a row of the docs table.

    :param target: the target as one token, e.g. ``<=1.10``; ``value`` is compared by ``passed``.
    :param detail: the figures behind the value (medians, counts), for the docs table.
    """

    name: str
    value: float
    unit: str
    target: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"BENCH {self.name} {_fmt(self.value)} {self.unit} target {self.target} {verdict}"


def _fmt(value: float) -> str:
    if value == int(value) and (abs(value) >= 100 or isinstance(value, int)):
        return str(int(value))
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def check(name: str, value: float, unit: str, op: str, bound: float, detail: str = "") -> Result:
    """Build a result whose target is ``value <op> bound`` (``op`` one of ``<``, ``<=``, ``==``)."""
    passed = {"<": value < bound, "<=": value <= bound, "==": value == bound}[op]
    target = f"{op}{_fmt(bound)}" if op != "==" else _fmt(bound)
    return Result(name, value, unit, target, passed, detail)


def emit(result: Result, sink: list[Result]) -> None:
    """Print the ``BENCH`` line at once (a long run shows progress) and keep it for the docs."""
    print(result.line(), flush=True)
    if result.detail:
        print(f"  ({result.detail})", flush=True)
    sink.append(result)


def median(values: list[float]) -> float:
    return statistics.median(values)


def interleaved(variants: Mapping[str, Callable[[], object]], repetitions: int) -> dict[str, list[float]]:
    """Time every variant ``repetitions`` times, rotating their order each round.

    Rotating spreads slow phases of a noisy machine evenly over the variants, so the ratio of
    their medians is fair even when the absolute figures drift. A full garbage collection before
    each timing starts every variant from the same heap: none pays for the garbage another left
    behind, while each still pays for every collection its own allocations cause.
    """
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repetitions):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            gc.collect()
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    return times


# --- the sandbox in its own process -------------------------------------------------------------


@dataclass
class Sandbox:
    """A running sandbox subprocess, as announced by its ready line."""

    altegio_url: str
    altacolor_url: str
    location_ids: list[int]
    process: subprocess.Popen[str]
    control: httpx.Client = field(repr=False)

    @property
    def location_id(self) -> int:
        return self.location_ids[0]

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        """The sandbox's request log (``method``, ``path`` filters), oldest first."""
        response = self.control.get("/_sandbox/requests", params=filters)
        response.raise_for_status()
        return response.json()["requests"]  # type: ignore[no-any-return]


def _drain(stream: Any, lines: queue.Queue[str]) -> None:
    # Keep reading after the ready line: a full stdout pipe would block the server.
    for line in stream:
        lines.put(line)
    lines.put("")


@contextmanager
def sandbox_process(
    *,
    products: int,
    rps: float = 0,
    rpm: float = 0,
    seed: int = 7,
    startup_timeout: float = 180.0,
) -> Iterator[Sandbox]:
    """Start ``python -m airflow_provider_altegio.sandbox`` on a free loopback port; stop it on exit."""
    command = [
        sys.executable,
        "-m",
        "airflow_provider_altegio.sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--products",
        str(products),
        "--rps",
        _num(rps),
        "--rpm",
        _num(rpm),
        "--partner-token",
        PARTNER_TOKEN,
        "--user-token",
        USER_TOKEN,
    ]
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO_ROOT, bufsize=1
        )
        sandbox: Sandbox | None = None
        try:
            sandbox = _announced(process, stderr, command, startup_timeout)
            yield sandbox
        finally:
            if sandbox is not None:
                sandbox.control.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _announced(process: subprocess.Popen[str], stderr: Any, command: list[str], timeout: float) -> Sandbox:
    """Wait for the ready line and describe the sandbox it announces."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True).start()
    ready = _wait_ready(lines, timeout)
    if ready is None:
        stderr.seek(0)
        raise RuntimeError(f"sandbox did not start: {' '.join(command)}\n{stderr.read()[-4000:]}")
    fields = dict(part.split("=", 1) for part in ready.split()[2:])
    return Sandbox(
        altegio_url=fields["altegio"],
        altacolor_url=fields["altacolor"],
        location_ids=[int(x) for x in fields["locations"].split(",") if x],
        process=process,
        control=httpx.Client(base_url=fields["altacolor"], timeout=60.0),
    )


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _wait_ready(lines: queue.Queue[str], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if not line:
            return None  # the process exited
        if line.startswith("sandbox ready "):
            return line.strip()
    return None


# --- Airflow connections -------------------------------------------------------------------------


def set_altegio_connection(conn_id: str, sandbox: Sandbox, **extra: Any) -> None:
    """Define an ``altegio`` connection to the sandbox through an ``AIRFLOW_CONN_*`` variable."""
    extras = {"partner_token": PARTNER_TOKEN, "user_token": USER_TOKEN, **extra}
    conn = {"conn_type": "altegio", "host": sandbox.altegio_url, "extra": extras}
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


def set_http_connection(conn_id: str, sandbox: Sandbox) -> None:
    """Define a plain ``http`` connection for HttpHook: its extras become request headers."""
    conn = {"conn_type": "http", "host": sandbox.altegio_url, "extra": dict(API_HEADERS)}
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


def machine_description() -> dict[str, str]:
    """Date, cores, CPU model and Python version for the docs table."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": str(os.cpu_count() or 0),
        "cpu": model or "unknown",
        "python": sys.version.split()[0],
    }


def run_child(module: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> Any:
    """Run ``python -m <module> <args>`` in a fresh interpreter; return the JSON it prints last."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
