"""Plumbing both hooks share: connection -> settings -> :class:`HttpCore`, secret masking, lifecycle.

A hook builds its core lazily, once: :meth:`ApiHook.get_conn` from a sync context,
:meth:`ApiHook.aget_conn` from an async one (a trigger must not make the blocking connection
lookup on the event loop). Everything else a hook does goes through that core.
"""

from __future__ import annotations

import hashlib
import math
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pydantic
from airflow.sdk.bases.hook import BaseHook

from airflow_provider_altegio.core.http import ClientConfig, HttpCore
from airflow_provider_altegio.core.logredact import redact_in_http_logs
from airflow_provider_altegio.core.ratelimit import RateLimiter
from airflow_provider_altegio.core.retry import RetryPolicy
from airflow_provider_altegio.exceptions import InvalidRequestError, MalformedResponseError

if TYPE_CHECKING:
    from types import TracebackType

    from airflow.sdk import Connection

    from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect
    from airflow_provider_altegio.models.common import RequestModel

    Dialect = AltegioDialect | AltacolorDialect

M = TypeVar("M", bound=pydantic.BaseModel)
R = TypeVar("R", bound="RequestModel")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_REQUESTS_PER_SECOND = 5.0
DEFAULT_REQUESTS_PER_MINUTE = 200.0
_TRUE = frozenset({"1", "true", "yes", "y", "on", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "f"})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Extras:
    """A connection's extras, read tolerantly.

    The UI stores numbers and booleans as text; older forms prefix keys with
    ``extra__<conn_type>__``. Both spellings are read, and an empty value counts as absent.

    :param extras: the connection's ``extra_dejson``.
    :param conn_type: used for the prefixed spelling and in error messages.
    """

    def __init__(self, extras: Mapping[str, Any], conn_type: str) -> None:
        self._extras = dict(extras)
        self._conn_type = conn_type

    def raw(self, name: str) -> Any:
        """The value under ``name`` (or its prefixed form); ``None`` when absent or blank."""
        for key in (name, f"extra__{self._conn_type}__{name}"):
            value = self._extras.get(key)
            if not _blank(value):
                return value.strip() if isinstance(value, str) else value
        return None

    def string(self, name: str) -> str | None:
        """A text extra."""
        value = self.raw(name)
        return None if value is None else str(value)

    def number(self, name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        """A number extra, at least ``minimum``.

        :raises InvalidRequestError: not a number, or below ``minimum`` (field ``extra.<name>``).
        """
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < minimum:
            raise InvalidRequestError(
                f"extra.{name}", f"must be a number >= {minimum:g} in connection extras, got {value!r:.40}"
            )
        return number

    def integer(self, name: str, default: int | None, *, minimum: int = 0) -> int | None:
        """A whole-number extra.

        :raises InvalidRequestError: not a whole number, or below ``minimum``.
        """
        number = self.number(name, None if default is None else float(default), minimum=minimum)
        if number is None:
            return None
        if not number.is_integer():
            raise InvalidRequestError(f"extra.{name}", f"must be a whole number, got {self.raw(name)!r:.40}")
        return int(number)

    def boolean(self, name: str, default: bool) -> bool:
        """A true/false extra (``true``/``false``, ``1``/``0``, ``yes``/``no``).

        :raises InvalidRequestError: any other value.
        """
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InvalidRequestError(f"extra.{name}", f"must be true or false, got {value!r:.40}")


def normalize_base_url(host: str | None, default: str, port: int | None = None) -> str:
    """The API base URL from a connection's host.

    Empty means ``default``; a host without a scheme gets ``https://``; a trailing slash is
    dropped; the connection's port is added when the host names none.
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
    return f"{scheme.lower()}://{netloc}{slash}{path}".rstrip("/")


@dataclass(frozen=True)
class ConnectionSettings:
    """Transport settings every connection type shares (secrets live in the dialect).

    :param base_url: API base URL.
    :param timeout: per-request timeout, seconds.
    :param max_retries: retries on 429, 502, 503, 504 and transport errors.
    :param requests_per_second: client-side limit (``None``: unlimited).
    :param requests_per_minute: client-side limit (``None``: unlimited).
    :param verify_ssl: verify TLS certificates.
    """

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND
    requests_per_minute: float | None = DEFAULT_REQUESTS_PER_MINUTE
    verify_ssl: bool = True

    @classmethod
    def from_extras(cls, base_url: str, extras: Extras) -> ConnectionSettings:
        """Read the shared optional extras (``timeout``, ``max_retries``, limits, ``verify_ssl``).

        A limit of 0 turns that budget off.

        :raises InvalidRequestError: an extra with an unusable value.
        """
        timeout = extras.number("timeout", DEFAULT_TIMEOUT)
        if timeout is not None and timeout <= 0:
            raise InvalidRequestError("extra.timeout", "must be greater than 0 seconds")
        return cls(
            base_url=base_url,
            timeout=timeout or DEFAULT_TIMEOUT,
            max_retries=extras.integer("max_retries", DEFAULT_MAX_RETRIES) or 0,
            requests_per_second=extras.number("requests_per_second", DEFAULT_REQUESTS_PER_SECOND) or None,
            requests_per_minute=extras.number("requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE) or None,
            verify_ssl=extras.boolean("verify_ssl", True),
        )


def credential_fingerprint(*parts: str | None) -> str:
    """A short hash naming a set of credentials (for limiter keys); never the secrets themselves."""
    digest = hashlib.sha256("\x00".join(p or "" for p in parts).encode("utf-8"))
    return digest.hexdigest()[:16]


def mask_secrets(values: Iterable[str | None]) -> None:
    """Register secrets with Airflow's secrets masker (task logs, rendered fields, XCom).

    They are also hidden from httpx's own request log lines, whatever logging setup prints them.
    """
    from airflow.sdk.log import mask_secret

    values = list(values)
    redact_in_http_logs(values)
    for value in values:
        if value:
            mask_secret(value)


async def amask_secrets(values: Iterable[str | None]) -> None:
    """Async twin of :func:`mask_secrets`, safe on an event loop that talks to the supervisor."""
    from airflow.sdk.log import amask_secret

    values = list(values)
    redact_in_http_logs(values)
    for value in values:
        if value:
            await amask_secret(value)


def page_items(page: list[Any], model: type[M], parse: Callable[[Any], M]) -> Iterator[M]:
    """The ``model`` objects of one page of a listing.

    The core reads a well-formed page into models in one pass; a page it could not comes as
    decoded JSON, and ``parse`` validates its items here one by one, so a bad item fails (with
    :class:`MalformedResponseError` naming it) only when reached, after the good ones before it.
    """
    for item in page:
        yield item if type(item) is model else parse(item)


def parse_model(model: type[M], data: Any, *, what: str, method: str, url: str) -> M:
    """Validate a response payload into ``model``.

    :raises MalformedResponseError: the payload does not have the model's shape (never a
        ``KeyError``/``AttributeError`` from deep inside).
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise MalformedResponseError(
            f"unexpected {what} in response ({problems})", method=method, url=url
        ) from None


