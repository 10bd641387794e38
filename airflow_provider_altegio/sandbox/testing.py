"""Python API for tests and users' own DAG tests: run the sandbox and talk to its control API.

>>> from airflow_provider_altegio.sandbox.testing import run_sandbox
>>> with run_sandbox(products=50) as sandbox:                       # doctest: +SKIP
...     os.environ.update(sandbox.env())                             # altegio_default, altacolor_default
...     sandbox.faults.add("POST", "/storage_operations/operation/*", drop="after")
...     ...                                                          # run the DAG
...     sandbox.state()["documents"]

Unlike the CLI, :func:`run_sandbox` defaults to a free port and to *no* rate limit (tests should
not wait on the platform's 5 per second); pass ``rps``/``rpm`` to turn the limit on. The
connection dicts carry the same limits as ``requests_per_second``/``requests_per_minute`` extras
(0 meaning unlimited) so that hooks pace themselves exactly as the server allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from airflow_provider_altegio.sandbox.options import SandboxOptions
from airflow_provider_altegio.sandbox.seed import MASTER_ID


class FaultsClient:
    """``sandbox.faults``: add, list and clear fault rules (see :mod:`.faults` for the kinds)."""

    def __init__(self, control: httpx.Client) -> None:
        self._control = control

    def add(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        retry_after: float | str | None = None,
        count: int | None = 1,
        skip: int = 0,
        delay: float | None = None,
        drop: str | None = None,
        body: str | None = None,
        message: str | None = None,
        ignore_params: list[str] | None = None,
        shift_rows: int | None = None,
    ) -> dict[str, Any]:
        """Make the next ``count`` requests matching ``method`` and ``path`` fail; returns the rule.

        :param path: a glob (``*``) or a path prefix; ``/api/v1`` may be left out.
        :param count: how many matching requests to affect (None: every one until cleared).
        :param skip: let this many matching requests through first.
        :raises ValueError: the sandbox rejected the rule (the message names the field).
        """
        spec: dict[str, Any] = {"method": method, "path": path, "count": count, "skip": skip}
        optional = {
            "status": status,
            "retry_after": retry_after,
            "delay": delay,
            "drop": drop,
            "body": body,
            "message": message,
            "ignore_params": ignore_params,
            "shift_rows": shift_rows,
        }
        spec.update({k: v for k, v in optional.items() if v is not None})
        response = self._control.post("/_sandbox/faults", json=spec)
        if response.status_code == 422:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        rule: dict[str, Any] = response.json()["faults"][0]
        return rule

    def list(self) -> list[dict[str, Any]]:
        """Every rule with ``seen``, ``applied`` and ``remaining`` counters."""
        return _json(self._control.get("/_sandbox/faults"))["faults"]  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Remove every rule."""
        self._control.delete("/_sandbox/faults").raise_for_status()


def _json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


