"""What the two APIs do differently, for :class:`~airflow_provider_altegio.core.http.HttpCore`.

* :class:`AltegioDialect`: ``Authorization: Bearer <partner>, User <user>``; the
  ``{success, data, meta}`` envelope, where ``success: false`` under HTTP 200 is an error.
* :class:`AltacolorDialect`: ``username``/``password`` in the query (GET) or the form (POST);
  every body carries ``response_status``, which says whether the call succeeded.

Both answer a :class:`Payload` and keep their credentials out of every message they build.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.core.secrets import Secrets
from airflow_provider_altegio.core.types import Payload, RequestInfo, RequestSpec
from airflow_provider_altegio.exceptions import (
    ALTACOLOR_CODES,
    AltacolorAPIError,
    AltacolorAuthError,
    AltacolorNotFoundError,
    AltacolorValidationError,
    AltegioAPIError,
    AltegioAuthError,
    AltegioNotFoundError,
    AltegioRateLimitError,
    AltegioValidationError,
    APIError,
    MalformedResponseError,
)
from airflow_provider_altegio.values import to_int

if TYPE_CHECKING:
    import httpx

SNIPPET_BYTES = 200


def _text(value: Any) -> str:
    """A message field as text, whatever JSON type the server chose."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (list, tuple)):
        return "; ".join(t for t in (_text(v) for v in value) if t)
    return str(value)


def _code(value: Any) -> int | None:
    try:
        return None if isinstance(value, bool) else to_int(value)
    except ValueError:
        return None


def normalize_errors(raw: Any) -> dict[str, list[str]]:
    """``meta.errors`` as ``{field: [messages]}`` whatever shape the server sent.

    Documented as field -> list of messages; also seen as field -> message, a list of messages,
    or a list of ``{"field", "message"}`` objects.
    """
    if isinstance(raw, Mapping):
        out: dict[str, list[str]] = {}
        for field, msgs in raw.items():
            if isinstance(msgs, (list, tuple)):
                out[str(field)] = [_text(m) for m in msgs if _text(m)]
            elif isinstance(msgs, Mapping):
                out.update({f"{field}.{k}": v for k, v in normalize_errors(msgs).items()})
            elif _text(msgs):
                out[str(field)] = [_text(msgs)]
        return out
    if isinstance(raw, (list, tuple)):
        out = {}
        for item in raw:
            if isinstance(item, Mapping):
                field = _text(item.get("field") or item.get("name") or "")
                message = _text(item.get("message") or item.get("error") or "")
                if message:
                    out.setdefault(field, []).append(message)
            elif _text(item):
                out.setdefault("", []).append(_text(item))
        return out
    if _text(raw):
        return {"": [_text(raw)]}
    return {}


