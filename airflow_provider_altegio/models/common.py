"""Bases, tolerant field types and date helpers shared by the Altegio and Altacolor models.

:class:`ApiModel` reads what an API sends, tolerantly; :class:`RequestModel` checks what a caller
wants to send, strictly, raising :class:`InvalidRequestError` naming the field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from airflow_provider_altegio.exceptions import InvalidRequestError as InvalidRequestError  # re-exported
from airflow_provider_altegio.values import short, to_bool, to_float, to_int

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails
    from typing_extensions import Self


# -- Dates: every form the documents show, and no other: "2026-01-01T12:00:00-0500", "...-05:00",
# "2026-09-21T23:00:00.000-05:00", "2017-01-01T12:00:00" and "2017-04-25 21:50:01"
# (datetime.fromisoformat() reads a different set on each Python version).
_DATETIME_RE = re.compile(
    r"""^\s*
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:[Tt\s]+
        (?P<hour>\d{2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
    )?
    \s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    \s*$""",
    re.VERBOSE,
)
_ZERO_DATE = "0000-00-00"


@functools.lru_cache(maxsize=64)  # a catalogue carries a handful of offsets
def _tz_from_text(text: str) -> timezone:
    if text in ("Z", "z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=minutes))


def _datetime_from_text(text: str) -> datetime:
    """Read a date-time string in any documented form; the result may be naive."""
    match = _DATETIME_RE.match(text)
    if match is None:
        raise ValueError(f"must be a date and time such as 2026-01-01T12:00:00-0500, got {short(text)}")
    parts = match.groupdict()
    fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=_tz_from_text(parts["tz"]) if parts["tz"] else None,
        )
    except ValueError as exc:  # e.g. month 13, or an offset of 25 hours
        raise ValueError(f"is not a valid date and time ({exc}), got {short(text)}") from None


def parse_api_datetime(value: Any, *, naive_as: tzinfo | None = timezone.utc) -> datetime:
    """Read a ``datetime``, a ``date`` (midnight), a Unix timestamp, or an ISO-8601 string in any
    form the Altegio and Altacolor documents show. A value without an offset is taken to be in
    ``naive_as`` (``None``: it stays naive, for the caller to place).

    :raises ValueError: the value is not a date in any of those forms.
    """
    if isinstance(value, str):
        result = _datetime_from_text(value.strip())
    elif isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(to_float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond what the platform's time_t holds
            raise ValueError(f"is not a valid Unix timestamp, got {short(value)}") from None
    else:
        raise ValueError(f"must be a date and time, got {type(value).__name__}")
    if (result.tzinfo is None or result.utcoffset() is None) and naive_as is not None:
        result = result.replace(tzinfo=naive_as)
    return result


def format_altegio_datetime(value: datetime | date | str) -> str:
    """Format a date for Altegio query filters (``changed_after``...) as the API writes dates:
    ``2026-01-01T12:00:00-0500``, the offset kept (a naive value is UTC).

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_altegio_document_date(value: datetime) -> str:
    """Format the ``create_date`` of a storage operation: ``2026-09-21T23:00:00.000-05:00``.

    :raises ValueError: a naive value (its zone is the location's: place it first).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("create_date has no time zone; place it in the location's zone first")
    return value.isoformat(timespec="milliseconds")


def format_altacolor_datetime(value: datetime | date | str) -> str:
    """Format a date for Altacolor search conditions: UTC, ``YYYY-MM-DDTHH:MM:SS``, no offset.

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# -- Tolerant field types of responses. PHP writes "nothing" as "", [] or {}, and MySQL a missing
# date as "0000-00-00...". Each type below says what it makes of them.


def _empty(value: Any) -> bool:
    return value.__class__ in (str, list, dict) and not value


def _attempt(read: Callable[[Any], Any], value: Any) -> Any:
    """``read(value)``, or ``value`` as it came for strict pydantic to refuse."""
    try:
        return read(value)
    except ValueError:
        return value


def _tolerant(read: Callable[[Any], Any], *, ready: tuple[type, ...] = ()) -> BeforeValidator:
    """Empty placeholders read as ``None``; other values, unless their exact type is in ``ready``,
    are read with :func:`_attempt`."""

    def before(value: Any) -> Any:
        if value.__class__ in ready:
            return value
        return None if _empty(value) else _attempt(read, value)

    return BeforeValidator(before)


def _api_bool(value: Any) -> bool:
    # The API is PHP: any number other than 0 is true there.
    return value != 0 if value.__class__ in (int, float) else to_bool(value)


def _dates(naive_as: tzinfo | None) -> BeforeValidator:
    def before(value: Any) -> Any:
        if _empty(value) or (value.__class__ is str and value.startswith(_ZERO_DATE)):
            return None
        return parse_api_datetime(value, naive_as=naive_as)

    return BeforeValidator(before)


T = TypeVar("T")
_INT = _tolerant(to_int, ready=(int,))
_FLOAT = _tolerant(to_float, ready=(float, int))
_BOOL = _tolerant(_api_bool, ready=(bool,))
_STR = BeforeValidator(lambda v: None if v.__class__ in (list, dict) and not v else v)
_UTC_DATES = _dates(timezone.utc)
_LOCAL_DATES = _dates(None)

# Required fields: a placeholder fails them. Numbers may come as text ("1 050", "1,5"), booleans
# as numbers or words, text as a JSON number (ApiModel turns numbers into text).
LooseInt = Annotated[int, _INT]
LooseFloat = Annotated[float, _FLOAT]
LooseBool = Annotated[bool, _BOOL]
LooseStr = Annotated[str, _STR]
LooseDatetime = Annotated[datetime, _UTC_DATES]
"""An aware ``datetime`` read from any documented form (see :func:`parse_api_datetime`); a
value without an offset is UTC (Altacolor's documented form)."""
LocalDatetime = Annotated[datetime, _LOCAL_DATES]
"""A ``datetime`` of an Altegio answer: aware when the API writes an offset; without one it is
the location's wall-clock time and stays naive."""
LooseList = Annotated[
    list[T], BeforeValidator(lambda v: [] if v is None or (v.__class__ is dict and not v) else v)
]
"""A list that may arrive as ``null`` or as ``{}`` (PHP's empty array)."""
Required = Annotated[T, BeforeValidator(lambda v: {} if _empty(v) else v)]
"""A required nested object; a placeholder reads as the object with no fields."""

# Optional fields (default ``None``): a placeholder reads as ``None`` ("" stays text in MaybeStr).
MaybeInt = Annotated[Optional[int], _INT]  # noqa: UP045 - pydantic reads it at runtime
MaybeFloat = Annotated[Optional[float], _FLOAT]  # noqa: UP045
MaybeBool = Annotated[Optional[bool], _BOOL]  # noqa: UP045
MaybeStr = Annotated[Optional[str], _STR]  # noqa: UP045
MaybeDatetime = Annotated[Optional[datetime], _UTC_DATES]  # noqa: UP045
MaybeLocalDatetime = Annotated[Optional[datetime], _LOCAL_DATES]  # noqa: UP045
Nested = Annotated[Optional[T], BeforeValidator(lambda v: None if _empty(v) else v)]  # noqa: UP045
"""An optional nested object, e.g. ``Nested[EntityRef]``."""

RequestInt = Annotated[int, BeforeValidator(lambda v: _attempt(to_int, v) if v.__class__ is str else v)]
"""An ``int`` for requests that also takes a whole number as text (a rendered template)."""
RequestFloat = Annotated[float, BeforeValidator(lambda v: _attempt(to_float, v) if v.__class__ is str else v)]
"""A number for requests that also takes a number as text."""
RequestBool = Annotated[bool, BeforeValidator(lambda v: _attempt(to_bool, v))]
"""A ``bool`` for requests that also takes ``"true"``/``"false"``, ``0``/``1``."""
RequestDatetime = Annotated[datetime, BeforeValidator(parse_api_datetime)]
"""A ``datetime`` for requests: a datetime, a date, or a string in any documented form."""
RequestLocalDatetime = Annotated[datetime, BeforeValidator(lambda v: parse_api_datetime(v, naive_as=None))]
"""As :data:`RequestDatetime`, but a value without an offset stays naive (the location's
wall-clock time, placed in its zone by the hook)."""


class ApiModel(BaseModel):
    """Base of every model read from an API response: tolerant (unknown fields kept, numbers may
    come as strings, the field types above read PHP's placeholders)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with the API's field names, unknown fields included (for XCom)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


class EntityRef(ApiModel):
    """A nested reference such as ``good``, ``storage``, ``unit``, ``master`` (its ``name``) or
    ``client``."""

    id: MaybeInt = None
    title: MaybeStr = None
    name: MaybeStr = None


class RequestModel(BaseModel):
    """Base of every model sent to an API: strict, unknown fields refused, values not coerced
    (beyond the explicit ``Request*`` types). Build one with :meth:`from_input`."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    @classmethod
    def from_input(cls, data: Any, *, prefix: str = "") -> Self:
        """The request from a mapping given by a caller (an instance is returned as is).

        :param prefix: put before every field path in errors, e.g. ``"operation"``.
        :raises InvalidRequestError: ``data`` is not a mapping, or a field is missing, unknown or
            invalid (``field`` is its path, e.g. ``transactions[0].amount``).
        """
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise InvalidRequestError(
                prefix or cls.__name__,
                f"must be a mapping of field names to values, got {type(data).__name__}",
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise invalid_request_from_pydantic(exc, prefix) from exc

    def to_api(self) -> dict[str, Any]:
        """The body in the API's documented shape (fields left unset are not sent)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# -- pydantic errors -> InvalidRequestError

_PLAIN_PROBLEMS: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request accepts",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be {ge} or more",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be {le} or less",
    "multiple_of": "must be a multiple of {multiple_of}",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    **dict.fromkeys(("float_type", "float_parsing"), "must be a number"),
    "finite_number": "must be a finite number",
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    "string_type": "must be text",
    "string_too_long": "must be at most {max_length} characters long",
    **dict.fromkeys(("datetime_type", "datetime_parsing"), "must be a date and time"),
    "list_type": "must be a list",
    "too_long": "must have at most {max_length} items",
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "must be a mapping"),
    **dict.fromkeys(("literal_error", "enum"), "must be one of {expected}"),
    "is_instance_of": "has the wrong type",
}
# For these the input is the whole parent mapping or the unwanted value: not worth quoting.
_NO_GOT = frozenset({"missing", "extra_forbidden", "model_type", "model_attributes_type", "dict_type"})


def _plain_number(value: Any) -> Any:
    # "greater than 0", not "greater than 0.0".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _join_path(head: str, tail: str) -> str:
    if not head or not tail:
        return head or tail
    return f"{head}{tail}" if tail.startswith("[") else f"{head}.{tail}"


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path = _join_path(path, f"[{part}]" if isinstance(part, int) else str(part))
    return path


def _describe_error(error: ErrorDetails) -> tuple[str, str]:
    """Field path and plain-words problem for one pydantic error."""
    path = _loc_to_path(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, InvalidRequestError):
        # Raised by our own validators; its field is relative to where it was raised.
        field = path if path == cause.field or path.endswith("." + cause.field) else None
        return (field or _join_path(path, cause.field)), cause.problem
    if kind in ("too_short", "string_too_short"):
        minimum = ctx.get("min_length", 1)
        if minimum == 1:
            return path, "must not be empty"
        unit = "characters" if kind == "string_too_short" else "items"
        return path, f"must have at least {minimum} {unit}"
    template = _PLAIN_PROBLEMS.get(kind)
    if template is None:
        problem = error["msg"]
        for noise in ("Value error, ", "Assertion failed, "):
            problem = problem.removeprefix(noise)
        return path, problem
    try:
        problem = template.format(**{key: _plain_number(value) for key, value in ctx.items()})
    except (KeyError, IndexError):
        problem = template.split(" {", 1)[0]
    value = error.get("input")
    if kind not in _NO_GOT and isinstance(value, (str, int, float, bool, type(None))):
        problem = f"{problem}, got {short(value)}"
    return path, problem


def invalid_request_from_pydantic(exc: ValidationError, prefix: str = "") -> InvalidRequestError:
    """Turn a pydantic ``ValidationError`` into an :class:`InvalidRequestError` whose ``field`` is
    the path of the first problem (``transactions[0].amount``, after ``prefix``), in plain words,
    any further problems listed after it."""
    described = [_describe_error(error) for error in exc.errors()]
    if not described:  # pragma: no cover - pydantic never raises an empty ValidationError
        return InvalidRequestError(prefix, str(exc))
    field, problem = described[0]
    field = _join_path(prefix, field)
    others = [f"{_join_path(prefix, f) or '(request)'}: {p}" for f, p in described[1:]]
    if others:
        problem = f"{problem}; also {'; '.join(others)}"
    return InvalidRequestError(field, problem)
