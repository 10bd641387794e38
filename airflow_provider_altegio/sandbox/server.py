"""Serving the sandbox with uvicorn: in the foreground (the CLI) or in a background thread.

The listening socket is bound before uvicorn starts, so port 0 resolves to a real port that the
ready line and :class:`~airflow_provider_altegio.sandbox.testing.SandboxInfo` can report.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn
import uvicorn.config

from airflow_provider_altegio.core.secrets import MASK, Secrets
from airflow_provider_altegio.sandbox.app import SandboxApp, create_app
from airflow_provider_altegio.sandbox.state import SandboxState

if TYPE_CHECKING:
    from airflow_provider_altegio.sandbox.options import SandboxOptions

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: A ``password`` query parameter, whatever its value: Altacolor clients send theirs there.
_PASSWORD_PARAM = re.compile(r"([?&]password=)[^&\s]*", re.IGNORECASE)


class AccessLogMask(logging.Filter):
    """Masks credentials in access-log lines, as the hooks' own logs do: every ``password``
    query parameter, and the sandbox's configured tokens and passwords wherever they appear.

    :param secrets: the credentials the sandbox was started with.
    """

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def mask(self, text: str) -> str:
        """``text`` without credentials."""
        return _PASSWORD_PARAM.sub(rf"\g<1>{MASK}", self.secrets.redact(text))

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access formatter reads the request line from ``record.args``.
        if isinstance(record.args, tuple):
            record.args = tuple(self.mask(arg) if isinstance(arg, str) else arg for arg in record.args)
        record.msg = self.mask(str(record.msg))
        return True


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the caught signal after shutdown (the CLI exits 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` (port 0: a free port chosen by the OS)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this. Without it, uvicorn's separate header and body writes meet
    # Nagle plus the client's delayed ACK: every keep-alive request would wait ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class SandboxServer:
    """One sandbox instance: state, application, bound socket and the uvicorn server.

    :param options: startup options; ``options.port`` 0 picks a free port.
    """

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.state = SandboxState(options)
        self.app: SandboxApp = create_app(self.state)
        self.socket = bind_socket(options.host, options.port)
        self.host = options.host
        self.port: int = self.socket.getsockname()[1]
        # uvicorn's access log goes to stdout by default; stdout is the ready line's alone.
        log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
        log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
        secrets = Secrets(
            options.partner_token,
            options.user_token,
            options.password,
            options.altacolor_password,
        )
        log_config["filters"] = {"mask": {"()": AccessLogMask, "secrets": secrets}}
        log_config["handlers"]["access"]["filters"] = ["mask"]
        config = uvicorn.Config(
            self.app.asgi,
            log_config=log_config,
            log_level="info" if options.access_log else "warning",
            access_log=options.access_log,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self.server = _Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (the Altacolor base URL; Altegio is under ``/api/v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def location_ids(self) -> list[int]:
        """Locations the sandbox user may manage."""
        return [loc.id for loc in self.state.accessible_locations]

    def ready_line(self) -> str:
        """The one line the CLI prints once it serves."""
        locations = ",".join(str(i) for i in self.location_ids)
        return f"sandbox ready altegio={self.base_url}/api/v1 altacolor={self.base_url} locations={locations}"

    async def _serve(self, on_ready: Callable[[], None] | None) -> None:
        task = asyncio.ensure_future(self.server.serve(sockets=[self.socket]))
        while not self.server.started and not task.done():
            await asyncio.sleep(0.005)
        if self.server.started and on_ready is not None:
            on_ready()
        await task

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM; ``on_ready`` runs once serving."""
        try:
            asyncio.run(self._serve(on_ready))
        finally:
            self.socket.close()

    def start(self, timeout: float = 30.0) -> None:
        """Serve from a daemon thread; returns once requests are accepted.

        :raises RuntimeError: the server did not start within ``timeout`` seconds.
        """
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self.serve_forever, args=(ready.set,), name=f"altegio-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"sandbox did not start on {self.base_url} within {timeout:g}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
