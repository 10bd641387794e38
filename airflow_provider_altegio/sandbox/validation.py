"""The sandbox's API error and the body reader that turns bad input into 422 ``meta.errors``.

Every handler raises :class:`ApiError`; the application turns it into the documented envelope
``{"success": false, "data": null, "meta": {"message": ..., "errors": {...}}}``. Nothing a client
sends may reach a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_altegio.sandbox.dates import DateParseError, parse_datetime

VALIDATION_MESSAGE = "The given data was invalid."
#: Largest magnitude a number may have: keeps sums finite (JSON has no infinity).
MAX_NUMBER = 1e12


class ApiError(Exception):
    """An error answer of the Altegio API: HTTP status, ``meta.message`` and ``meta.errors``."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers) if headers else {}


def not_found(what: str) -> ApiError:
    """404 for an unknown id."""
    return ApiError(404, f"{what} not found")


def invalid(field: str, message: str) -> ApiError:
    """422 for a single bad field."""
    return ApiError(422, VALIDATION_MESSAGE, {field: [message]})


class BodyReader:
    """Reads typed fields from a request body (or query) and collects per-field messages.

    Readers made with :meth:`child` share the error dict, so a whole body with nested lines is
    validated in one pass and reported in one 422 (keys like ``transactions.0.amount``).
    """

    def __init__(self, data: Mapping[str, Any], prefix: str = "", errors: dict[str, list[str]] | None = None):
        self.data = data
        self.prefix = prefix
        self.errors: dict[str, list[str]] = {} if errors is None else errors

    def child(self, data: Mapping[str, Any], prefix: str) -> BodyReader:
        """A reader for a nested object whose messages land in this reader's error dict."""
        return BodyReader(data, f"{self.prefix}{prefix}.", self.errors)

    def error(self, name: str, message: str) -> None:
        """Record ``message`` for field ``name``."""
        self.errors.setdefault(f"{self.prefix}{name}", []).append(message)

    def present(self, name: str) -> bool:
        """True when the field is given and not null/empty."""
        value = self.data.get(name)
        return value is not None and value != ""

    def _missing(self, name: str, required: bool) -> bool:
        if self.present(name):
            return False
        if required:
            self.error(name, f"The {name} field is required.")
        return True

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
    ) -> float | None:
        """A number (JSON number or numeric string); None when absent or invalid."""
        if self._missing(name, required):
            return None
        raw = self.data[name]
        value: float | None = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                value = None
        if value is None or value != value or abs(value) > MAX_NUMBER:
            self.error(name, f"The {name} must be a number between -{MAX_NUMBER:g} and {MAX_NUMBER:g}.")
            return None
        if positive and value <= 0:
            self.error(name, f"The {name} must be greater than 0.")
            return None
        if minimum is not None and value < minimum:
            self.error(name, f"The {name} must be at least {minimum:g}.")
            return None
        if maximum is not None and value > maximum:
            self.error(name, f"The {name} may not be greater than {maximum:g}.")
            return None
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        choices: Mapping[int, Any] | None = None,
    ) -> int | None:
        """An integer (number without fraction or digit string); None when absent or invalid."""
        value = self.number(name, required=required)
        if value is None:
            return None
        if not value.is_integer():
            self.error(name, f"The {name} must be an integer.")
            return None
        result = int(value)
        if minimum is not None and result < minimum:
            self.error(name, f"The {name} must be at least {minimum}.")
            return None
        if choices is not None and result not in choices:
            self.error(name, f"The selected {name} is invalid.")
            return None
        return result

    def text(self, name: str, *, required: bool = False, max_length: int = 255) -> str | None:
        """A string (numbers are accepted and converted); None when absent or invalid."""
        if self._missing(name, required):
            return None
        raw = self.data[name]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            self.error(name, f"The {name} must be a string.")
            return None
        value = str(raw)
        if len(value) > max_length:
            self.error(name, f"The {name} may not be greater than {max_length} characters.")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        """A boolean (true/false, 1/0, "true"/"false"); None when absent or invalid."""
        if self._missing(name, False):
            return None
        raw = self.data[name]
        if isinstance(raw, bool):
            return raw
        if raw in (0, 1, "0", "1", "true", "false"):
            return raw in (1, "1", "true")
        self.error(name, f"The {name} field must be true or false.")
        return None

    def datetime(
        self, name: str, tz: timezone, *, required: bool = False, end_of_day: bool = False
    ) -> datetime | None:
        """A date in any documented form, aware (naive input is read in ``tz``)."""
        if self._missing(name, required):
            return None
        raw = self.data[name]
        if not isinstance(raw, str):
            self.error(name, f"The {name} is not a valid date.")
            return None
        if raw.strip().strip("'\"") == "":
            return None
        try:
            return parse_datetime(raw, tz, end_of_day=end_of_day)
        except DateParseError:
            self.error(name, f"The {name} is not a valid date.")
            return None

    def raise_if_any(self) -> None:
        """Raise one 422 with every collected message."""
        if self.errors:
            raise ApiError(422, VALIDATION_MESSAGE, self.errors)
