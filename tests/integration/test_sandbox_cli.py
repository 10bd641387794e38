"""The ``altegio-sandbox`` command: one ready line on stdout, a working server, clean shutdown."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

READY = re.compile(
    r"^sandbox ready altegio=(?P<altegio>http://127\.0\.0\.1:(?P<port>\d+)/api/v1) "
    r"altacolor=(?P<altacolor>http://127\.0\.0\.1:(?P=port)) locations=(?P<locations>\d+(?:,\d+)+)$"
)
SCRIPT = Path(sys.executable).with_name("altegio-sandbox")


@contextmanager
def _sandbox(command: list[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, process.kill)  # never hang the suite on a server that never speaks
    watchdog.start()
    try:
        yield process, (process.stdout.readline() if process.stdout else "")
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("command", "stop"),
    [
        ([sys.executable, "-m", "airflow_provider_altegio.sandbox"], signal.SIGTERM),
        ([str(SCRIPT)], signal.SIGINT),
    ],
    ids=["module-sigterm", "script-sigint"],
)
def test_ready_line_then_clean_shutdown(command: list[str], stop: signal.Signals) -> None:
    args = ["--port", "0", "--products", "40", "--seed", "3", "--partner-token", "p", "--user-token", "u"]
    with _sandbox(command + args) as (process, line):
        match = READY.match(line.rstrip("\n"))
        assert match, line
        assert int(match["port"]) > 0
        location = match["locations"].split(",")[0]
        headers = {"Authorization": "Bearer p, User u"}
        goods = httpx.get(f"{match['altegio']}/goods/{location}", params={"count": 100}, headers=headers)
        assert len(goods.json()["data"]) == 40
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert out == ""  # exactly one line in all
        assert "Traceback" not in err


def test_bad_option_fails_fast() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_altegio.sandbox", "--products", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "products" in result.stderr
    assert result.stdout == ""


def test_access_log_goes_to_stderr_and_stdout_keeps_the_ready_line_alone() -> None:
    command = [str(SCRIPT), "--port", "0", "--products", "5", "--access-log"]
    with _sandbox([*command, "--partner-token", "p", "--user-token", "u"]) as (process, line):
        match = READY.match(line.rstrip("\n"))
        assert match, line
        headers = {"Authorization": "Bearer p, User u"}
        httpx.get(f"{match['altegio']}/storages/{match['locations'].split(',')[0]}", headers=headers)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert out == ""
    assert "GET /api/v1/storages/" in err


def test_access_log_masks_the_altacolor_password() -> None:
    """Altacolor clients put their password in the query string; the access log never shows it,
    neither the sandbox's own nor a wrong one a client sent."""
    command = [str(SCRIPT), "--port", "0", "--products", "5", "--access-log"]
    with _sandbox([*command, "--altacolor-password", "s3cret-pass"]) as (process, line):
        match = READY.match(line.rstrip("\n"))
        assert match, line
        get = f"{match['altacolor']}/api/json/manage_products/get"
        for password in ("s3cret-pass", "my-real-password"):
            answer = httpx.get(get, params={"username": "sandbox-api", "password": password, "id": 1})
            assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert out == ""
    assert err.count("GET /api/json/manage_products/get?username=sandbox-api&password=***&id=1") == 2
    assert "s3cret-pass" not in err
    assert "my-real-password" not in err


def test_a_port_in_use_is_said_plainly_and_exits_non_zero() -> None:
    """``make test`` next to a running ``make sandbox``: the second sandbox must not look started."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [str(SCRIPT), "--port", str(port), "--products", "5"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""  # no ready line
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
