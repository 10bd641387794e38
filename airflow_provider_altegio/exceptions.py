"""Errors raised by the Altegio provider.

:class:`InvalidRequestError` is bad caller input, raised before any request; Airflow does not
retry it. :class:`AltegioProviderError` and its subclasses say what a remote API (or the network
on the way) did, with the HTTP status and the API's own message, never a token or password.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_altegio.compat import AirflowException, AirflowFailException


class InvalidRequestError(ValueError, AirflowFailException):
    """Caller input that cannot be sent; raised before any request.

    Catch it as ``ValueError``. Airflow does not retry a task that raises it: the same input would
    fail the same way.

    :param field: dotted path of the offending input, e.g. ``transactions[0].amount``.
    :param problem: what is wrong with it, in plain words.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduce re-calls __init__ with args == (message,), which this two-argument
        # constructor cannot take; Airflow pickles task errors.
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
    :param url: URL of the request *without* its query string (Altacolor sends the password there).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.message = message
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
        prefix = ": ".join(part for part in (where, status) if part)
        return f"{prefix}: {self.message}" if prefix else self.message

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
    ) -> None:
        self.errors = dict(errors or {})
        super().__init__(message, status_code=status_code, method=method, url=url)

    def _describe(self) -> str:
        text = super()._describe()
        if self.errors:
            details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in self.errors.items())
            text = f"{text} ({details})"
        return text


class AltegioAuthError(AltegioAPIError, AirflowFailException):
    """401 or 403: the partner or user token is missing, wrong or lacks rights.

    Fails the task without Airflow retries: the same credentials would fail the same way.
    """


class AltegioNotFoundError(AltegioAPIError, AirflowFailException):
    """404: the location, product, category, storage or document does not exist.

    Fails the task without Airflow retries.
    """


class AltegioValidationError(AltegioAPIError, AirflowFailException):
    """400 or 422: the API rejected the request; ``errors`` says which fields.

    Fails the task without Airflow retries: the same request would be refused again.
    """


class AltegioRateLimitError(AltegioAPIError):
    """429 still returned after every retry was spent."""


class AltacolorAPIError(APIError):
    """The Altacolor API reported a ``response_status`` of severity ERROR (or an HTTP error).

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
    ) -> None:
        self.code = code
        self.severity = severity
        self.description = description
        message = f"{code} {severity}: {description}" if code is not None else description
        super().__init__(message, status_code=status_code, method=method, url=url)


class AltacolorAuthError(AltacolorAPIError, AirflowFailException):
    """30001 (authentication failed) or 31000 (API not enabled on the site).

    Fails the task without Airflow retries.
    """


class AltacolorNotFoundError(AltacolorAPIError, AirflowFailException):
    """40004: product id not found. Fails the task without Airflow retries."""


class AltacolorValidationError(AltacolorAPIError, AirflowFailException):
    """A 5000x code: the API refused the request itself (a missing or malformed condition).

    Fails the task without Airflow retries.
    """


class MalformedResponseError(APIError):
    """The body is not JSON, is truncated, or lacks the documented envelope.

    The message quotes the HTTP status and the first bytes of the body.
    """


class TransportError(APIError):
    """The network failed (connection refused, timeout, dropped) and retries were spent."""


class AmbiguousWriteError(APIError):
    """A request that creates something failed after it may have reached the server.

    The core never re-sends such a request blindly. Whoever sent it decides how to find out whether
    it took effect (the storage operation operator looks for its idempotency key).
    """


__all__ = [
    "APIError",
    "AltacolorAPIError",
    "AltacolorAuthError",
    "AltacolorNotFoundError",
    "AltacolorValidationError",
    "AltegioAPIError",
    "AltegioAuthError",
    "AltegioNotFoundError",
    "AltegioProviderError",
    "AltegioRateLimitError",
    "AltegioValidationError",
    "AmbiguousWriteError",
    "InvalidRequestError",
    "MalformedResponseError",
    "TransportError",
]
