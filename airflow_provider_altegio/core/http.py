"""The one HTTP core both hooks stand on: sync and async, retries, rate limit, errors, paging.

Every request goes through :meth:`HttpCore._flow`, a sans-IO generator that only *yields* what it
cannot do itself (sleep, send), so one retry logic serves the sync and the async driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

import httpx

from airflow_provider_altegio.core.retry import RetryPolicy
from airflow_provider_altegio.core.types import (
    Payload,
    PayloadShapeError,
    RequestInfo,
    RequestSpec,
    param_pairs,
)
from airflow_provider_altegio.exceptions import (
    AmbiguousWriteError,
    APIError,
    MalformedResponseError,
    TransportError,
)

if TYPE_CHECKING:
    from airflow_provider_altegio.core.config import ConnectionConfig
    from airflow_provider_altegio.core.paging import Listing, Page
    from airflow_provider_altegio.core.ratelimit import RateLimiter
    from airflow_provider_altegio.core.secrets import Secrets

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures before the request left this machine: safe to re-send even a create.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures no retry can fix (a bad URL scheme, a request httpx itself refuses to send).
_FATAL_ERRORS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class Dialect(Protocol):
    """What one API does differently: auth, envelope, error mapping, secrets."""

    name: str  # "altegio", "altacolor": for logs and limiter keys
    secrets: Secrets  # the credentials it sends

    def prepare(self, spec: RequestSpec) -> RequestSpec:
        """The request with authentication added (headers, query or form fields)."""

    def parse(self, response: httpx.Response, info: RequestInfo) -> Payload:
        """The payload of a final response.

        :raises APIError: the API's error, mapped to its typed exception.
        """

    def error(self, response: httpx.Response, info: RequestInfo) -> APIError:
        """The typed exception describing a failed response (not raised)."""

    def redact(self, text: str) -> str:
        """``text`` with every secret this dialect knows replaced by ``***``."""


@dataclass(frozen=True)
class Sleep:
    """Step of the request flow: wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Send:
    """Step of the request flow: send this request; answer with the response or the httpx error."""

    request: httpx.Request


Outcome: TypeAlias = httpx.Response | httpx.TransportError | None
Flow: TypeAlias = Generator[Sleep | Send, Outcome, T]


def public_url(url: httpx.URL | str) -> str:
    """``url`` without user info, query string or fragment: safe to put in logs and errors."""
    url = httpx.URL(url)
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def ambiguous(message: str, info: RequestInfo, status_code: int | None = None) -> AmbiguousWriteError:
    """The error for a write that may have been applied although no usable answer came back."""
    return AmbiguousWriteError(
        f"{message}; the request may have been applied, so it was not re-sent",
        status_code=status_code,
        method=info.method,
        url=info.url,
    )