@dataclass
class SandboxInfo:
    """A running sandbox: URLs, locations, credentials, connection JSON and the control client.

    Build it with :func:`run_sandbox`, or with :meth:`connect` for a sandbox started elsewhere.
    """

    base_url: str
    location_ids: list[int]
    partner_token: str
    user_token: str
    login: str
    password: str
    altacolor_username: str
    altacolor_password: str
    rps: float = 0.0
    rpm: float = 0.0
    server: Any = field(default=None, repr=False)
    _control: httpx.Client = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self._control is None:
            self._control = httpx.Client(base_url=self.base_url, timeout=30.0)
        self.faults = FaultsClient(self._control)

    def __repr__(self) -> str:
        return f"SandboxInfo(base_url={self.base_url!r}, location_ids={self.location_ids!r})"

    @classmethod
    def from_options(
        cls, base_url: str, location_ids: list[int], options: SandboxOptions, server: Any = None
    ) -> SandboxInfo:
        """Describe a sandbox at ``base_url`` whose credentials and limits are ``options``."""
        return cls(
            base_url,
            location_ids,
            options.partner_token,
            options.user_token,
            options.login,
            options.password,
            options.altacolor_username,
            options.altacolor_password,
            options.rps,
            options.rpm,
            server=server,
        )

    @classmethod
    def connect(cls, base_url: str, options: SandboxOptions | None = None) -> SandboxInfo:
        """Describe a sandbox already running at ``base_url`` (started with ``options``)."""
        opts = options or SandboxOptions()
        info = cls.from_options(base_url.rstrip("/"), [], opts)
        info.location_ids = [loc["id"] for loc in info.info()["locations"] if loc["accessible"]]
        return info

    @property
    def altegio_url(self) -> str:
        """Altegio API base (``.../api/v1``), the ``host`` of an ``altegio`` connection."""
        return f"{self.base_url}/api/v1"

    @property
    def altacolor_url(self) -> str:
        """Altacolor store base, the ``host`` of an ``altacolor`` connection."""
        return self.base_url

    @property
    def location_id(self) -> int:
        """The first location the user manages (the default location of the connection)."""
        return self.location_ids[0]

    # -- Airflow connections ----------------------------------------------------------------

    def altegio_connection(self, **extra_overrides: Any) -> dict[str, Any]:
        """Airflow connection JSON for an ``altegio`` connection to this sandbox.

        Extras: tokens, the first location, and the server's own rate limits. Overrides replace
        or add extras; an override of None removes that extra.
        """
        extra: dict[str, Any] = {
            "partner_token": self.partner_token,
            "user_token": self.user_token,
            "location_id": self.location_id,
            "master_id": MASTER_ID,
            "requests_per_second": self.rps,
            "requests_per_minute": self.rpm,
        }
        extra.update(extra_overrides)
        return {
            "conn_type": "altegio",
            "host": self.altegio_url,
            "extra": {k: v for k, v in extra.items() if v is not None},
        }

    def altacolor_connection(self, **extra: Any) -> dict[str, Any]:
        """Airflow connection JSON for an ``altacolor`` connection to this sandbox."""
        conn: dict[str, Any] = {
            "conn_type": "altacolor",
            "host": self.altacolor_url,
            "login": self.altacolor_username,
            "password": self.altacolor_password,
        }
        if extra:
            conn["extra"] = extra
        return conn

    def altegio_conn_uri(self, **extra_overrides: Any) -> str:
        """The ``altegio`` connection as an Airflow URI (the host URL-encoded, scheme and path kept)."""
        return _conn_uri(self.altegio_connection(**extra_overrides))

    def altacolor_conn_uri(self) -> str:
        """The ``altacolor`` connection as an Airflow URI."""
        return _conn_uri(self.altacolor_connection())

    def env(
        self, altegio_conn_id: str = "altegio_default", altacolor_conn_id: str = "altacolor_default"
    ) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` variables defining both connections (JSON form)."""
        return {
            f"AIRFLOW_CONN_{altegio_conn_id.upper()}": json.dumps(self.altegio_connection()),
            f"AIRFLOW_CONN_{altacolor_conn_id.upper()}": json.dumps(self.altacolor_connection()),
        }

    def altegio_client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for ``/api/v1`` with both tokens and the documented ``Accept`` header.

        The caller closes it (use it as a context manager); ``kwargs`` go to ``httpx.Client``.
        """
        headers = {
            "Accept": "application/vnd.api.v2+json",
            "Authorization": f"Bearer {self.partner_token}, User {self.user_token}",
            **kwargs.pop("headers", {}),
        }
        return httpx.Client(base_url=self.altegio_url, headers=headers, **{"timeout": 30.0, **kwargs})

    def altacolor_params(self) -> dict[str, str]:
        """The Altacolor credentials as form/query parameters."""
        return {"username": self.altacolor_username, "password": self.altacolor_password}

    # -- control API ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded state; clears faults, the request log and rate-limit windows."""
        _json(self._control.post("/_sandbox/reset"))

    def state(
        self,
        *,
        location_id: int | None = None,
        good_ids: list[int] | None = None,
        document_id: int | None = None,
        comment: str | None = None,
        include_seeded: bool = False,
    ) -> dict[str, Any]:
        """Read-only dump: ``documents`` (with ``transaction_ids``), ``transactions``, ``stock``.

        ``stock`` is ``{location_id: {good_id: {storage_id: amount}}}`` (string keys) for products
        changed since the seed plus ``good_ids``.
        """
        params: list[tuple[str, str | int | float | bool | None]] = [("good_id", g) for g in good_ids or []]
        if location_id is not None:
            params.append(("location_id", location_id))
        if document_id is not None:
            params.append(("document_id", document_id))
        if comment is not None:
            params.append(("comment", comment))
        if include_seeded:
            params.append(("include_seeded", 1))
        return _json(self._control.get("/_sandbox/state", params=params))  # type: ignore[no-any-return]

    def stock(self, location_id: int, good_id: int, storage_id: int) -> float:
        """Stock of one product in one storage, read from the state dump."""
        dump = self.state(location_id=location_id, good_ids=[good_id])
        return float(dump["stock"][str(location_id)][str(good_id)][str(storage_id)])

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change ``rps``, ``rpm``, ``allow_negative_stock`` or ``altacolor_enabled`` until reset."""
        response = self._control.post("/_sandbox/config", json=settings)
        if response.status_code == 422:
            raise ValueError(response.json()["error"])
        return _json(response)  # type: ignore[no-any-return]

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """API requests the sandbox received (oldest first), filtered by method and path."""
        params = {k: v for k, v in (("method", method), ("path", path)) if v}
        return _json(self._control.get("/_sandbox/requests", params=params))["requests"]  # type: ignore[no-any-return]

    def clear_requests(self) -> None:
        """Forget the request log."""
        _json(self._control.delete("/_sandbox/requests"))

    def info(self) -> dict[str, Any]:
        """Locations, storages and catalogue sizes."""
        return _json(self._control.get("/_sandbox/info"))  # type: ignore[no-any-return]

    def change_supplier_product(self, product_id: int, **changes: Any) -> dict[str, Any]:
        """Change an Altacolor product (e.g. ``price=12.5``); its ``date_modified`` moves to now."""
        return _json(self._control.post(f"/_sandbox/altacolor/products/{product_id}", json=changes))  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the control client."""
        self._control.close()


def _conn_uri(conn: dict[str, Any]) -> str:
    # The host is given whole and URL-encoded, so the scheme (http here) and the path survive.
    host = quote(conn["host"], safe="")
    auth = ""
    if conn.get("login"):
        auth = f"{quote(conn['login'], safe='')}:{quote(conn.get('password', ''), safe='')}@"
    extra = conn.get("extra") or {}
    query = "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in extra.items())
    return f"{conn['conn_type']}://{auth}{host}" + (f"?{query}" if query else "")


@contextmanager
def run_sandbox(**options: Any) -> Iterator[SandboxInfo]:
    """Start a sandbox in a background thread on a free port; stop it on exit.

    :param options: any :class:`~airflow_provider_altegio.sandbox.options.SandboxOptions` field
        (``products``, ``seed``, ``rps``, ``rpm``, credentials, ``allow_negative_stock``...).
        Defaults differ from the CLI in two places: ``port=0`` and ``rps=rpm=0`` (no limit).
    """
    from airflow_provider_altegio.sandbox.server import SandboxServer

    opts = SandboxOptions(**{"host": "127.0.0.1", "port": 0, "rps": 0.0, "rpm": 0.0, **options})
    server = SandboxServer(opts)
    server.start()
    info = SandboxInfo.from_options(server.base_url, server.location_ids, opts, server=server)
    try:
        yield info
    finally:
        info.close()
        server.stop()
