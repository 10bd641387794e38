"""What both hooks share: connection -> :class:`ConnectionConfig` -> :class:`HttpCore`, and the
one way a hook calls an endpoint (:meth:`ApiHook._request`, :meth:`ApiHook._pages` and its
async twin :meth:`ApiHook._apages`).

A hook builds its core lazily, once: :meth:`ApiHook.get_conn` from a sync context,
:meth:`ApiHook.aget_conn` from an async one (a trigger must not make the blocking connection
lookup on the event loop).
"""

from __future__ import annotations

import hashlib
import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import pydantic
from airflow.sdk.bases.hook import BaseHook

from airflow_provider_altegio.core.config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT_WAIT,
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_TIMEOUT,
    ConnectionConfig,
)
from airflow_provider_altegio.core.http import HttpCore, describe_invalid
from airflow_provider_altegio.core.ratelimit import RateLimiter
from airflow_provider_altegio.core.secrets import hide_in_http_logs
from airflow_provider_altegio.exceptions import InvalidRequestError, MalformedResponseError
from airflow_provider_altegio.values import is_blank, number, truth, whole_number

if TYPE_CHECKING:
    from types import TracebackType

    from airflow.sdk import Connection
    from typing_extensions import Self

    from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect
    from airflow_provider_altegio.core.paging import Pager

    Dialect = AltegioDialect | AltacolorDialect

M = TypeVar("M", bound=pydantic.BaseModel)

#: Seconds the UI's Test button waits for the API (one try, no retries).
CONNECTION_TEST_TIMEOUT = 5.0
T = TypeVar("T")


class Extras:
    """A connection's extras, read tolerantly.

    The UI stores numbers and booleans as text; older forms prefix keys with
    ``extra__<conn_type>__``. Both spellings are read, and an empty value counts as absent.
    Bad values raise :class:`InvalidRequestError` naming ``extra.<name>``.

    :param extras: the connection's ``extra_dejson``.
    :param conn_type: used for the prefixed spelling.
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
        """A text extra."""
        value = self.raw(name)
        return None if value is None else str(value)

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """A number extra, at least ``minimum``."""
        value = self.raw(name)
        return default if value is None else number(value, f"extra.{name}", minimum=minimum)

    def integer(self, name: str, default: int | None, *, minimum: int = 0) -> int | None:
        """A whole-number extra, at least ``minimum``."""
        value = self.raw(name)
        return default if value is None else whole_number(value, f"extra.{name}", minimum=minimum)

    def boolean(self, name: str, default: bool) -> bool:
        """A true/false extra."""
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


def read_config(base_url: str, extras: Extras) -> ConnectionConfig:
    """The connection's transport settings from its optional extras (``timeout``,
    ``max_retries``, ``requests_per_second``, ``requests_per_minute``, ``rate_limit_store``,
    ``rate_limit_wait``, ``verify_ssl``).

    A rate of 0 turns that budget off.

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


def read_model(model: type[M]) -> Callable[[Any], M]:
    """A reader of a payload that is one ``model`` object."""
    return model.model_validate


def read_list(model: type[M]) -> Callable[[Any], list[M]]:
    """A reader of a payload that is a list of ``model`` objects (``null`` reads as empty)."""

    def read(data: Any) -> list[M]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ValueError(f"expected a list of {model.__name__}, got {type(data).__name__}")
        return [model.model_validate(item) for item in data]

    return read