class _DialectBase:
    """Secrets, body snippets and JSON decoding, shared by both dialects."""

    name = "api"

    def __init__(self, *secrets: str | None) -> None:
        self.secrets = Secrets(*secrets)

    def redact(self, text: str) -> str:
        """``text`` with every secret this dialect sends replaced by ``***``."""
        return self.secrets.redact(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def snippet(self, response: httpx.Response) -> str:
        """The first bytes of the body, decoded leniently and with secrets masked."""
        raw = response.content[:SNIPPET_BYTES]
        return self.redact(raw.decode(response.encoding or "utf-8", errors="replace"))

    def malformed(self, response: httpx.Response, info: RequestInfo, problem: str) -> MalformedResponseError:
        """A :class:`MalformedResponseError` quoting the status and the first bytes of the body."""
        return MalformedResponseError(
            f"{problem}; body starts with {self.snippet(response)!r}",
            status_code=response.status_code,
            method=info.method,
            url=info.url,
        )

    @staticmethod
    def json_body(response: httpx.Response) -> tuple[bool, Any]:
        """``(True, body)`` when the body is JSON, else ``(False, None)``. Never raises."""
        try:
            return True, json.loads(response.content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False, None


_ALTEGIO_ERRORS: dict[int, type[AltegioAPIError]] = {
    400: AltegioValidationError,
    401: AltegioAuthError,
    403: AltegioAuthError,
    404: AltegioNotFoundError,
    422: AltegioValidationError,
    429: AltegioRateLimitError,
}


class AltegioDialect(_DialectBase):
    """Altegio (and YCLIENTS) B2B v1: headers auth and the ``{success, data, meta}`` envelope.

    :param partner_token: the partner (developer) token, always sent.
    :param user_token: the user token, sent after ``User`` when known; :meth:`set_user_token`
        fills it in after ``POST /auth``.
    :param password: the connection's password (never sent here, but never shown either).
    :param can_log_in: whether the connection has a login and password for ``POST /auth``.
    """

    name = "altegio"
    ACCEPT = "application/vnd.api.v2+json"

    def __init__(
        self,
        partner_token: str,
        user_token: str | None = None,
        *,
        password: str | None = None,
        can_log_in: bool = False,
    ) -> None:
        self._partner_token = partner_token
        self._user_token = user_token or None
        self._can_log_in = can_log_in
        super().__init__(partner_token, self._user_token, password, self.authorization())

    @property
    def has_user_token(self) -> bool:
        """Whether requests carry a user token."""
        return self._user_token is not None

    def set_user_token(self, token: str) -> str:
        """Use ``token`` from now on; returns the new ``Authorization`` value (to mask it)."""
        self._user_token = token
        auth = self.authorization()
        self.secrets.add(token, auth)
        return auth

    def authorization(self) -> str:
        """The ``Authorization`` header value (a secret)."""
        if self._user_token:
            return f"Bearer {self._partner_token}, User {self._user_token}"
        return f"Bearer {self._partner_token}"

    def prepare(self, spec: RequestSpec) -> RequestSpec:
        headers = {"Accept": self.ACCEPT, "Authorization": self.authorization(), **spec.headers}
        return replace(spec, headers=headers)

    def parse(self, response: httpx.Response, info: RequestInfo) -> Payload:
        """The envelope's ``data`` and ``meta``.

        :raises AltegioAPIError: an HTTP error or ``success: false`` (subclass by status).
        :raises MalformedResponseError: a 2xx body that is not the JSON envelope.
        """
        if response.status_code >= 400:
            raise self.error(response, info)
        if not response.content.strip():
            if response.status_code in (202, 204) or info.method == "DELETE":
                return Payload(None)
            raise self.malformed(response, info, "empty body")
        ok, body = self.json_body(response)
        if not ok:
            raise self.malformed(response, info, "body is not JSON (or is truncated)")
        if isinstance(body, Mapping) and "errors" in body and "data" not in body:
            # {"errors": {"code", "message"}, "meta": {}}: an error whatever the status says.
            raise self._error_from_body(response.status_code, body, info, "errors")
        if not isinstance(body, Mapping) or not ({"success", "data"} & body.keys()):
            raise self.malformed(response, info, "body lacks the {success, data, meta} envelope")
        if body.get("success") in (False, 0, "false", "0"):
            raise self._error_from_body(response.status_code, body, info, "success: false")
        return Payload(body.get("data"), body.get("meta"))

    def error(self, response: httpx.Response, info: RequestInfo) -> APIError:
        """The typed exception describing a failed response (not raised)."""
        ok, body = self.json_body(response)
        if ok and isinstance(body, Mapping):
            return self._error_from_body(response.status_code, body, info, f"HTTP {response.status_code}")
        text = self.snippet(response).strip()
        message = f"non-JSON error body: {text!r}" if text else "empty error body"
        cls = _ALTEGIO_ERRORS.get(response.status_code, AltegioAPIError)
        hint = self._hint(response.status_code, info)
        return cls(message, status_code=response.status_code, method=info.method, url=info.url, hint=hint)

    def _hint(self, status: int, info: RequestInfo) -> str | None:
        """What to check when the API refuses the credentials (401) or the location (403)."""
        if status == 401 and not self.has_user_token and not self._can_log_in:
            return (
                "the connection has no user_token extra and no login and password, so only the "
                "partner token was sent"
            )
        if status == 401:
            # The API's answer is the same whichever token it refused, so both are named.
            return (
                "the API refused the credentials: check the connection's partner_token extra and "
                "its user_token extra (or the login and password it gets a user token with)"
            )
        if status == 403:
            location = next((part for part in info.url.split("/") if part.isdigit()), None)
            which = f"location {location}" if location else "this location"
            return (
                f"the user may not manage {which}: the partner token sees it, but the user token has "
                "no rights to it (GET /companies?my=1 lists the locations the user may manage)"
            )
        return None

    def _error_from_body(
        self, status: int, body: Mapping[str, Any], info: RequestInfo, fallback: str
    ) -> AltegioAPIError:
        meta = body.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        message = _text(meta.get("message")) or _text(body.get("message")) or _text(body.get("error"))
        raw_errors = meta.get("errors") if "errors" in meta else body.get("errors")
        if (
            isinstance(raw_errors, Mapping)
            and "message" in raw_errors
            and raw_errors.keys() <= {"code", "message"}
        ):
            # One error object, not field errors: {"errors": {"code": 400, "message": "..."}}.
            message = message or _text(raw_errors.get("message"))
            raw_errors = None
        errors = normalize_errors(raw_errors)
        cls = _ALTEGIO_ERRORS.get(status, AltegioAPIError)
        return cls(
            self.redact(message or fallback),
            errors={self.redact(k): [self.redact(m) for m in v] for k, v in errors.items()},
            status_code=status,
            method=info.method,
            url=info.url,
            hint=self._hint(status, info),
        )


class AltacolorDialect(_DialectBase):
    """Altacolor (DecoNetwork) Product Management API: credentials in query or form, ``response_status``.

    :param username: API username.
    :param password: API password (a secret; it travels in the query string on GET).
    """

    name = "altacolor"
    AUTH_CODES = frozenset({30001, 31000})
    NOT_FOUND_CODE = 40004
    SUCCESS_CODE = 10001
    #: 5000x: the request itself is refused (no condition, a malformed date...).
    VALIDATION_CODES = range(50000, 51000)

    def __init__(self, username: str, password: str) -> None:
        super().__init__(password)
        self._username = username
        self._password = password

    def prepare(self, spec: RequestSpec) -> RequestSpec:
        creds = {"username": self._username, "password": self._password}
        if spec.method == "GET":
            params = spec.params or {}
            pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
            return replace(spec, params=[*pairs, *creds.items()])
        return replace(spec, data={**(spec.data or {}), **creds})

    def parse(self, response: httpx.Response, info: RequestInfo) -> Payload:
        """The whole body and its ``response_status``, once that reports success.

        :raises AltacolorAuthError: code 30001 or 31000 (or HTTP 401/403 without a status).
        :raises AltacolorNotFoundError: code 40004.
        :raises AltacolorAPIError: severity ERROR, or an HTTP error.
        :raises MalformedResponseError: a 2xx body that is not JSON with ``response_status``.
        """
        ok, body = self.json_body(response)
        status = body.get("response_status") if ok and isinstance(body, Mapping) else None
        if not isinstance(status, Mapping):
            if response.status_code >= 400:
                raise self._http_error(response, info)
            if not ok:
                raise self.malformed(response, info, "body is not JSON (or is truncated)")
            raise self.malformed(response, info, "body lacks 'response_status'")
        err = self._status_error(status, response, info, body)
        if err is not None:
            raise err
        return Payload(dict(body), status)

    def error(self, response: httpx.Response, info: RequestInfo) -> APIError:
        """The typed exception describing a failed response (not raised)."""
        ok, body = self.json_body(response)
        status = body.get("response_status") if ok and isinstance(body, Mapping) else None
        err = self._status_error(status, response, info, body) if isinstance(status, Mapping) else None
        return err if err is not None else self._http_error(response, info)

    def _status_error(
        self, status: Mapping[str, Any], response: httpx.Response, info: RequestInfo, body: Mapping[str, Any]
    ) -> AltacolorAPIError | None:
        """The error a ``response_status`` describes, or ``None`` when it reports success.

        40004 (a WARNING) is "not found" only when the answer carries no product at all: an
        ``ids=`` lookup where some ids exist answers 40004 *with* the products it found, and
        those are results, not an error.
        """
        code = _code(status.get("code", status.get("status_code")))
        severity = _text(status.get("severity")).upper()
        description = self.redact(_text(status.get("description")) or _text(status.get("message")))
        cls: type[AltacolorAPIError]
        if code in self.AUTH_CODES:
            cls = AltacolorAuthError
        elif code == self.NOT_FOUND_CODE:
            if severity != "ERROR" and (body.get("products") or body.get("product")):
                return None  # partial results
            cls = AltacolorNotFoundError
        elif code in self.VALIDATION_CODES:
            cls = AltacolorValidationError
        elif code is not None and code != self.SUCCESS_CODE:
            # The code decides, not the severity, which DecoNetwork's schema leaves optional.
            cls = AltacolorAPIError
        elif severity == "ERROR" or response.status_code >= 400:
            cls = AltacolorAuthError if response.status_code in (401, 403) else AltacolorAPIError
        else:
            return None
        checks = "the login (API username) and password of the connection, and that the store has the API on"
        return cls(
            description or ALTACOLOR_CODES.get(code or 0) or f"HTTP {response.status_code}",
            code=code,
            severity=severity or None,
            status_code=response.status_code,
            method=info.method,
            url=info.url,
            hint=f"check {checks}" if cls is AltacolorAuthError else None,
        )

    def _http_error(self, response: httpx.Response, info: RequestInfo) -> AltacolorAPIError:
        text = self.snippet(response).strip()
        cls = AltacolorAuthError if response.status_code in (401, 403) else AltacolorAPIError
        return cls(
            f"HTTP {response.status_code}: {text!r}" if text else f"HTTP {response.status_code}",
            status_code=response.status_code,
            method=info.method,
            url=info.url,
        )