class ApiHook(BaseHook):
    """Base of :class:`AltegioHook` and :class:`AltacolorHook`: one lazily built :class:`HttpCore`.

    Use it as a context manager (``with hook:`` / ``async with hook:``), or call :meth:`close`
    / :meth:`aclose`, to release the connection pool early; otherwise it lives as long as the
    hook.

    :param conn_id: the Airflow connection id.
    """

    conn_type: ClassVar[str]
    default_base_url: ClassVar[str] = ""

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._core: HttpCore | None = None
        self._core_lock = threading.Lock()
        #: injected by tests: replaces the core's sleeps (sync and async) with recorders.
        self._core_options: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- building the core ---------------------------------------------------------------------

    @abstractmethod
    def _dialect(self, conn: Connection, extras: Extras) -> tuple[Dialect, list[str | None]]:
        """The API's dialect for ``conn`` and the credential parts that identify its budget.

        :raises InvalidRequestError: a required credential is missing.
        """

    def _build_core(self, conn: Connection, extras_json: Mapping[str, Any]) -> tuple[HttpCore, list[str]]:
        """Build the core for ``conn``; return it with the secrets to register with the masker."""
        extras = Extras(extras_json, self.conn_type)
        base_url = normalize_base_url(conn.host, self.default_base_url, conn.port)
        settings = ConnectionSettings.from_extras(base_url, extras)
        if not settings.verify_ssl:
            self.log.warning(
                "TLS certificate verification is OFF for connection %s (verify_ssl)", self.conn_id
            )
        dialect, identity = self._dialect(conn, extras)
        limiter = None
        if settings.requests_per_second or settings.requests_per_minute:
            key = f"{dialect.name}|{base_url}|{credential_fingerprint(*identity)}"
            limiter = RateLimiter.shared(key, settings.requests_per_second, settings.requests_per_minute)
        config = ClientConfig(
            base_url=base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            verify=settings.verify_ssl,
        )
        core = HttpCore(
            config,
            dialect,
            limiter=limiter,
            retry=RetryPolicy(max_retries=settings.max_retries),
            **self._core_options,
        )
        return core, list(dialect.secrets())

    def get_conn(self) -> HttpCore:
        """The hook's HTTP core, built on first use from the Airflow connection.

        :raises InvalidRequestError: the connection lacks a required field or has a bad extra.
        """
        if self._core is None:
            with self._core_lock:
                if self._core is None:
                    conn = self.get_connection(self.conn_id)
                    core, secrets = self._build_core(conn, conn.extra_dejson)
                    mask_secrets(secrets)
                    self._core = core
        return self._core

    async def aget_conn(self) -> HttpCore:
        """Async twin of :meth:`get_conn`: looks the connection up without blocking the loop."""
        if self._core is None:
            conn = await self.aget_connection(self.conn_id)
            # The task SDK's Connection parses extras without blocking the loop; other
            # connection-shaped objects (older backends) only offer the sync property.
            aextra = getattr(conn, "aextra_dejson", None)
            extras = await aextra() if aextra is not None else conn.extra_dejson
            core, secrets = self._build_core(conn, extras)
            await amask_secrets(secrets)
            if self._core is None:  # another coroutine may have won the race; keep one core
                self._core = core
        return self._core

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync connection pool (the hook can still be used; it reconnects)."""
        if self._core is not None:
            self._core.close()

    async def aclose(self) -> None:
        """Close both connection pools; call from the event loop that used the hook."""
        if self._core is not None:
            await self._core.aclose()

    def __enter__(self) -> ApiHook:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> ApiHook:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- helpers for subclasses ----------------------------------------------------------------

    def _url(self, path: str) -> str:
        """The public URL of ``path`` for error messages (no query string)."""
        base = self._core.config.base_url.rstrip("/") if self._core is not None else self.default_base_url
        return f"{base}{path}"

    def _redact(self, text: str) -> str:
        """``text`` without this hook's secrets (for messages built from foreign exceptions)."""
        return self._core.dialect.redact(text) if self._core is not None else text

    @staticmethod
    def _validate_input(model: type[R], value: Any) -> R:
        """Caller input (a request model or a mapping) as ``model``.

        :raises InvalidRequestError: naming the offending field, before any request.
        """
        return model.from_input(value)


def positive_int(value: Any, field: str, *, allow_zero: bool = False) -> int:
    """An id given by a caller (an int or a string of digits, as templates render them).

    :raises InvalidRequestError: naming ``field`` when it is not a positive whole number.
    """
    number: Any = value
    if isinstance(value, str) and value.strip().lstrip("+").isdigit():
        number = int(value.strip())
    minimum = 0 if allow_zero else 1
    if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
        bound = "0 or more" if allow_zero else "greater than 0"
        raise InvalidRequestError(field, f"must be a whole number {bound}, got {value!r:.60}")
    return number