def describe_invalid(exc: ValueError) -> str:
    """The first problems of a validation error, as ``field: message`` (pydantic's or plain)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in errors(include_url=False, include_input=False)[:3]
    )


@functools.lru_cache(maxsize=4)
def _ssl_context(verify: bool) -> ssl.SSLContext:
    # Building an SSL context loads the CA bundle (tens of ms, ~1 MB); one per setting serves all.
    return httpx.create_ssl_context(verify=verify)


def _identity(data: Any) -> Any:
    return data


class HttpCore:
    """One API client: persistent sync and async HTTP clients behind one request flow.

    :param limiter: the shared rate limiter (``None``: unlimited).
    :param retry: default: ``config.max_retries`` with backoff.
    :param sleep: blocking sleep of the sync driver; ``asleep`` the async one's.
    :param transport: httpx transport of the sync client; ``async_transport`` the async one's.
    """

    def __init__(
        self,
        config: ConnectionConfig,
        dialect: Dialect,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
        asleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.dialect = dialect
        self.limiter = limiter
        self.retry = retry or RetryPolicy(
            max_retries=config.max_retries, rate_limit_wait=config.rate_limit_wait
        )
        self._sleep = sleep
        self._asleep = asleep
        self._transport = transport
        self._async_transport = async_transport
        self._base = config.base_url.rstrip("/")
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None
        self.waits = Waits()

    def __repr__(self) -> str:
        return f"HttpCore(api={self.dialect.name!r}, base_url={self.url('')!r}, limiter={self.limiter!r})"

    def url(self, path: str) -> str:
        """The public URL of ``path`` (no user info, no query): what errors and logs show."""
        return public_url(f"{self._base}/{path.lstrip('/')}" if path else self._base)

    def with_options(self, **changes: Any) -> HttpCore:
        """A copy with some :class:`ConnectionConfig` fields changed (``timeout=5``...), sharing
        the dialect and rate budget but not the connection pools (close it when done)."""
        config = replace(self.config, **changes)
        return HttpCore(
            config,
            self.dialect,
            limiter=self.limiter,
            retry=replace(self.retry, max_retries=config.max_retries),
            sleep=self._sleep,
            asleep=self._asleep,
            transport=self._transport,
            async_transport=self._async_transport,
        )

    def _client_options(self) -> dict[str, Any]:
        return {
            "verify": _ssl_context(self.config.verify_ssl),
            "limits": httpx.Limits(max_connections=100, max_keepalive_connections=20),
            "timeout": self.config.timeout,
            "follow_redirects": False,
        }

    @property
    def client(self) -> httpx.Client:
        """The persistent sync client (created on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(transport=self._transport, **self._client_options())
        return self._client

    async def async_client(self) -> httpx.AsyncClient:
        """The persistent async client of the running event loop (created on first use); an
        ``httpx.AsyncClient`` belongs to one loop, so another loop gets a new one."""
        loop = asyncio.get_running_loop()
        if self._aclient is not None and self._aclient_loop is not loop:
            stale, self._aclient = self._aclient, None
            # Its connections belong to the old loop; if that loop is gone, so are they.
            with contextlib.suppress(RuntimeError):
                await stale.aclose()
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(transport=self._async_transport, **self._client_options())
            self._aclient_loop = loop
        return self._aclient

    def close(self) -> None:
        """Close the sync client (the async one needs :meth:`aclose` from its loop)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close both clients; call from the loop that used the async one."""
        self.close()
        aclient, self._aclient = self._aclient, None
        if aclient is not None:
            await aclient.aclose()

    def request(self, spec: RequestSpec, parse: Callable[[Any], T] = _identity) -> T:
        """Send a request and return ``parse(payload.data)`` (a ``ValueError`` of ``parse`` becomes
        :class:`MalformedResponseError`).

        :raises APIError: the API's error, mapped by the dialect.
        :raises AmbiguousWriteError: a non-idempotent request that may have been applied.
        :raises TransportError: the network failed and retries were spent.
        :raises MalformedResponseError: the body was not the documented JSON.
        """
        return self._drive(self._flow(spec, lambda payload: parse(payload.data)))

    async def arequest(self, spec: RequestSpec, parse: Callable[[Any], T] = _identity) -> T:
        """Async twin of :meth:`request`: same flow, same errors."""
        return await self._adrive(self._flow(spec, lambda payload: parse(payload.data)))

    def iter_items(self, listing: Listing, parse: Callable[[Any], T] = _identity) -> Iterator[T]:
        """Yield every item of a paged listing, ``parse``-d, page by page as they are consumed.

        :raises MalformedResponseError: a page without a list of items, an item ``parse``
            refuses, or a page that repeats the previous one (paging fields ignored).
        """
        walk = _Walk(self, listing, parse)
        page: Page | None = listing.pager.first()
        while page is not None:
            raw, page = self._drive(walk.flow(page))
            yield from walk.new_items(raw)

    async def aiter_items(self, listing: Listing, parse: Callable[[Any], T] = _identity) -> AsyncIterator[T]:
        """Async twin of :meth:`iter_items`."""
        walk = _Walk(self, listing, parse)
        page: Page | None = listing.pager.first()
        while page is not None:
            raw, page = await self._adrive(walk.flow(page))
            for item in walk.new_items(raw):
                yield item

    def build_request(self, spec: RequestSpec) -> httpx.Request:
        """Turn an authenticated spec into an ``httpx.Request`` usable by either client."""
        data = None if spec.data is None else {k: v for k, v in spec.data.items() if v is not None}
        return httpx.Request(
            spec.method,
            f"{self._base}/{spec.path.lstrip('/')}",
            params=None if spec.params is None else param_pairs(spec.params),
            json=spec.json,
            data=data,
            headers={"User-Agent": self.config.user_agent, **spec.headers},
        )

    def _flow(self, spec: RequestSpec, read: Callable[[Payload], T]) -> Flow[T]:
        """Limiter, send, classify, back off, map errors, read the payload. Sans-IO; its errors
        name the Airflow connection."""
        try:
            return (yield from self._attempts(spec, read))
        except APIError as exc:
            raise exc.on_connection(self.config.connection_id) from exc.__cause__

    def _attempts(self, spec: RequestSpec, read: Callable[[Payload], T]) -> Flow[T]:
        request = self.build_request(self.dialect.prepare(spec))
        info = RequestInfo(spec.method, public_url(request.url))
        tries = _Tries()
        while True:
            slot = self.limiter.acquire() if self.limiter is not None else None
            try:
                delay = slot.delay if slot is not None else 0.0
                while slot is not None and delay > 0:
                    self.waits.budget_seconds += delay
                    yield Sleep(delay)
                    delay = slot.confirm()  # requests in flight meanwhile may still fill a window
                started = time.perf_counter()
                outcome = yield Send(request)
            finally:
                if slot is not None:
                    slot.finish()  # logged when the answer is back: it has surely arrived by then
            if isinstance(outcome, httpx.TransportError):
                delay = self._transport_failure(outcome, spec, info, tries)
            elif isinstance(outcome, httpx.Response):
                elapsed = time.perf_counter() - started
                log.debug("%s %s -> HTTP %s in %.3fs", info.method, info.url, outcome.status_code, elapsed)
                pause = self._response_failure(outcome, spec, info, tries)
                if pause is None:
                    return self._read(outcome, spec, info, read)
                delay = pause
            else:  # pragma: no cover - a driver bug, not a network condition
                raise TypeError(f"driver answered Send with {type(outcome).__name__}")
            yield Sleep(delay)

    def _read(
        self, response: httpx.Response, spec: RequestSpec, info: RequestInfo, read: Callable[[Payload], T]
    ) -> T:
        """``read`` of the dialect's payload; an unreadable answer to a write is ambiguous."""
        try:
            payload = self.dialect.parse(response, info)
            try:
                return read(payload)
            except MalformedResponseError:
                raise
            except ValueError as exc:
                raise self._unexpected(exc, info, response.status_code) from None
        except MalformedResponseError as exc:
            if spec.idempotent:
                raise
            # The write was accepted (2xx) but its result is unreadable: it may well exist now.
            raise ambiguous(exc.message, info, exc.status_code) from exc

    def _unexpected(
        self, exc: ValueError, info: RequestInfo, status_code: int | None = None
    ) -> MalformedResponseError:
        """The error for an answer whose data ``read`` or a listing's ``parse`` refused."""
        return MalformedResponseError(
            self.dialect.redact(f"unexpected response ({describe_invalid(exc)})"),
            status_code=status_code,
            method=info.method,
            url=info.url,
        )

    def _transport_failure(
        self, exc: httpx.TransportError, spec: RequestSpec, info: RequestInfo, tries: _Tries
    ) -> float:
        """Seconds to wait before retrying after a network failure, or raise."""
        what = f"{type(exc).__name__}: {self.dialect.redact(str(exc)) or 'no details'}"
        cause = self._sanitized(exc)
        if isinstance(exc, _FATAL_ERRORS):
            raise TransportError(what, method=info.method, url=info.url) from cause
        if not spec.idempotent and not isinstance(exc, _NOT_SENT_ERRORS):
            raise ambiguous(what, info) from cause
        if tries.failures >= self.retry.max_retries:
            raise TransportError(
                f"{what} (gave up after {tries.failures + 1} attempts)", method=info.method, url=info.url
            ) from cause
        return self._retrying(info, f"failed ({what})", tries, self.retry.backoff(tries.failures))

    def _retrying(self, info: RequestInfo, what: str, tries: _Tries, delay: float) -> float:
        """Count one more failure retried after ``delay`` seconds, and log it."""
        tries.failures += 1
        retry, most = tries.failures, self.retry.max_retries
        log.warning("%s %s %s; retry %d of %d in %.2fs", info.method, info.url, what, retry, most, delay)
        return delay

    def _sanitized(self, exc: httpx.TransportError) -> httpx.TransportError:
        """The httpx error with secrets masked and without its ``request`` (whose URL and headers
        carry credentials), to chain as ``__cause__``."""
        try:
            clean = type(exc)(self.dialect.redact(str(exc)))
        except Exception:  # an exotic subclass with another constructor
            clean = httpx.TransportError(f"{type(exc).__name__}: {self.dialect.redact(str(exc))}")
        return clean.with_traceback(exc.__traceback__)

    def _response_failure(
        self, response: httpx.Response, spec: RequestSpec, info: RequestInfo, tries: _Tries
    ) -> float | None:
        """Seconds to wait before retrying this response, ``None`` to read it as final, or raise.

        429s are waited out for up to ``rate_limit_wait`` seconds in all, holding back every
        sharer of the budget; other retryable statuses count against ``max_retries``.
        """
        status = response.status_code
        if not spec.idempotent and status >= 500:
            # A 5xx to a create does not say whether the create happened.
            raise ambiguous(self.dialect.error(response, info).message, info, status)
        if not self.retry.retryable_status(status):
            return None
        if status == 429:
            delay = self.retry.delay(tries.throttled, response)
            if delay is None or tries.waited + delay > self.retry.rate_limit_wait:
                log.warning(
                    "%s %s -> HTTP 429 after %.0fs of waiting out rate limits; giving up "
                    "(rate_limit_wait is %.0fs)",
                    info.method,
                    info.url,
                    tries.waited,
                    self.retry.rate_limit_wait,
                )
                return None
            tries.throttled += 1
            tries.waited += delay
            self.waits.throttled += 1
            self.waits.throttled_seconds += delay
            if self.limiter is not None:
                self.limiter.pause(delay)  # everyone sharing the budget backs off, not only us
            log.warning("%s %s -> HTTP 429; waiting %.2fs for the rate limit", info.method, info.url, delay)
            return delay
        if tries.failures >= self.retry.max_retries:
            return None
        delay = self.retry.delay(tries.failures, response)
        if delay is None:  # the server asked for a longer pause than we are willing to block
            return None
        return self._retrying(info, f"-> HTTP {status}", tries, delay)

    def _drive(self, flow: Flow[T]) -> T:
        """Run a flow with blocking I/O."""
        step = next(flow)
        while True:
            outcome: Outcome = None
            if isinstance(step, Sleep):
                self._sleep(step.seconds)
            else:
                try:
                    outcome = self.client.send(step.request)
                except httpx.TransportError as exc:
                    outcome = exc
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result

    async def _adrive(self, flow: Flow[T]) -> T:
        """Run a flow with async I/O."""
        step = next(flow)
        while True:
            outcome: Outcome = None
            if isinstance(step, Sleep):
                await self._asleep(step.seconds)
            else:
                client = await self.async_client()
                try:
                    outcome = await client.send(step.request)
                except httpx.TransportError as exc:
                    outcome = exc
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                result: T = done.value
                return result


@dataclass
class Waits:
    """What a core's requests waited for, in all: the shared rate budget's spacing (seconds), and
    the 429 answers waited out (how many, and seconds)."""

    budget_seconds: float = 0.0
    throttled: int = 0
    throttled_seconds: float = 0.0


@dataclass
class _Tries:
    """What one request has been through: failures retried, 429s waited out and for how long."""

    failures: int = 0
    throttled: int = 0
    waited: float = 0.0


@dataclass
class _Walk:
    """One walk through a paged listing. Items whose ``listing.unique_by`` was met already are
    dropped; a page repeating the previous one is refused (a server ignoring the paging fields
    would serve page 1 forever)."""

    core: HttpCore
    listing: Listing
    parse: Callable[[Any], Any]
    seen: set[Any] = field(default_factory=set)
    last_ends: tuple[int, Any, Any] | None = None

    def flow(self, page: Page) -> Flow[tuple[list[Any], Page | None]]:
        return self.core._flow(self.listing.page_request(page), lambda payload: self.read(page, payload))

    @functools.cached_property
    def info(self) -> RequestInfo:
        """The listing's method and public URL, as its errors name it."""
        return RequestInfo(self.listing.request.method, self.core.url(self.listing.request.path))

    def read(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        """The page's items as the API wrote them, and the page that follows (``None``: done)."""
        try:
            raw, following = self.listing.pager.advance(page, payload)
        except PayloadShapeError as exc:
            raise MalformedResponseError(str(exc), method=self.info.method, url=self.info.url) from None
        ends = (len(raw), raw[0], raw[-1]) if raw else None
        if ends is not None and ends == self.last_ends:
            raise MalformedResponseError(
                f"page {page.number} repeats page {page.number - 1}: the server ignores the paging "
                f"fields ({', '.join(sorted(page.fields))}), so the listing cannot be read to its end",
                method=self.info.method,
                url=self.info.url,
            )
        self.last_ends = ends
        return raw, following

    def new_items(self, raw: list[Any]) -> Iterator[Any]:
        """The items of a page not met before, each parsed when it is consumed: a page of models
        is never held at once (a thousand of them outlive the young garbage generation, and the
        collections of the old one they set off cost more than building them).

        :raises MalformedResponseError: an item ``parse`` refuses.
        """
        for data in raw:
            try:
                item = self.parse(data)
            except ValueError as exc:
                raise self.core._unexpected(exc, self.info) from None
            key = None if self.listing.unique_by is None else getattr(item, self.listing.unique_by, None)
            if key is None or key not in self.seen:
                self.seen.add(key)
                yield item
