"""The one HTTP core both hooks stand on: sync and async, retries, rate limit, errors, paging.

Every request, sync or async, goes through :meth:`HttpCore._flow`: a sans-IO generator that
decides everything (wait for the rate limiter, send, retry or not, how long to back off, which
error to raise) and only *yields* the two things it cannot do itself, "sleep this long" and "send
this request". :meth:`HttpCore._drive` performs those steps with ``time.sleep`` and a persistent
``httpx.Client``; :meth:`HttpCore._adrive` with ``asyncio.sleep`` and a persistent
``httpx.AsyncClient``. So the retry logic exists once, and the async path cannot drift from the
sync one.

What differs between Altegio and Altacolor (authentication, the response envelope, which error
class a failure maps to, which strings are secret) is a :class:`Dialect`
(:mod:`airflow_provider_altegio.core.dialects`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypedDict, TypeVar

import httpx

from airflow_provider_altegio import __version__
from airflow_provider_altegio.core.paging import PayloadShapeError
from airflow_provider_altegio.core.retry import RetryPolicy
from airflow_provider_altegio.exceptions import (
    AmbiguousWriteError,
    APIError,
    MalformedResponseError,
    TransportError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel
    from typing_extensions import Unpack

    from airflow_provider_altegio.core.paging import Page, Pager
    from airflow_provider_altegio.core.ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: Query parameters: a mapping (``None`` values are dropped) or (name, value) pairs for repeats
#: such as ``ids[]``.
Params: TypeAlias = Mapping[str, Any] | Sequence[tuple[str, Any]]


class RequestOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`HttpCore.spec`, shared by :meth:`HttpCore.request` and
    :meth:`HttpCore.arequest` (see :meth:`HttpCore.spec` for their meaning)."""

    params: Params | None
    json: Any
    data: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    idempotent: bool | None


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Failures that happen before the request left this machine: safe to re-send even a create.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures no retry can fix (a bad URL scheme, a request httpx itself refuses to send).
_FATAL_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

DEFAULT_USER_AGENT = f"airflow-provider-altegio/{__version__}"


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one API.

    :param base_url: URL every request path is appended to (no trailing slash needed).
    :param timeout: per-request timeout in seconds (connect, read, write and pool).
    :param max_retries: used when the core builds its own :class:`RetryPolicy`.
    :param verify: verify TLS certificates; only a test server should turn it off.
    :param headers: extra headers for every request, or a callable returning them (kept out of
        ``repr``: they may carry secrets).
    :param user_agent: the ``User-Agent`` header.
    """

    base_url: str
    timeout: float = 30.0
    max_retries: int = 5
    verify: bool = True
    headers: Mapping[str, str] | Callable[[], Mapping[str, str]] = field(default_factory=dict, repr=False)
    user_agent: str = DEFAULT_USER_AGENT

    def resolved_headers(self) -> dict[str, str]:
        """The extra headers, calling the factory if one was given."""
        headers = self.headers() if callable(self.headers) else self.headers
        return dict(headers)


@dataclass(frozen=True)
class RequestSpec:
    """One logical request before authentication is added.

    :param idempotent: whether re-sending cannot apply it twice; decides what is retried.
    """

    method: str
    path: str
    params: Params | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    idempotent: bool = True


@dataclass(frozen=True)
class RequestInfo:
    """What an error may say about a request: the method and the URL without its query string."""

    method: str
    url: str


class Dialect(Protocol):
    """What one API does differently: auth, envelope, error mapping, secrets.

    Implementations live in :mod:`airflow_provider_altegio.core.dialects`.
    """

    #: short API name for logs and limiter keys ("altegio", "altacolor").
    name: str

    def prepare(self, spec: RequestSpec) -> RequestSpec:
        """Return the request with authentication added (headers, query or form fields)."""
        ...

    def parse(
        self, response: httpx.Response, info: RequestInfo, item_model: type[BaseModel] | None = None
    ) -> Any:
        """Unwrap a response into its payload.

        :param item_model: the model of a listing's items. A dialect that can reads a
            well-formed page straight from the body bytes into these models in one pass; any
            page it cannot read that way comes back as decoded JSON, exactly as without it.
        :raises APIError: the API's error, mapped to its typed exception.
        :raises MalformedResponseError: a body that is not the documented JSON.
        """
        ...

    def error(self, response: httpx.Response, info: RequestInfo) -> APIError:
        """The typed exception describing a failed response (not raised)."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with every secret this dialect knows replaced by ``***``."""
        ...