class ApiHook(BaseHook):
    """Base of :class:`AltegioHook` and :class:`AltacolorHook`: one lazily built :class:`HttpCore`.

    Use it as a context manager (``with hook:`` / ``async with hook:``), or call :meth:`close`
    / :meth:`aclose`, to release the connection pool; a closed hook reconnects when used again.

    :param conn_id: the Airflow connection id.
    """

    conn_type: ClassVar[str]
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
        config = replace(read_config(base_url, extras), connection_id=self.conn_id)
        hint = self.base_url_hint(base_url)
        if hint:
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

    def get_conn(self) -> HttpCore:
        """The hook's HTTP core, built on first use from the Airflow connection.

        :raises InvalidRequestError: the connection lacks a required field or has a bad extra.
        """
        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    conn = self.get_connection(self.conn_id)
                    core = self._build_core(conn, conn.extra_dejson)
                    mask_secrets(*core.dialect.secrets.forms)
                    self._core = core
        return self._core

    async def aget_conn(self) -> HttpCore:
        """Async twin of :meth:`get_conn`: looks the connection up without blocking the loop."""
        if self._core is None:
            conn = await self.aget_connection(self.conn_id)
            # Parsing extras may ask the supervisor for secrets: do it without blocking the loop.
            aextra = getattr(conn, "aextra_dejson", None)  # missing on Airflow before 3.2
            extras = await aextra() if aextra is not None else conn.extra_dejson
            core = self._build_core(conn, extras)
            await amask_secrets(*core.dialect.secrets.forms)
            if self._core is None:  # another coroutine may have won the race; keep one core
                self._core = core
        return self._core

    # -- calling endpoints ---------------------------------------------------------------------

    def _before_request(self, core: HttpCore) -> None:
        """Called before each call (sync); a hook that must log in first does it here."""

    async def _abefore_request(self, core: HttpCore) -> None:
        """Async twin of :meth:`_before_request`."""

    def _request(self, method: str, path: str, read: Callable[[Any], T], **options: Any) -> T:
        """Call one endpoint and return ``read`` of its payload data (see :meth:`HttpCore.request`)."""
        core = self.get_conn()
        self._before_request(core)
        return core.request(method, path, read=read, **options)

    def _pages(
        self,
        model: type[M],
        pager: Pager,
        method: str,
        path: str,
        *,
        unique_by: str | None = None,
        **options: Any,
    ) -> Iterator[M]:
        """Stream the ``model`` items of a paged listing (requests start at the first ``next``).

        With ``unique_by``, an item whose field of that name was already seen in this walk is
        skipped: rows that shift between two page requests come twice, and must count once.
        A bad item raises :class:`MalformedResponseError` when it is reached, after the good
        ones before it.
        """
        core = self.get_conn()

        def walk() -> Iterator[M]:
            self._before_request(core)
            seen: set[Any] = set()
            for page in core.iter_pages(pager, method, path, **options):
                yield from self._page_items(core, model, page, method, path, unique_by, seen)

        return walk()

    async def _apages(
        self,
        model: type[M],
        pager: Pager,
        method: str,
        path: str,
        *,
        unique_by: str | None = None,
        **options: Any,
    ) -> AsyncIterator[M]:
        """Async twin of :meth:`_pages`."""
        core = await self.aget_conn()
        await self._abefore_request(core)
        seen: set[Any] = set()
        async for page in core.aiter_pages(pager, method, path, **options):
            for item in self._page_items(core, model, page, method, path, unique_by, seen):
                yield item

    def _page_items(
        self,
        core: HttpCore,
        model: type[M],
        page: Iterable[Any],
        method: str,
        path: str,
        unique_by: str | None,
        seen: set[Any],
    ) -> Iterator[M]:
        """The ``model`` items of one page, without those whose ``unique_by`` field was met
        already in this walk (``seen`` remembers them)."""
        for raw in page:
            item = self._item(core, model, raw, method, path)
            key = None if unique_by is None else getattr(item, unique_by)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield item

    def _matching(
        self, model: type[M], id_field: str, ids: Iterable[int] | None, listing: dict[str, Any]
    ) -> list[M]:
        """The items of a paged listing (:meth:`_pages` arguments), only those whose
        ``id_field`` is in ``ids`` when given."""
        wanted = None if ids is None else set(ids)
        return [
            item
            for item in self._pages(model, **listing)
            if wanted is None or getattr(item, id_field) in wanted
        ]

    async def _amatching(
        self, model: type[M], id_field: str, ids: Iterable[int] | None, listing: dict[str, Any]
    ) -> list[M]:
        """Async twin of :meth:`_matching`."""
        wanted = None if ids is None else set(ids)
        return [
            item
            async for item in self._apages(model, **listing)
            if wanted is None or getattr(item, id_field) in wanted
        ]

    @staticmethod
    def _item(core: HttpCore, model: type[M], item: Any, method: str, path: str) -> M:
        try:
            return model.model_validate(item)
        except ValueError as exc:
            raise MalformedResponseError(
                core.dialect.redact(f"unexpected {model.__name__} in response ({describe_invalid(exc)})"),
                method=method,
                url=core.url(path),
            ) from None

    def _connection_check(self, call: Callable[[], str]) -> tuple[bool, str]:
        """``(True, call())``, or ``(False, the error)`` with no secret in it (for the UI's Test).

        ``call`` runs on a core that tries once, with a short timeout: a person is waiting.
        """
        try:
            core = self.get_conn()
            timeout = min(core.config.timeout, CONNECTION_TEST_TIMEOUT)
            quick = HttpCore(
                replace(core.config, timeout=timeout, max_retries=0), core.dialect, limiter=core.limiter
            )
            self._core = quick
            try:
                return True, call()
            finally:
                self._core = core
                quick.close()
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
