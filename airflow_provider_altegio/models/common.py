"""Bases, tolerant field types and date helpers shared by the Altegio and Altacolor models.

:class:`ApiModel` reads what an API sends, tolerantly; :class:`RequestModel` checks what a caller
wants to send, strictly, raising :class:`InvalidRequestError` naming the field.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.values import short, to_bool, to_float, to_int

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails
    from typing_extensions import Self

__all__ = [
    "ApiModel",
    "EntityRef",
    "InvalidRequestError",
    "LocalDatetime",
    "LooseBool",
    "LooseDatetime",
    "LooseFloat",
    "LooseInt",
    "LooseStr",
    "RequestBool",
    "RequestDatetime",
    "RequestFloat",
    "RequestInt",
    "RequestLocalDatetime",
    "RequestModel",
    "format_altacolor_datetime",
    "format_altegio_datetime",
    "format_altegio_document_date",
    "invalid_request_from_pydantic",
    "parse_api_datetime",
]

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

# Every form the documents show, and no other: "2026-01-01T12:00:00-0500", "...-05:00",
# "2026-09-21T23:00:00.000-05:00", "2017-01-01T12:00:00" and "2017-04-25 21:50:01".
# (datetime.fromisoformat() reads a different set on each Python version.)
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
    """Read a date or date-time in any form the Altegio and Altacolor documents show.

    Accepts a ``datetime``, a ``date`` (midnight), a Unix timestamp, or an ISO-8601 string with or
    without an offset (``-0500``, ``-05:00``, ``Z``), with ``T`` or a space between date and time
    and with or without fractions of a second. A value without an offset is taken to be in
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
    """Format a date for Altegio query filters (``changed_after`` and the like).

    The result looks like ``2026-01-01T12:00:00-0500``: the form both Altegio documents use for
    these filters and the API itself sends back. The offset of an aware value is kept; a naive
    value is taken as UTC.

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_altegio_document_date(value: datetime) -> str:
    """Format the ``create_date`` of a storage operation: ``2026-09-21T23:00:00.000-05:00``, the
    form of the official field list, the instant kept with its offset.

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


# --------------------------------------------------------------------------------------------
# Tolerant field types
# --------------------------------------------------------------------------------------------


def _tolerant(
    read: Callable[[Any], Any], *, ready: tuple[type, ...] = (), text_only: bool = False
) -> BeforeValidator:
    """Read the value with ``read``; what it cannot read is left for pydantic to judge, and report,
    as it came. Values whose exact type is in ``ready`` (or, with ``text_only``, anything but
    text) go to pydantic as they are."""

    def before(value: Any) -> Any:
        if value.__class__ in ready or (text_only and value.__class__ is not str):
            return value
        try:
            return read(value)
        except ValueError:
            return value

    return BeforeValidator(before)


LooseInt = Annotated[int, _tolerant(to_int, ready=(int,))]
"""An ``int`` that may arrive as text (``"123456"``, ``"1 050"``) or an integral float."""
LooseFloat = Annotated[float, _tolerant(to_float, ready=(float, int))]
"""A ``float`` that may arrive as text (``"1.07"``, ``"1,5"``)."""


def _api_bool(value: Any) -> bool:
    # The API is PHP: any number other than 0 is true there.
    return value != 0 if value.__class__ in (int, float) else to_bool(value)


LooseBool = Annotated[bool, _tolerant(_api_bool, ready=(bool,))]
"""A ``bool`` that may arrive as a number or a word (``0``/``1``, ``"yes"``, ``"false"``)."""
LooseDatetime = Annotated[datetime, BeforeValidator(parse_api_datetime)]
"""An aware ``datetime`` read from any documented form (see :func:`parse_api_datetime`); a
value without an offset is UTC (Altacolor's documented form)."""
LocalDatetime = Annotated[datetime, BeforeValidator(lambda v: parse_api_datetime(v, naive_as=None))]
"""A ``datetime`` of an Altegio answer: aware when the API writes an offset (it does, in every
current example); without one it is the location's wall-clock time and stays naive, never
taken for UTC."""
LooseStr = str
"""A ``str`` that may arrive as a JSON number (codes, barcodes): :class:`ApiModel` turns numbers
into text."""

RequestInt = Annotated[int, _tolerant(to_int, text_only=True)]
"""An ``int`` for requests that also takes a whole number as text (a rendered template)."""
RequestFloat = Annotated[float, _tolerant(to_float, text_only=True)]
"""A number for requests that also takes a number as text."""
RequestBool = Annotated[bool, _tolerant(to_bool)]
"""A ``bool`` for requests that also takes ``"true"``/``"false"``, ``0``/``1``."""
RequestDatetime = Annotated[datetime, BeforeValidator(parse_api_datetime)]
"""A ``datetime`` for requests: a datetime, a date, or a string in any documented form."""