class _Abandoned(Exception):
    """Raised in a read-ahead whose walk was abandoned; nobody ever sees it."""


@dataclass(frozen=True)
class Answer:
    """The final response of a request flow (after retries), with the request it answers."""

    spec: RequestSpec
    response: httpx.Response
    info: RequestInfo


@dataclass(frozen=True)
class Sleep:
    """Step of the request flow: wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Send:
    """Step of the request flow: send this request; answer with the response or the httpx error."""

    request: httpx.Request


Step: TypeAlias = Sleep | Send
Outcome: TypeAlias = httpx.Response | httpx.TransportError | None
Flow: TypeAlias = Generator[Step, Outcome, Answer]


def public_url(url: httpx.URL) -> str:
    """``url`` without user info, query string or fragment: safe to put in logs and errors."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


@functools.lru_cache(maxsize=4)
def _ssl_context(verify: bool) -> ssl.SSLContext:
    # Building an SSL context loads the CA bundle (tens of ms, ~1 MB); every client in the process
    # can share one per setting.
    return httpx.create_ssl_context(verify=verify)


def _clean_params(params: Params | None) -> list[tuple[str, Any]] | None:
    """Drop ``None`` values so optional filters can be passed straight through."""
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    return [(k, v) for k, v in pairs if v is not None]


def _clean_data(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: v for k, v in data.items() if v is not None}


