"""What both hooks share: connection -> :class:`ConnectionConfig` -> :class:`HttpCore`, and the
one way a hook calls an endpoint (:meth:`ApiHook._call` and :meth:`ApiHook._items`, with their
async twins).

A hook builds its core lazily, once: :meth:`ApiHook.get_conn` from a sync context,
:meth:`ApiHook.aget_conn` from an async one (a trigger must not block its event loop).
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from airflow.sdk.bases.hook import BaseHook

from airflow_provider_altegio.core.config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT_WAIT,
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_TIMEOUT,
    ConnectionConfig,
)
from airflow_provider_altegio.core.http import HttpCore
from airflow_provider_altegio.core.ratelimit import RateLimiter
from airflow_provider_altegio.core.secrets import hide_in_http_logs
from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.values import is_blank, number, truth, whole_number

if TYPE_CHECKING:
    from types import TracebackType

    from airflow.sdk import Connection
    from pydantic import BaseModel
    from typing_extensions import Self

    from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect
    from airflow_provider_altegio.core.paging import Listing
    from airflow_provider_altegio.core.types import RequestSpec

    Dialect = AltegioDialect | AltacolorDialect

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")

#: Seconds the UI's Test button waits for the API (one try, no retries).
CONNECTION_TEST_TIMEOUT = 5.0


class Extras:
    """A connection's extras, read tolerantly.

    The UI stores numbers and booleans as text; older forms prefix keys with
    ``extra__<conn_type>__``. Both spellings are read, and an empty value counts as absent.
    Bad values raise :class:`InvalidRequestError` naming ``extra.<name>``.
    """

    def __init__(self, extras: Mapping[str, Any], conn_type: str) -> None:
        self._extras = dict(extras)
        self._conn_type = conn_type

    def raw(self, name: str) -> Any:
        """The value under ``name`` (or its prefixed form); ``None`` when absent or blank."""
        for key in (name, f"extra__{self._conn_type}__{name}"):
            value = self._extras.get(key)
            if not is_blank(value):
                return value.strip() if isinstance(value, str) else value
        return None

    def string(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value)

    def number(self, name: str, default: float) -> float:
        value = self.raw(name)
        return default if value is None else number(value, f"extra.{name}", minimum=0.0)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw(name)
        return default if value is None else whole_number(value, f"extra.{name}", minimum=0)

    def id(self, name: str) -> int | None:
        """A positive whole-number id extra (``location_id``, ``master_id``)."""
        value = self.raw(name)
        return None if value is None else whole_number(value, f"extra.{name}")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        return default if value is None else truth(value, f"extra.{name}")


def normalize_base_url(
    host: str | None, default: str, port: int | None = None, schema: str | None = None
) -> str:
    """The API base URL from a connection's host, port and schema.

    Empty means ``default``; a host without a scheme gets ``https://``; a trailing slash is
    dropped; the connection's port is added when the host names none. A connection given as a
    URI (``altegio://api.alteg.io/api/v1``) arrives with the path in ``schema``: it is kept when
    the host has no path of its own.
    """
    text = (host or "").strip()
    if not text:
        return default.rstrip("/")
    if "://" not in text:
        text = f"https://{text}"
    scheme, rest = text.split("://", 1)
    netloc, slash, path = rest.partition("/")
    if port and ":" not in netloc.rsplit("@", 1)[-1]:
        netloc = f"{netloc}:{port}"
    if not path.strip("/") and schema and schema.strip("/"):
        slash, path = "/", schema.strip("/")
    return f"{scheme.lower()}://{netloc}{slash}{path}".rstrip("/")


def config_from_extras(base_url: str, extras: Extras) -> ConnectionConfig:
    """The connection's transport settings from its optional extras (``timeout``,
    ``max_retries``, ``requests_per_second``, ``requests_per_minute``, ``rate_limit_store``,
    ``rate_limit_wait``, ``verify_ssl``). A rate of 0 turns that budget off.

    :raises InvalidRequestError: an extra with an unusable value.
    """
    timeout = extras.number("timeout", DEFAULT_TIMEOUT)
    if timeout <= 0:
        raise InvalidRequestError("extra.timeout", "must be greater than 0 seconds")
    return ConnectionConfig(
        base_url=base_url,
        timeout=timeout,
        max_retries=extras.integer("max_retries", DEFAULT_MAX_RETRIES) or 0,
        requests_per_second=extras.number("requests_per_second", DEFAULT_REQUESTS_PER_SECOND) or None,
        requests_per_minute=extras.number("requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE) or None,
        rate_limit_store=extras.string("rate_limit_store"),
        rate_limit_wait=extras.number("rate_limit_wait", DEFAULT_RATE_LIMIT_WAIT),
        verify_ssl=extras.boolean("verify_ssl", True),
    )


def credential_fingerprint(*parts: str | None) -> str:
    """A short hash naming a set of credentials (for limiter keys); never the secrets themselves."""
    digest = hashlib.sha256("\x00".join(p or "" for p in parts).encode("utf-8"))
    return digest.hexdigest()[:16]


def mask_secrets(*values: str | None) -> None:
    """Register secrets with Airflow's secrets masker (task logs, rendered fields, XCom) and hide
    them from httpx's own request log lines, whatever logging setup prints those."""
    from airflow_provider_altegio.compat import mask_secret

    hide_in_http_logs(*values)
    for value in values:
        if value:
            mask_secret(value)