RequestLocalDatetime = Annotated[datetime, BeforeValidator(lambda v: parse_api_datetime(v, naive_as=None))]
"""As :data:`RequestDatetime`, but a value without an offset stays naive: it is the location's
wall-clock time, placed in the location's zone by the hook."""


# --------------------------------------------------------------------------------------------
# Placeholders: which of [] / {} / "" / null / "0000-00-00" mean "nothing" for a field
# --------------------------------------------------------------------------------------------

_Kind = Literal["any", "list", "dict", "object", "str", "datetime", "none", "scalar"]
_NUMBERS = (int, float, bool)
_UNION_TYPES: tuple[Any, ...] = (Union, types.UnionType)


def _kinds(annotation: Any) -> frozenset[_Kind]:
    """What a field's annotation can hold, as far as placeholders are concerned."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin in _UNION_TYPES:
        found: frozenset[_Kind] = frozenset()
        for member in get_args(annotation):
            found |= _kinds(member)
        return found
    if annotation is type(None) or annotation is None:
        return frozenset({"none"})
    if annotation is Any:
        return frozenset({"any"})
    base = origin if origin is not None else annotation
    if base in (list, tuple, set, frozenset):
        return frozenset({"list"})
    if base in (dict, Mapping):
        return frozenset({"dict"})
    if isinstance(base, type):
        if issubclass(base, BaseModel):
            return frozenset({"object"})
        if issubclass(base, str) and not issubclass(base, int):
            return frozenset({"str"})
        if issubclass(base, datetime):
            return frozenset({"datetime"})
    return frozenset({"scalar"})


def _placeholder_to_value(value: Any, kinds: frozenset[_Kind]) -> Any:
    """What a placeholder means for a field that can hold ``kinds``.

    PHP encodes an empty array as ``{}`` at times, some list fields come as ``null``, and an
    empty ``[]``/``{}``/``""`` stands for a missing object or number. A required scalar keeps its
    placeholder (and fails on it).
    """
    if "any" in kinds or "dict" in kinds:
        return value
    nullable = "none" in kinds
    if "list" in kinds:
        if (isinstance(value, dict) and not value) or (value is None and not nullable):
            return []
        return value
    if isinstance(value, str) and value.startswith(_ZERO_DATE):
        return None if nullable and "datetime" in kinds else value  # MySQL's "no date"
    if (isinstance(value, (list, dict)) and not value) or (value == "" and "str" not in kinds):
        if nullable:
            return None
        if "object" in kinds:
            return {}
    return value


# --------------------------------------------------------------------------------------------
# Response models
# --------------------------------------------------------------------------------------------


class ApiModel(BaseModel):
    """Base of every model read from an API response.

    Tolerant by design: unknown fields are kept (``extra="allow"``), numbers may be strings,
    an empty ``[]``/``{}``/``""`` where an object or a number is expected becomes ``None``
    (or an empty object for a required one), an empty ``{}`` where a list is expected becomes
    ``[]``, and dates are read in every documented form.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    #: For each key the API may use (field names and aliases): what the field can hold.
    _field_kinds: ClassVar[dict[str, frozenset[_Kind]]] = {}
    #: The keys of the nullable date fields, where "0000-00-00..." means no date.
    _date_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        kinds: dict[str, frozenset[_Kind]] = {}
        for name, info in cls.model_fields.items():
            keys = [name]
            alias = info.validation_alias
            if isinstance(alias, str):
                keys.append(alias)
            elif isinstance(alias, AliasChoices):
                keys.extend(choice for choice in alias.choices if isinstance(choice, str))
            for key in keys:
                kinds[key] = _kinds(info.annotation)
        cls._field_kinds = kinds
        cls._date_keys = tuple(key for key, kind in kinds.items() if {"datetime", "none"} <= kind)

    @model_validator(mode="before")
    @classmethod
    def _read_placeholders(cls, data: Any) -> Any:
        if data.__class__ is not dict:
            return data
        kinds = cls._field_kinds
        # One cheap test per key (this runs for every field of every item of a catalogue): only
        # empty values (None, "", [], {}) can be placeholders, and zero dates in date fields.
        fixed = {
            key: _placeholder_to_value(value, kinds[key])
            for key, value in data.items()
            if not value and value.__class__ not in _NUMBERS and key in kinds
        }
        for key in cls._date_keys:
            value = data.get(key)
            if value.__class__ is str and value.startswith(_ZERO_DATE):
                fixed[key] = None
        return {**data, **fixed} if fixed else data

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with the API's field names, unknown fields included (for XCom)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


