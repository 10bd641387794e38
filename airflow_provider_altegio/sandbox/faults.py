"""Fault injection, the request log and the outermost ASGI layer that applies both.

A fault rule matches requests by method and path and changes what the next ``count`` matching
requests experience (after letting ``skip`` matching requests through):

* ``status`` (+ optional ``retry_after``): answer at once with that status and the Altegio error
  envelope; the request never reaches the API, so nothing changes.
* ``body``: ``"html"`` (an HTML error page, status default 502), ``"malformed"`` (non-JSON text,
  default 200), ``"success_false"`` (HTTP 200 with ``success: false``), ``"no_envelope"`` (HTTP 200
  JSON without the envelope), ``"empty"`` (no body) - none of these reach the API; and
  ``"truncated"``, which *does* run the request (the change is applied) and cuts the JSON body in
  half while keeping a valid HTTP message.
* ``delay``: sleep that many seconds first (alone: a slow but correct answer).
* ``drop="before"``: close the connection without an answer; nothing is applied.
  ``drop="after"``: apply the request, then close the connection instead of answering.
* ``shift_rows``: the paged Altegio listings move each page boundary by that many rows
  (positive: the last rows of a page come again at the start of the next; negative: rows at the
  boundary are never served), as a live client saw on date-filtered listings while rows
  changed under its walk. The request is otherwise answered normally.
* ``ignore_params``: a list of query parameters the API does not see, as behind a proxy or
  cache that strips them, or an API version that does not know them (``["page"]``: every page
  request gets page 1). The request is otherwise answered normally.

Paths match by glob when the pattern has ``*``, ``?`` or ``[``, else by path prefix (whole
segments); a pattern may omit the ``/api/v1`` prefix. Control paths (``/_sandbox``) never match.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTROL_PREFIX = "/_sandbox"
#: The ASGI scope key through which a ``shift_rows`` fault reaches the paged listings.
SHIFT_ROWS_SCOPE_KEY = "sandbox.shift_rows"
API_PREFIX = "/api/v1"
BODY_KINDS = ("error", "html", "malformed", "truncated", "success_false", "no_envelope", "empty")
DROP_KINDS = ("before", "after")
_DEFAULT_STATUS = {"error": 500, "html": 502}
_SECRET_KEYS = ("password", "username", "token")


@dataclass
class FaultRule:
    """One fault: which requests it matches and what happens to them."""

    id: int
    method: str
    path: str
    count: int | None = 1
    skip: int = 0
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    drop: str | None = None
    body: str | None = None
    message: str | None = None
    ignore_params: tuple[str, ...] = ()
    shift_rows: int = 0
    seen: int = 0
    applied: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the rule has affected ``count`` requests."""
        return self.count is not None and self.applied >= self.count

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to a request (ignoring its remaining count)."""
        if self.method not in ("*", method):
            return False
        candidates = [path]
        if path.startswith(API_PREFIX + "/"):
            candidates.append(path[len(API_PREFIX) :])
        pattern = self.path
        if any(ch in pattern for ch in "*?["):
            return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)
        prefix = pattern.rstrip("/")
        return any(c == prefix or c.startswith(prefix + "/") or not prefix for c in candidates)

    def to_api(self) -> dict[str, Any]:
        """The rule as the control API shows it (with ``remaining``)."""
        data = asdict(self)
        data["remaining"] = None if self.count is None else max(self.count - self.applied, 0)
        return data


def parse_rule(spec: Mapping[str, Any], rule_id: int) -> FaultRule:
    """Validate a fault specification from the control API.

    :raises ValueError: naming the offending field.
    """
    known = {
        "method",
        "path",
        "count",
        "skip",
        "status",
        "retry_after",
        "delay",
        "drop",
        "body",
        "message",
        "ignore_params",
        "shift_rows",
    }
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown fault field")
    method = str(spec.get("method") or "*").upper()
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("path: must be a string starting with '/'")
    count = spec.get("count", 1)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise ValueError("count: must be a positive integer or null (every matching request)")
    skip = spec.get("skip", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise ValueError("skip: must be a non-negative integer")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise ValueError("status: must be an HTTP status code")
    delay = spec.get("delay") or 0.0
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 600:
        raise ValueError("delay: must be a number of seconds between 0 and 600")
    drop, body = spec.get("drop"), spec.get("body")
    if drop is not None and drop not in DROP_KINDS:
        raise ValueError(f"drop: must be one of {', '.join(DROP_KINDS)}")
    if body is not None and body not in BODY_KINDS:
        raise ValueError(f"body: must be one of {', '.join(BODY_KINDS)}")
    if drop is not None and (status is not None or body is not None):
        raise ValueError("drop: cannot be combined with status or body")
    ignore_params = spec.get("ignore_params") or []
    if not isinstance(ignore_params, list) or not all(isinstance(p, str) and p for p in ignore_params):
        raise ValueError("ignore_params: must be a list of query parameter names")
    shift_rows = spec.get("shift_rows") or 0
    if not isinstance(shift_rows, int) or isinstance(shift_rows, bool) or not -100 <= shift_rows <= 100:
        raise ValueError("shift_rows: must be a whole number of rows between -100 and 100")
    if (
        status is None
        and body is None
        and drop is None
        and not delay
        and not ignore_params
        and not shift_rows
    ):
        raise ValueError("status: a fault needs status, body, drop, delay, ignore_params or shift_rows")
    retry_after = spec.get("retry_after")
    message = spec.get("message")
    return FaultRule(
        id=rule_id,
        method=method,
        path=path,
        count=count,
        skip=skip,
        status=status,
        retry_after=None if retry_after is None else str(retry_after),
        delay=float(delay),
        drop=drop,
        body=body,
        message=None if message is None else str(message),
        ignore_params=tuple(ignore_params),
        shift_rows=shift_rows,
    )


class FaultRegistry:
    """Thread-safe list of fault rules, consumed by the fault layer in order of creation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        #: Counts the resets: a request delayed across one belongs to the test before it.
        self.generation = 0

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """Validate and register a rule (``ValueError`` names the bad field)."""
        with self._lock:
            rule = parse_rule(spec, next(self._ids))
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: int) -> bool:
        """Remove one rule; False if there was none with that id."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def reset(self) -> None:
        """Remove every rule and start a new generation: requests still delayed from before are
        dropped when their delay ends, not applied to the fresh state."""
        with self._lock:
            self._rules = []
            self.generation += 1

    def list(self) -> list[dict[str, Any]]:
        """Every rule as the control API shows it."""
        with self._lock:
            return [r.to_api() for r in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request, counting it as seen/applied; None if none."""
        if path.startswith(CONTROL_PREFIX):
            return None
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(method, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                rule.applied += 1
                return rule
        return None


class RequestLog:
    """A bounded log of API requests (method, path, redacted query, status, fault applied)."""

    def __init__(self, size: int = 5000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, method: str, path: str, query: str) -> dict[str, Any]:
        """Record a request as it arrives; the returned entry is completed in place."""
        params = [
            (k, "***" if any(s in k.lower() for s in _SECRET_KEYS) else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "method": method,
            "path": path,
            "query": params,
            "status": None,
            "fault": None,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Logged requests, oldest first, filtered by method and path glob/prefix."""
        probe = FaultRule(0, (method or "*").upper(), path or "/")
        with self._lock:
            return [dict(e) for e in self._entries if probe.matches(e["method"], e["path"])]

    def clear(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._entries.clear()


def _error_body(message: str) -> bytes:
    return json.dumps({"success": False, "data": None, "meta": {"message": message}}).encode()


_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
    "{reason}</h1><p>{message}</p></center><hr><center>nginx</center></body></html>"
)


def fault_response(rule: FaultRule) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body a status/body fault answers with (without running the API)."""
    kind = rule.body or "error"
    status = rule.status or _DEFAULT_STATUS.get(kind, 200)
    message = rule.message or ("Too many requests" if status == 429 else "Injected fault")
    content_type = b"application/json"
    if kind == "html":
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        body = _HTML_PAGE.format(status=status, reason=reason, message=message).encode()
        content_type = b"text/html; charset=utf-8"
    elif kind == "malformed":
        body, content_type = b"<<sandbox: this is not JSON>>", b"text/plain"
    elif kind == "no_envelope":
        body = json.dumps({"result": "ok", "items": []}).encode()
    elif kind == "empty":
        body = b""
    else:
        body = _error_body(message)
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if rule.retry_after is not None:
        headers.append((b"retry-after", rule.retry_after.encode()))
    return status, headers, body


async def drop_connection(send: Send) -> None:
    """Close the client connection without an answer.

    uvicorn does not expose the transport in the ASGI scope, but its ``send`` is a bound method of
    the request cycle that owns it. Closing it and yielding until uvicorn notices the disconnect
    stops uvicorn from sending its own 500. Any other server gets an exception (a 500) instead.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: connection dropped")
    transport.close()
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)


class FaultLayer:
    """Outermost ASGI layer: logs API requests and applies the fault rules to them.

    It must wrap the whole application so that ``send`` is uvicorn's own (see
    :func:`drop_connection`).
    """

    def __init__(self, app: ASGIApp, registry: FaultRegistry, requests: RequestLog) -> None:
        self.app = app
        self.registry = registry
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        entry = self.requests.start(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")
        )

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        rule = self.registry.take(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, logged_send)
            return
        entry["fault"] = rule.id
        if rule.ignore_params:
            scope = {**scope, "query_string": _without_params(scope, rule.ignore_params)}
        if rule.shift_rows:
            scope = {**scope, SHIFT_ROWS_SCOPE_KEY: rule.shift_rows}
        if rule.delay or rule.drop is not None:
            # A slow server has the whole request before it is slow: read the body first, so a
            # client that gives up during the delay does not keep the request from being applied.
            # A drop reads it too: body bytes arriving after the close would make the kernel
            # answer with a reset instead of a clean close, and the client would see either.
            receive = await _buffered(receive)
        if rule.delay:
            generation = self.registry.generation
            await asyncio.sleep(rule.delay)
            if self.registry.generation != generation:  # reset meanwhile: never touch the fresh state
                entry["status"] = "dropped"
                await drop_connection(send)
                return
        if rule.drop is not None:
            if rule.drop == "after":
                await self.app(scope, receive, _discard)
            entry["status"] = "dropped"
            await drop_connection(send)
        elif rule.body == "truncated":
            await self._truncated(scope, receive, logged_send)
        elif rule.status is not None or rule.body is not None:
            status, headers, body = fault_response(rule)
            await logged_send({"type": "http.response.start", "status": status, "headers": headers})
            await logged_send({"type": "http.response.body", "body": body})
        else:
            await self.app(scope, receive, logged_send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        captured: dict[str, Any] = {"status": 200, "headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")

        await self.app(scope, receive, capture)
        body = captured["body"][: max(len(captured["body"]) // 2, 1)]
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": captured["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _without_params(scope: Scope, names: tuple[str, ...]) -> bytes:
    """The request's query string with the parameters ``names`` removed."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k not in names]).encode("latin-1")


async def _buffered(receive: Receive) -> Receive:
    """Read the request body now; the returned ``receive`` replays it, then waits as before."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _discard(message: Message) -> None:
    """A ``send`` that throws the answer away (the "after" drop)."""
    del message