async def amask_secrets(*values: str | None) -> None:
    """Async twin of :func:`mask_secrets`, safe on an event loop that talks to the supervisor."""
    from airflow_provider_altegio.compat import amask_secret

    hide_in_http_logs(*values)
    for value in values:
        if value:
            await amask_secret(value)


def parse_list(model: type[M]) -> Callable[[Any], list[M]]:
    """A parser of a payload that is a list of ``model`` objects (``null`` reads as empty)."""

    def parse(data: Any) -> list[M]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ValueError(f"expected a list of {model.__name__}, got {type(data).__name__}")
        return [model.model_validate(item) for item in data]

    return parse


def _connections_of_type(conn_type: str) -> list[str]:
    """The ids of the connections of ``conn_type`` defined in ``AIRFLOW_CONN_*`` variables
    (the metadata database and secrets backends cannot be listed from a task)."""
    from airflow.sdk import Connection

    found = []
    for name, value in os.environ.items():
        if name.startswith("AIRFLOW_CONN_"):
            conn_id = name.removeprefix("AIRFLOW_CONN_").lower()
            try:
                conn = (
                    Connection.from_json(value, conn_id=conn_id)
                    if value.lstrip().startswith("{")
                    else Connection.from_uri(value, conn_id=conn_id)
                )
            except Exception:  # noqa: S112 - a malformed variable is not this connection's problem
                continue
            if conn.conn_type == conn_type:
                found.append(conn_id)
    return sorted(found)


