"""Base models, tolerant field types and date helpers shared by the Altegio and Altacolor models.

Two kinds of model live on top of this module:

* :class:`ApiModel` reads what an API sends. The Altegio documents show numbers as strings,
  ``[]`` or ``{}`` where an object is expected, and dates in half a dozen forms; unknown fields
  are kept. Nothing here rejects a response the documents say the API may send.
* :class:`RequestModel` checks what a caller wants to send. It is strict: unknown fields and
  bad values raise :class:`~airflow_provider_altegio.exceptions.InvalidRequestError` naming the
  field, before any request is made.
"""

from __future__ import annotations

import functools
import math
import re
import types
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from airflow_provider_altegio.exceptions import InvalidRequestError

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails
    from typing_extensions import Self

__all__ = [
    "ApiModel",
    "EntityRef",
    "InvalidRequestError",
    "LooseBool",
    "LooseDatetime",
    "LooseFloat",
    "LooseInt",
    "LooseStr",
    "RequestBool",
    "RequestDatetime",
    "RequestFloat",
    "RequestInt",
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

# One pattern for every form the documents show: "2026-01-01T12:00:00-0500", "...-05:00",
# "2026-09-21T23:00:00.000-05:00", "2017-01-01T12:00:00" and "2017-04-25 21:50:01".
# Written out by hand because datetime.fromisoformat() on Python 3.10 rejects "-0500" and "Z".
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
_ZERO_DATE_RE = re.compile(r"^\s*0000-00-00")


@functools.lru_cache(maxsize=256)
def _tz_from_text(text: str) -> timezone:
    if text in ("Z", "z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_api_datetime(value: Any) -> datetime:
    """Read a date or date-time in any form the Altegio and Altacolor documents show.

    Accepts a ``datetime``, a ``date`` (midnight), a Unix timestamp, or an ISO-8601 string with or
    without an offset (``-0500``, ``-05:00``, ``Z``), with ``T`` or a space between date and time
    and with or without fractions of a second. A value without an offset is taken as UTC.

    :raises ValueError: the value is not a date in any of those forms.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"must be a date and time, got {value!r}")
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond what the platform's time_t holds
            raise ValueError(f"is not a valid Unix timestamp, got {_short(value)}") from None
    elif isinstance(value, str):
        match = _DATETIME_RE.match(value)
        if match is None:
            raise ValueError(f"must be a date and time such as 2026-01-01T12:00:00-0500, got {_short(value)}")
        parts = match.groupdict()
        fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
        try:
            result = datetime(
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
            raise ValueError(f"is not a valid date and time ({exc}), got {_short(value)}") from None
    else:
        raise ValueError(f"must be a date and time, got {type(value).__name__}")
    if result.tzinfo is None or result.utcoffset() is None:
        result = result.replace(tzinfo=timezone.utc)
    return result


def format_altegio_datetime(value: datetime | date | str) -> str:
    """Format a date for Altegio query filters (``changed_after`` and the like).

    The result looks like ``2026-01-01T12:00:00-0500``: the form both Altegio documents use for
    these filters and the API itself sends back. The offset of an aware value is kept; a naive
    value is taken as UTC.

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_altegio_document_date(value: datetime | date | str) -> str:
    """Format the ``create_date`` of a storage operation or document: ``2017-04-25 14:00:00``.

    The API takes no offset here and reads the wall-clock time in the location's own time zone,
    so the wall-clock time of ``value`` is sent as given, without conversion.

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).strftime("%Y-%m-%d %H:%M:%S")


def format_altacolor_datetime(value: datetime | date | str) -> str:
    """Format a date for Altacolor search conditions: UTC, ``YYYY-MM-DDTHH:MM:SS``, no offset.

    :raises ValueError: a string that is not a date.
    """
    return parse_api_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------------------------
# Tolerant scalar types for responses
# --------------------------------------------------------------------------------------------

_INT_TEXT_RE = re.compile(r"^[+-]?\d+$")
_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "t"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "f"})


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _loose_int(value: Any) -> Any:
    """``"123"``, ``" 123 "``, ``"123.0"`` and ``123.0`` become ``123``; anything else is left
    for pydantic to judge."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _INT_TEXT_RE.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _loose_float(value: Any) -> Any:
    """``"1.07"``, ``" 1 050.5 "`` and ``"1,5"`` become floats; anything else is left as is."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError:
            return value
    return value


def _loose_bool(value: Any) -> Any:
    """``0``/``1``, ``"0"``/``"1"``, ``"true"``/``"false"``, ``"yes"``/``"no"`` become bools."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    return value


def _loose_str(value: Any) -> Any:
    # Product codes and barcodes arrive as JSON numbers as often as strings.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


LooseInt = Annotated[int, BeforeValidator(_loose_int)]
"""An ``int`` that may arrive as a string (``"123456"``) or an integral float."""
LooseFloat = Annotated[float, BeforeValidator(_loose_float)]
"""A ``float`` that may arrive as a string (``"1.07"``, ``"100500"``)."""
LooseBool = Annotated[bool, BeforeValidator(_loose_bool)]
"""A ``bool`` that may arrive as ``0``/``1``, ``"0"``/``"1"`` or ``true``/``false``."""
LooseDatetime = Annotated[datetime, BeforeValidator(parse_api_datetime)]
"""An aware ``datetime`` read from any documented form (see :func:`parse_api_datetime`)."""
LooseStr = Annotated[str, BeforeValidator(_loose_str)]
"""A ``str`` that may arrive as a JSON number (codes, barcodes)."""


# --------------------------------------------------------------------------------------------
# Field shapes: which placeholders ([] / {} / "" / null) mean "nothing" for a given field
# --------------------------------------------------------------------------------------------

_Kind = Literal["any", "list", "dict", "object", "str", "datetime", "none", "scalar"]
_UNION_TYPES: tuple[Any, ...] = (Union, types.UnionType)


def _kinds(annotation: Any) -> frozenset[_Kind]:
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


def _input_keys(name: str, info: FieldInfo) -> tuple[str, ...]:
    keys = [name]
    if info.alias:
        keys.append(info.alias)
    alias = info.validation_alias
    if isinstance(alias, str):
        keys.append(alias)
    elif alias is not None:
        for choice in getattr(alias, "choices", ()):
            if isinstance(choice, str):
                keys.append(choice)
    return tuple(dict.fromkeys(keys))


def _placeholder_to_value(value: Any, kinds: frozenset[_Kind]) -> Any:
    """Turn the API's "nothing here" placeholders into what the field type can hold."""
    if "any" in kinds or "dict" in kinds:
        return value
    nullable = "none" in kinds
    is_empty_container = isinstance(value, (list, dict)) and not value
    if "list" in kinds:
        # PHP encodes an empty array as {} at times, and some fields come as null.
        if (isinstance(value, dict) and not value) or (value is None and not nullable):
            return []
        return value
    if is_empty_container or (value == "" and "str" not in kinds):
        if nullable:
            return None
        if "object" in kinds:
            return {}
        return value
    if nullable and "datetime" in kinds and isinstance(value, str) and _ZERO_DATE_RE.match(value):
        return None  # MySQL's "no date"
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

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        arbitrary_types_allowed=False,
    )

    _shapes_cache: ClassVar[dict[type[BaseModel], tuple[dict[str, frozenset[_Kind]], tuple[str, ...]]]] = {}

    @classmethod
    def _field_shapes(cls) -> tuple[dict[str, frozenset[_Kind]], tuple[str, ...]]:
        """Input key (field name and every alias) -> what the field's type can hold; and the
        keys of nullable date fields (where MySQL's ``0000-00-00`` means "no date")."""
        cached = ApiModel._shapes_cache.get(cls)
        if cached is None:
            shapes: dict[str, frozenset[_Kind]] = {}
            for name, info in cls.model_fields.items():
                kinds = _kinds(info.annotation)
                if "any" in kinds or "dict" in kinds:
                    continue  # takes whatever comes
                for key in _input_keys(name, info):
                    shapes[key] = kinds
            date_keys = tuple(key for key, kinds in shapes.items() if {"datetime", "none"} <= kinds)
            cached = ApiModel._shapes_cache[cls] = (shapes, date_keys)
        return cached

    @model_validator(mode="before")
    @classmethod
    def _normalise_placeholders(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        shapes, date_keys = cls._field_shapes()
        # This runs for every object of every page: find out at C speed whether there is
        # anything to replace before looking at fields one by one.
        values = list(data.values())
        if None not in values and "" not in values and [] not in values and {} not in values:
            zero_date = data.get
            if not any(
                (value := zero_date(key)).__class__ is str and value.startswith("0000-00-00")
                for key in date_keys
            ):
                return data
        fixed = dict(data)
        for key, value in data.items():
            kinds = shapes.get(key)
            if kinds is not None:
                fixed[key] = _placeholder_to_value(value, kinds)
        return fixed

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


def _request_int(value: Any) -> Any:
    # Airflow renders templated fields to strings; "5" is taken, "5.5", "abc" and True are not.
    if isinstance(value, str) and _INT_TEXT_RE.match(value.strip()):
        return int(value.strip())
    return value


def _request_float(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _request_bool(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "1", "yes"):
            return True
        if word in ("false", "0", "no"):
            return False
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return value


RequestInt = Annotated[int, BeforeValidator(_request_int)]
"""A strict ``int`` for requests that also takes a string of digits (templated values)."""
RequestFloat = Annotated[float, BeforeValidator(_request_float)]
"""A strict number for requests that also takes a numeric string (templated values)."""
RequestBool = Annotated[bool, BeforeValidator(_request_bool)]
"""A strict ``bool`` for requests that also takes ``"true"``/``"false"``, ``0``/``1``."""
RequestDatetime = Annotated[datetime, BeforeValidator(parse_api_datetime)]
"""A ``datetime`` for requests: a datetime, a date, or a string in any documented form."""


class RequestModel(BaseModel):
    """Base of every model sent to an API.

    Strict: unknown fields are refused and values are not coerced (beyond the explicit
    ``Request*`` types). Any failure, on construction or validation, raises
    :class:`InvalidRequestError` whose ``field`` is a path such as ``transactions[0].amount``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=False)

    def __init__(self, /, **data: Any) -> None:
        """Validate ``data``.

        :raises InvalidRequestError: a field is missing, unknown or has a bad value.
        """
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise invalid_request_from_pydantic(exc) from exc

    # pydantic calls a custom __init__ for every nested model it validates; this marker (the one
    # BaseModel and RootModel carry) keeps nested validation in pydantic-core, so nested errors
    # keep their full path instead of arriving pre-converted.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate ``obj`` like pydantic does.

        :raises InvalidRequestError: instead of pydantic's ``ValidationError``.
        """
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_request_from_pydantic(exc) from exc

    @classmethod
    def from_input(cls, data: Any, *, prefix: str = "") -> Self:
        """Build the request from a mapping given by a caller (an operator argument, say).

        An instance of the class is returned as it is.

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
        try:
            return super().model_validate(dict(data))
        except ValidationError as exc:
            raise invalid_request_from_pydantic(exc, prefix) from exc

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
        problem = f"{problem}, got {_short(value)}"
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