class HttpCore:
    """One API client: persistent sync and async HTTP clients behind one request flow.

    :param config: where and how to connect.
    :param dialect: the API's auth, envelope and error rules.
    :param limiter: the shared rate limiter (``None``: unlimited).
    :param retry: retry policy; defaults to ``RetryPolicy(max_retries=config.max_retries)``.
    :param sleep: blocking sleep for the sync driver (tests inject a recorder).
    :param asleep: async sleep for the async driver (tests inject a recorder).
    :param transport: httpx transport for the sync client (tests may inject one).
    :param async_transport: httpx transport for the async client.
    """

    def __init__(
        self,
        config: ClientConfig,
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
        self.retry = retry if retry is not None else RetryPolicy(max_retries=config.max_retries)
        self._sleep = sleep
        self._asleep = asleep
        self._transport = transport
        self._async_transport = async_transport
        self._base = config.base_url.rstrip("/")
        # For logs, errors and repr: the base without any user info a host might carry.
        self._public_base = public_url(httpx.URL(self._base)).rstrip("/")
        self._timeout = httpx.Timeout(config.timeout).as_dict()
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"HttpCore(api={self.dialect.name!r}, base_url={self._public_base!r}, limiter={self.limiter!r})"
        )

    # -- clients -------------------------------------------------------------------------------

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(max_connections=100, max_keepalive_connections=20)

    @property
    def client(self) -> httpx.Client:
        """The persistent sync client (created on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(
                        verify=_ssl_context(self.config.verify),
                        transport=self._transport,
                        limits=self._limits(),
                        follow_redirects=False,
                    )
        return self._client

    def async_client(self) -> httpx.AsyncClient:
        """The persistent async client for the running event loop (created on first use).

        An ``httpx.AsyncClient`` belongs to the loop that first used it; when called from another
        loop (a new triggerer loop, a test's fresh loop), a new client is made for that loop.
        """
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient_loop is not loop:
            self._aclient = httpx.AsyncClient(
                verify=_ssl_context(self.config.verify),
                transport=self._async_transport,
                limits=self._limits(),
                follow_redirects=False,
            )
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

    # -- requests ------------------------------------------------------------------------------

    def spec(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> RequestSpec:
        """Describe a request; ``idempotent`` defaults to the method's HTTP semantics."""
        method = method.upper()
        return RequestSpec(
            method=method,
            path=path,
            params=params,
            json=json,
            data=data,
            headers=dict(headers or {}),
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
        )

    def request(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """Send a request (sync) and return the dialect's payload.

        :param options: the keyword arguments of :meth:`spec`.
        :param idempotent: ``True`` for reads sent as POST (Altacolor find, ``/auth``); ``False``
            marks a create that must never be re-sent once it may have reached the server.
        :raises APIError: the API's error, mapped by the dialect.
        :raises AmbiguousWriteError: a non-idempotent request that may have been applied.
        :raises TransportError: the network failed and retries were spent.
        :raises MalformedResponseError: the body was not the documented JSON.
        """
        return self._parse(self._drive(self._flow(self.spec(method, path, **options))))

    async def arequest(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """Async twin of :meth:`request`: same flow, same errors."""
        return self._parse(await self._adrive(self._flow(self.spec(method, path, **options))))

    def iter_pages(
        self,
        pager: Pager,
        method: str,
        path: str,
        *,
        item_model: type[BaseModel] | None = None,
        read_ahead: bool = True,
        **kwargs: Any,
    ) -> Iterator[list[Any]]:
        """Yield each page's items, asking for pages as the ``pager`` says (sync).

        Streaming: at most the page being consumed and the next one or two are held. With
        ``read_ahead`` the requests run on a worker thread, through the same flow, limiter and
        retries, so that waiting for the server overlaps decoding and the caller's work:

        * the next page is asked for as soon as the current one is decoded, before the caller
          gets it;
        * from the second page on, the page after the current one is asked for as soon as the
          current body arrives, before it is decoded, betting that the current page is full (a
          walk that reached page 2 is made of full pages). A lost bet (the current page was the
          last) costs at most one request, whose answer is dropped; when the walk returns, that
          request has been answered, so nothing of the walk reaches the server afterwards.

        ``kwargs`` are those of :meth:`request`; the pager's fields are merged into ``params``
        or ``data``.

        :param item_model: the items' model; the dialect then reads well-formed pages straight
            into models (see :meth:`Dialect.parse`).
        :raises MalformedResponseError: a page without a list of items, or a page that repeats
            the previous one (a server ignoring the paging fields would otherwise never end).
        """
        walk = _Walk(self, pager, method, path, kwargs, item_model)
        page: Page | None = pager.first()
        if not read_ahead:
            while page is not None:
                items, page = walk.read(page, walk.fetch(page))
                yield items
            return
        ahead = _ReadAhead(walk.fetch, bet=pager.after_full)
        # A bet already sent when the walk ends is waited for (one round trip at most: it is not
        # retried), so no request of the walk lands after it; a caller who walks away is not.
        settle = self.config.timeout
        try:
            while page is not None:
                items, page = walk.read(page, ahead.take(page))
                if page is None:
                    ahead.close(settle=settle)  # before the caller gets the last items
                else:
                    ahead.follow(page)
                yield items
        except GeneratorExit:
            ahead.close()
            raise
        finally:
            ahead.close(settle=settle)

    async def aiter_pages(
        self,
        pager: Pager,
        method: str,
        path: str,
        *,
        item_model: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[list[Any]]:
        """Async twin of :meth:`iter_pages` (without read-ahead: parsing runs on the event loop)."""
        walk = _Walk(self, pager, method, path, kwargs, item_model)
        page: Page | None = pager.first()
        while page is not None:
            items, page = walk.read(page, await walk.afetch(page))
            yield items

    def page_spec(
        self, pager: Pager, fields: Mapping[str, Any], method: str, path: str, kwargs: dict[str, Any]
    ) -> RequestSpec:
        """The request for one page: ``kwargs`` of :meth:`request` with the pager's ``fields``."""
        spec = self.spec(method, path, **kwargs)
        if pager.target == "data":
            return replace(spec, data={**(spec.data or {}), **fields})
        base = _clean_params(spec.params) or []
        return replace(spec, params=[*(kv for kv in base if kv[0] not in fields), *fields.items()])

    def malformed(self, spec: RequestSpec, problem: str) -> MalformedResponseError:
        """A :class:`MalformedResponseError` about the answer to ``spec`` (secrets masked)."""
        return MalformedResponseError(
            self.dialect.redact(problem), method=spec.method, url=f"{self._public_base}{self._path(spec)}"
        )

    # -- the flow, written once ----------------------------------------------------------------

    @staticmethod
    def _path(spec: RequestSpec) -> str:
        return spec.path if spec.path.startswith("/") else f"/{spec.path}"

    def build_request(self, spec: RequestSpec) -> httpx.Request:
        """Turn an authenticated spec into an ``httpx.Request`` usable by either client."""
        headers = {
            "User-Agent": self.config.user_agent,
            **self.config.resolved_headers(),
            **spec.headers,
        }
        return httpx.Request(
            spec.method,
            f"{self._base}{self._path(spec)}",
            params=_clean_params(spec.params),
            json=spec.json,
            data=_clean_data(spec.data),
            headers=headers,
            extensions={"timeout": self._timeout},
        )

    def _flow(self, spec: RequestSpec) -> Flow:
        """The request flow: limiter, send, classify, back off, map errors. Sans-IO."""
        request = self.build_request(self.dialect.prepare(spec))
        info = RequestInfo(spec.method, public_url(request.url))
        retry = 0
        while True:
            slot = self.limiter.acquire() if self.limiter is not None else None
            try:
                delay = slot.delay if slot is not None else 0.0
                while slot is not None and delay > 0:
                    yield Sleep(delay)
                    delay = slot.confirm()  # requests in flight meanwhile may still fill a window
                started = time.perf_counter()
                outcome = yield Send(request)
            finally:
                if slot is not None:
                    slot.finish()  # logged when the answer is back: it has surely arrived by then
            if isinstance(outcome, httpx.TransportError):
                delay = self._transport_failure(outcome, spec, info, retry)
            elif isinstance(outcome, httpx.Response):
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s %s -> HTTP %s in %.3fs",
                        info.method,
                        info.url,
                        outcome.status_code,
                        time.perf_counter() - started,
                    )
                pause = self._response_failure(outcome, spec, info, retry)
                if pause is None:
                    return Answer(spec, outcome, info)
                delay = pause
            else:  # pragma: no cover - a driver bug, not a network condition
                raise TypeError(f"driver answered Send with {type(outcome).__name__}")
            retry += 1
            yield Sleep(delay)

    def _transport_failure(
        self, exc: httpx.TransportError, spec: RequestSpec, info: RequestInfo, retry: int
    ) -> float:
        """Seconds to wait before retrying after a network failure, or raise."""
        what = f"{type(exc).__name__}: {self.dialect.redact(str(exc)) or 'no details'}"
        cause = self._sanitized(exc)
        if isinstance(exc, _FATAL_ERRORS):
            raise TransportError(what, method=info.method, url=info.url) from cause
        if not spec.idempotent and not isinstance(exc, _NOT_SENT_ERRORS):
            raise AmbiguousWriteError(
                f"{what}; the request may have been applied, so it was not re-sent",
                method=info.method,
                url=info.url,
            ) from cause
        if retry >= self.retry.max_retries:
            raise TransportError(
                f"{what} (gave up after {retry + 1} attempts)", method=info.method, url=info.url
            ) from cause
        delay = self.retry.backoff(retry)
        log.warning(
            "%s %s failed (%s); retry %d of %d in %.2fs",
            info.method,
            info.url,
            what,
            retry + 1,
            self.retry.max_retries,
            delay,
        )
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
        self, response: httpx.Response, spec: RequestSpec, info: RequestInfo, retry: int
    ) -> float | None:
        """Seconds to wait before retrying this response, ``None`` to parse it as final, or raise."""
        status = response.status_code
        if not spec.idempotent and status >= 500:
            # A 5xx to a create does not say whether the create happened.
            err = self.dialect.error(response, info)
            raise AmbiguousWriteError(
                f"{err.message}; the request may have been applied, so it was not re-sent",
                status_code=status,
                method=info.method,
                url=info.url,
            )
        if not self.retry.retryable_status(status) or retry >= self.retry.max_retries:
            return None
        delay = self.retry.delay(retry, response)
        if delay is None:  # the server asked for a longer pause than we are willing to block
            return None
        if status == 429 and self.limiter is not None and "Retry-After" in response.headers:
            self.limiter.pause(delay)  # everyone sharing the budget backs off, not only us
        log.warning(
            "%s %s -> HTTP %s; retry %d of %d in %.2fs",
            info.method,
            info.url,
            status,
            retry + 1,
            self.retry.max_retries,
            delay,
        )
        return delay

    def _parse(self, answer: Answer, item_model: type[BaseModel] | None = None) -> Any:
        """The dialect's payload of a final response (see :meth:`Dialect.parse`)."""
        response, info = answer.response, answer.info
        if answer.spec.idempotent:
            return self.dialect.parse(response, info, item_model)
        try:
            return self.dialect.parse(response, info, item_model)
        except MalformedResponseError as exc:
            # The create was accepted (2xx) but its result is unreadable: it may well exist now.
            raise AmbiguousWriteError(
                f"{exc.message}; the request may have been applied",
                status_code=exc.status_code,
                method=info.method,
                url=info.url,
            ) from exc

    # -- drivers: the only places that do I/O ---------------------------------------------------

    def _drive(self, flow: Flow, abandoned: threading.Event | None = None) -> Answer:
        """Run a flow with blocking I/O.

        :param abandoned: set when nobody wants the result any more (a read-ahead of a walk the
            caller left): the flow stops before its next step, without retrying or logging.
        """
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
            if abandoned is not None and abandoned.is_set():
                flow.close()
                raise _Abandoned
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                answer: Answer = done.value
                return answer

    async def _adrive(self, flow: Flow) -> Answer:
        """Run a flow with async I/O."""
        step = next(flow)
        while True:
            outcome: Outcome = None
            if isinstance(step, Sleep):
                await self._asleep(step.seconds)
            else:
                try:
                    outcome = await self.async_client().send(step.request)
                except httpx.TransportError as exc:
                    outcome = exc
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                answer: Answer = done.value
                return answer


@dataclass
class _Walk:
    """One walk through a paged listing: each page's request, and reading each page's answer.

    Also refuses a page whose items repeat the previous page's: a server that ignores the
    paging fields serves page 1 forever, and a walk must end with an error, not loop.
    """

    core: HttpCore
    pager: Pager
    method: str
    path: str
    kwargs: dict[str, Any]
    item_model: type[BaseModel] | None
    last_ends: tuple[int, Any, Any] | None = None

    def spec(self, page: Page) -> RequestSpec:
        return self.core.page_spec(self.pager, page.fields, self.method, self.path, self.kwargs)

    def fetch(self, page: Page, cancel: threading.Event | None = None) -> Answer:
        """Request ``page`` (sync); ``cancel`` stops it early once nobody wants it."""
        return self.core._drive(self.core._flow(self.spec(page)), cancel)

    async def afetch(self, page: Page) -> Answer:
        """Request ``page`` (async)."""
        return await self.core._adrive(self.core._flow(self.spec(page)))

    def read(self, page: Page, answer: Answer) -> tuple[list[Any], Page | None]:
        """The page's items and the page that follows (``None``: done).

        :raises MalformedResponseError: no list of items, or the previous page's items again.
        """
        payload = self.core._parse(answer, self.item_model)
        try:
            items, following = self.pager.advance(page, payload)
        except PayloadShapeError as exc:
            raise self.core.malformed(answer.spec, str(exc)) from None
        ends = (len(items), items[0], items[-1]) if items else None
        if ends is not None and ends == self.last_ends:
            fields = ", ".join(sorted(page.fields))
            raise self.core.malformed(
                answer.spec,
                f"page {page.number} repeats page {page.number - 1}: the server ignores the paging "
                f"fields ({fields}), so the listing cannot be read to its end",
            )
        self.last_ends = ends
        return items, following


T = TypeVar("T")


class _ReadAhead(Generic[T]):
    """Runs a walk's page requests on one worker thread, ahead of the reader.

    Besides the pages the reader asks for, it bets: once page *N* has arrived and page *N-1* is
    known to have been full, it asks for ``bet(N)``, the page that follows a full page *N*,
    before anyone has decoded *N*. The worker places that bet itself, the moment the answer is
    in, so the server is already busy with the next page while the reader decodes this one.
    A walk that reaches page 2 therefore makes at most one request more than it needs (the bet
    on the page after the last, unless the walk ends before it leaves). It never runs more than
    two pages ahead of the reader, so memory stays flat however long the walk.

    :param fetch: performs one page's request; it must stop early once its ``cancel`` event is
        set (nobody wants that page any more).
    :param bet: the page that follows a given page if that page is full.
    """

    def __init__(self, fetch: Callable[[Page, threading.Event], T], bet: Callable[[Page], Page]) -> None:
        self._fetch = fetch
        self._bet = bet
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="altegio-read-ahead")
        self._lock = threading.Lock()
        self._in_flight: list[tuple[Page, Future[T], threading.Event]] = []
        self._read_through = 0  # the reader has read pages 1..this, all full
        self._closed = False

    def take(self, page: Page) -> T:
        """Wait for ``page``'s answer, asking for it if need be.

        :raises Exception: whatever the request raised.
        """
        with self._lock:
            future = self._start(page)
            self._in_flight = [entry for entry in self._in_flight if entry[0] != page]
        answer = future.result()
        self._place_bet(page)
        return answer

    def follow(self, page: Page) -> None:
        """``page`` comes next (so the one before it was full): ask for it, and drop any bet on
        another page."""
        with self._lock:
            self._read_through = page.number - 1
            for entry in [entry for entry in self._in_flight if entry[0] != page]:
                self._drop(*entry)
                self._in_flight.remove(entry)
            self._start(page)

    def close(self, *, settle: float = 0.0) -> None:
        """Drop every request in flight (none is retried).

        :param settle: seconds to wait for a request already sent to be answered, so that no
            request of this walk reaches the server after the walk is over (``0``: do not wait,
            for a caller that walked away and must not be held up).
        """
        with self._lock:
            self._closed = True
            started = []  # requests already on their way: the server will answer them
            for page, future, cancel in self._in_flight:
                if not self._drop(page, future, cancel):
                    started.append(future)
            self._in_flight = []
        self._pool.shutdown(wait=False, cancel_futures=True)
        if settle > 0 and started:
            wait(started, timeout=settle)

    def _start(self, page: Page) -> Future[T]:
        """The request for ``page``, started unless it is in flight (call with the lock held)."""
        for asked, future, _ in self._in_flight:
            if asked == page:
                return future
        cancel = threading.Event()
        future = self._pool.submit(self._run, page, cancel)
        self._in_flight.append((page, future, cancel))
        return future

    def _run(self, page: Page, cancel: threading.Event) -> T:
        answer = self._fetch(page, cancel)
        self._place_bet(page)
        return answer

    def _place_bet(self, page: Page) -> None:
        with self._lock:
            if not self._closed and page.number > 1 and self._read_through >= page.number - 1:
                self._start(self._bet(page))

    @staticmethod
    def _drop(page: Page, future: Future[T], cancel: threading.Event) -> bool:
        """Cancel one request; ``True`` if it never started."""
        cancel.set()
        return future.cancel()