class ApiHook(BaseHook):
    """Base of :class:`AltegioHook` and :class:`AltacolorHook`: one lazily built :class:`HttpCore`.

    Use it as a context manager (``with hook:`` / ``async with hook:``), or call :meth:`close`
    / :meth:`aclose`, to release the connection pool; a closed hook reconnects when used again.
    """

    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    #: the path every base URL of this API ends with (``""``: no rule).
    api_path: ClassVar[str] = ""

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._core: HttpCore | None = None
        self._core_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- building the core ---------------------------------------------------------------------

    @abstractmethod
    def _dialect(self, conn: Connection, extras: Extras) -> tuple[Dialect, list[str | None]]:
        """The API's dialect for ``conn`` and the credential parts that identify its budget.

        :raises InvalidRequestError: a required credential is missing.
        """

    def _build_core(self, conn: Connection, extras_json: Mapping[str, Any]) -> HttpCore:
        if conn.conn_type and conn.conn_type != self.conn_type:
            raise InvalidRequestError(
                "conn_type",
                f"connection {self.conn_id!r} is of type {conn.conn_type!r}, but {type(self).__name__} "
                f"needs a connection of type {self.conn_type!r}",
            )
        extras = Extras(extras_json, self.conn_type)
        base_url = normalize_base_url(conn.host, self.default_base_url, conn.port, conn.schema)
        config = replace(config_from_extras(base_url, extras), connection_id=self.conn_id)
        if hint := self.base_url_hint(base_url):
            self.log.warning("Connection %s: %s", self.conn_id, hint)
        if not config.verify_ssl:
            self.log.warning(
                "TLS certificate verification is OFF for connection %s (verify_ssl)", self.conn_id
            )
        dialect, identity = self._dialect(conn, extras)
        if config.rate_limit_store and "://" in config.rate_limit_store:
            dialect.secrets.add(urlsplit(config.rate_limit_store).password)  # a Redis password
        limiter = None
        if config.rate_limited:
            key = f"{dialect.name}|{base_url}|{credential_fingerprint(*identity)}"
            limiter = RateLimiter.shared(
                key, config.requests_per_second, config.requests_per_minute, config.rate_limit_store
            )
        return HttpCore(config, dialect, limiter=limiter)

    def base_url_hint(self, base_url: str) -> str | None:
        """What to fix in a base URL that lacks the API's path, or ``None`` when it has it."""
        path = urlsplit(base_url).path.rstrip("/")
        if not self.api_path or path.endswith(self.api_path):
            return None
        return (
            f"the base URL {base_url!r} does not end with {self.api_path}; the API's paths are "
            f"relative to it, e.g. {self.default_base_url}"
        )

    def _unknown_connection(self, exc: Exception) -> InvalidRequestError:
        """The error for a connection id Airflow does not know: no retry finds it later."""
        known = _connections_of_type(self.conn_type)
        listed = f"; connections of type {self.conn_type!r} in AIRFLOW_CONN_* variables: " + (
            ", ".join(known) if known else "none"
        )
        return InvalidRequestError(
            "conn_id",
            f"Airflow has no connection {self.conn_id!r} ({exc}){listed}. Create it in Admin -> "
            f"Connections (type {self.hook_name}) or as AIRFLOW_CONN_{self.conn_id.upper()}",
        )

    def get_conn(self) -> HttpCore:
        """The hook's HTTP core, built on first use from the Airflow connection.

        :raises InvalidRequestError: no such connection, or it lacks a required field or has a
            bad extra.
        """
        from airflow_provider_altegio.compat import AirflowNotFoundException

        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    try:
                        conn = self.get_connection(self.conn_id)
                    except AirflowNotFoundException as exc:
                        raise self._unknown_connection(exc) from None
                    core = self._build_core(conn, conn.extra_dejson)
                    mask_secrets(*core.dialect.secrets.forms)
                    self._core = core
        return self._core

    async def aget_conn(self) -> HttpCore:
        """Async twin of :meth:`get_conn`: looks the connection up without blocking the loop."""
        from airflow_provider_altegio.compat import AirflowNotFoundException

        if self._core is None:
            try:
                conn = await self.aget_connection(self.conn_id)
            except AirflowNotFoundException as exc:
                raise self._unknown_connection(exc) from None
            # Parsing extras may ask the supervisor for secrets: do it without blocking the loop.
            aextra = getattr(conn, "aextra_dejson", None)  # missing on Airflow before 3.2
            extras = await aextra() if aextra is not None else conn.extra_dejson
            core = self._build_core(conn, extras)
            await amask_secrets(*core.dialect.secrets.forms)
            if self._core is None:  # another coroutine may have won the race; keep one core
                self._core = core
        return self._core

    def with_options(self, **changes: Any) -> Self:
        """A copy of this hook whose requests use changed connection settings (``timeout=5``,
        ``max_retries=0``...), on the same credentials and rate budget; close it when done."""
        quick = copy.copy(self)
        quick._core = self.get_conn().with_options(**changes)
        quick._core_lock = threading.Lock()
        return quick

    # -- calling endpoints ---------------------------------------------------------------------

    def _before_request(self, core: HttpCore) -> None:
        """Called before each call (sync); a hook that must log in first does it here."""

    async def _abefore_request(self, core: HttpCore) -> None:
        """Async twin of :meth:`_before_request`."""

    def _call(self, spec: RequestSpec, parse: Callable[[Any], T] = lambda data: data) -> T:
        """Call one endpoint and return ``parse`` of its payload data (see :meth:`HttpCore.request`)."""
        core = self.get_conn()
        self._before_request(core)
        return core.request(spec, parse)

    def _items(self, listing: Listing, model: type[M]) -> Iterator[M]:
        """Stream the ``model`` items of a paged listing (requests start at the first ``next``)."""
        core = self.get_conn()

        def walk() -> Iterator[M]:
            self._before_request(core)
            yield from core.iter_items(listing, model.model_validate)

        return walk()

    async def _aitems(self, listing: Listing, model: type[M]) -> AsyncIterator[M]:
        """Async twin of :meth:`_items`."""
        core = await self.aget_conn()
        await self._abefore_request(core)
        async for item in core.aiter_items(listing, model.model_validate):
            yield item

    def _connection_check(self, check: Callable[[Self], str]) -> tuple[bool, str]:
        """``(True, check(quick))``, or ``(False, the error)`` with no secret in it (for the UI's
        Test); ``quick`` is a copy of this hook that tries once, with a short timeout."""
        try:
            timeout = min(self.get_conn().config.timeout, CONNECTION_TEST_TIMEOUT)
            with self.with_options(timeout=timeout, max_retries=0) as quick:
                return True, check(quick)
        except Exception as exc:  # the UI wants a message for any failure, not a traceback
            text = str(exc)
            if self._core is not None:
                text = self._core.dialect.redact(text)
                hint = self.base_url_hint(self._core.config.base_url)
                text = f"{text} (hint: {hint})" if hint else text
            return False, f"{type(exc).__name__}: {text}"

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync connection pool (the hook can still be used; it reconnects)."""
        if self._core is not None:
            self._core.close()

    async def aclose(self) -> None:
        """Close both connection pools; call from the event loop that used the hook."""
        if self._core is not None:
            await self._core.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
