"""Errors raised by the Altegio provider: :class:`InvalidRequestError` for bad caller input, and
:class:`AltegioProviderError` subclasses for what a remote API (or the network) did, with the
HTTP status and the API's own message, never a token or password.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_altegio.compat import AirflowException, AirflowFailException


class InvalidRequestError(ValueError, AirflowFailException):
    """Caller input that cannot be sent; raised before any request (a ``ValueError``; Airflow does
    not retry the task).

    :param field: dotted path of the offending input, e.g. ``transactions[0].amount``.
    :param problem: what is wrong with it, in plain words.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)

    def __reduce__(self) -> tuple[Any, ...]:
        # Airflow pickles task errors; the default would call __init__ with the message alone.
        return (type(self), (self.field, self.problem))

    def serialize(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """Airflow's exception serialisation: rebuildable from the two constructor arguments."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", (self.field, self.problem), {}


class AltegioProviderError(AirflowException):
    """Base class of every error this provider raises about a remote API."""


class APIError(AltegioProviderError):
    """A request reached (or tried to reach) an API and did not succeed.

    :param message: the API's own message, or a description of what went wrong.
    :param status_code: HTTP status, when a response was received.
    :param method: HTTP method of the request.
    :param url: URL of the request *without* its query string (where Altacolor sends the password).
    :param hint: what to check or change to fix it, shown after the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.hint = hint
        # AirflowException declares a class-level HTTPStatus; ours is the API's status, if any.
        self.status_code = status_code  # type: ignore[assignment]
        self.method = method
        self.url = url
        self.connection_id: str | None = None
        super().__init__(self._describe())

    def on_connection(self, connection_id: str | None) -> APIError:
        """This error, its message naming the Airflow connection the request was made through."""
        if connection_id and self.connection_id is None:
            self.connection_id = connection_id
            self.args = (self._describe(),)
        return self

    def _describe(self) -> str:
        where = " ".join(part for part in (self.method, self.url) if part)
        if getattr(self, "connection_id", None):
            where = f"{where} (connection {self.connection_id!r})".lstrip()
        status = f"HTTP {self.status_code}" if self.status_code is not None else ""
        prefix = ": ".join(part for part in (where, self._status(status)) if part)
        text = f"{prefix}: {self.message}" if prefix else self.message
        return f"{text} ({self.hint})" if getattr(self, "hint", None) else text

    def _status(self, http: str) -> str:
        """How the answer's status is named in the message (``HTTP 404``)."""
        return http

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not pickle by default; Airflow pickles task errors.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[APIError], state: dict[str, Any]) -> APIError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._describe())
    return err


class AltegioAPIError(APIError):
    """The Altegio API answered with an error, or with ``success: false`` under HTTP 200.

    :param errors: ``meta.errors`` as a mapping of field name to messages (empty when absent).
    """

    def __init__(
        self,
        message: str,
        *,
        errors: dict[str, list[str]] | None = None,
        status_code: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.errors = dict(errors or {})
        super().__init__(message, status_code=status_code, method=method, url=url, hint=hint)

    def _describe(self) -> str:
        text = super()._describe()
        if self.errors:
            details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in self.errors.items())
            text = f"{text} ({details})"
        return text


class AltegioAuthError(AltegioAPIError, AirflowFailException):
    """401 or 403: the partner or user token is missing, wrong or lacks rights (not retried)."""


class AltegioNotFoundError(AltegioAPIError, AirflowFailException):
    """404: the location, product, category, storage or document does not exist (not retried)."""


class AltegioValidationError(AltegioAPIError, AirflowFailException):
    """400 or 422: the API rejected the request; ``errors`` says which fields (not retried)."""


class AltegioRateLimitError(AltegioAPIError):
    """429 still returned after every retry was spent."""


#: What Altacolor's (DecoNetwork's) documented ``response_status`` codes mean.
ALTACOLOR_CODES = {
    10001: "success",
    30001: "authentication failed",
    31000: "the API is not enabled on the store",
    40004: "product not found",
    50002: "no conditions specified",
    50003: "invalid condition",
    50004: "invalid limit or offset",
    50005: "invalid request parameters",
}


class AltacolorAPIError(APIError):
    """The Altacolor API reported an error ``response_status`` (or an HTTP error).

    Its message names the API's code and what it means (``Altacolor 30001 (authentication
    failed): ...``), not the HTTP status the answer came with (often 200).

    :param code: the ``response_status`` code (30001 auth, 31000 not enabled, 5000x bad request).
    :param severity: ``SUCCESS``, ``WARNING`` or ``ERROR``.
    :param description: the API's description of the status.
    """

    def __init__(
        self,
        description: str,
        *,
        code: int | None = None,
        severity: str | None = None,
        status_code: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.code = code
        self.severity = severity
        self.description = description
        super().__init__(description, status_code=status_code, method=method, url=url, hint=hint)

    def _status(self, http: str) -> str:
        if self.code is None:
            return http
        meaning = ALTACOLOR_CODES.get(self.code, "an undocumented code")
        failed = f", {http}" if self.status_code is not None and self.status_code >= 400 else ""
        return f"Altacolor {self.code} ({meaning}{failed})"


class AltacolorAuthError(AltacolorAPIError, AirflowFailException):
    """30001 (authentication failed) or 31000 (API not enabled on the site); not retried."""


class AltacolorNotFoundError(AltacolorAPIError, AirflowFailException):
    """40004: product id not found (not retried)."""


class AltacolorValidationError(AltacolorAPIError, AirflowFailException):
    """A 5000x code: the API refused the request (a missing or malformed condition); not retried."""


class MalformedResponseError(APIError):
    """The body is not JSON, is truncated, or lacks the documented envelope."""


class TransportError(APIError):
    """The network failed (connection refused, timeout, dropped) and retries were spent."""


class AmbiguousWriteError(APIError):
    """A request that creates something failed after it may have reached the server; it is never
    re-sent blindly (the booking service looks for its idempotency key instead)."""