class EntityRef(ApiModel):
    """A nested reference such as ``good``, ``storage``, ``unit``, ``master`` or ``client``.

    The API names the person in ``name`` and everything else in ``title``; both are read.
    """

    id: LooseInt | None = None
    title: str | None = None
    name: str | None = None


# --------------------------------------------------------------------------------------------
# Request models
# --------------------------------------------------------------------------------------------


# Set while a request model is being validated: pydantic runs the ``__init__`` of every nested
# model too, and only the outermost call turns pydantic's errors (whose paths are complete) into
# one InvalidRequestError.
_VALIDATING: ContextVar[bool] = ContextVar("altegio_request_validating", default=False)


@contextmanager
def _plain_errors(prefix: str = "") -> Iterator[None]:
    if _VALIDATING.get():
        yield
        return
    token = _VALIDATING.set(True)
    try:
        yield
    except ValidationError as exc:
        raise invalid_request_from_pydantic(exc, prefix) from exc
    finally:
        _VALIDATING.reset(token)


class RequestModel(BaseModel):
    """Base of every model sent to an API.

    Strict: unknown fields are refused and values are not coerced (beyond the explicit
    ``Request*`` types). Any failure raises :class:`InvalidRequestError` whose ``field`` is a
    path such as ``transactions[0].amount``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    def __init__(self, /, **data: Any) -> None:
        """Validate ``data``.

        :raises InvalidRequestError: a field is missing, unknown or has a bad value.
        """
        with _plain_errors():
            super().__init__(**data)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate ``obj`` like pydantic does.

        :raises InvalidRequestError: instead of pydantic's ``ValidationError``.
        """
        with _plain_errors():
            return super().model_validate(obj, *args, **kwargs)

    @classmethod
    def from_input(cls, data: Any, *, prefix: str = "") -> Self:
        """Build the request from a mapping given by a caller (an instance is returned as is).

        :param prefix: put before every field path in errors, e.g. ``"operation"``.
        :raises InvalidRequestError: ``data`` is not a mapping, or a field is missing, unknown or
            invalid.
        """
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise InvalidRequestError(
                prefix or cls.__name__,
                f"must be a mapping of field names to values, got {type(data).__name__}",
            )
        with _plain_errors(prefix):
            return super().model_validate(dict(data))

    def to_api(self) -> dict[str, Any]:
        """The body in the API's documented shape (fields left unset are not sent)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --------------------------------------------------------------------------------------------
# pydantic errors -> InvalidRequestError
# --------------------------------------------------------------------------------------------

_PLAIN_PROBLEMS: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request accepts",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be {ge} or more",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be {le} or less",
    "multiple_of": "must be a multiple of {multiple_of}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "string_too_long": "must be at most {max_length} characters long",
    "datetime_type": "must be a date and time",
    "datetime_parsing": "must be a date and time",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "is_instance_of": "has the wrong type",
}
# For these the input is the whole parent mapping or the unwanted value: not worth quoting.
_NO_GOT = frozenset({"missing", "extra_forbidden", "model_type", "model_attributes_type", "dict_type"})


def _plain_number(value: Any) -> Any:
    # "greater than 0", not "greater than 0.0".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _join_path(head: str, tail: str) -> str:
    if not head:
        return tail
    if not tail:
        return head
    return f"{head}{tail}" if tail.startswith("[") else f"{head}.{tail}"


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
    if kind == "too_long":
        return path, f"must have at most {ctx.get('max_length')} items"
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
    """Turn a pydantic ``ValidationError`` into an :class:`InvalidRequestError`.

    The error's ``field`` is the path of the first problem (``transactions[0].amount``,
    prefixed with ``prefix`` if given) and its message says what is wrong in plain words; any
    further problems are listed after it.
    """
    described = [_describe_error(error) for error in exc.errors()]
    if not described:  # pragma: no cover - pydantic never raises an empty ValidationError
        return InvalidRequestError(prefix, str(exc))
    field, problem = described[0]
    field = _join_path(prefix, field)
    others = [f"{_join_path(prefix, f) or '(request)'}: {p}" for f, p in described[1:]]
    if others:
        problem = f"{problem}; also {'; '.join(others)}"
    return InvalidRequestError(field, problem)
