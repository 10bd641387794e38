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

import dataclasses
import functools
import math
import re
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import core_schema

from airflow_provider_altegio.exceptions import InvalidRequestError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema, ErrorDetails
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
# Written out by hand because datetime.fromisoformat() on Python 3.10 rejects "-0500" and "Z";
# on 3.11 and later fromisoformat() reads the usual forms first (see parse_api_datetime).
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
_ZERO_DATE_PATTERN = r"^\s*0000-00-00"
_ZERO_DATE_RE = re.compile(_ZERO_DATE_PATTERN)
_DATE_TIME_SEPARATORS = frozenset("Tt ")


@functools.lru_cache(maxsize=256)
def _tz_from_text(text: str) -> timezone:
    if text in ("Z", "z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _datetime_from_pattern(text: str) -> datetime:
    """Read a date-time string with :data:`_DATETIME_RE`; the result may be naive."""
    match = _DATETIME_RE.match(text)
    if match is None:
        raise ValueError(f"must be a date and time such as 2026-01-01T12:00:00-0500, got {_short(text)}")
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
        raise ValueError(f"is not a valid date and time ({exc}), got {_short(text)}") from None


def parse_api_datetime(value: Any) -> datetime:
    """Read a date or date-time in any form the Altegio and Altacolor documents show.

    Accepts a ``datetime``, a ``date`` (midnight), a Unix timestamp, or an ISO-8601 string with or
    without an offset (``-0500``, ``-05:00``, ``Z``), with ``T`` or a space between date and time
    and with or without fractions of a second. A value without an offset is taken as UTC.

    :raises ValueError: the value is not a date in any of those forms.
    """
    if value.__class__ is str:
        # Fast path for what the API sends ("2026-01-01T12:00:00-0500", "2017-04-25 21:50:01",
        # "2018-02-01"): datetime.fromisoformat() reads these in C on Python 3.11+. The shape
        # check keeps it to strings the pattern accepts as well (fromisoformat() also takes
        # "T12", "T1200" and any separator); whatever it refuses (an offset without a colon or
        # "Z" on 3.10, a month 13) goes to the pattern, which says what is wrong.
        size = len(value)
        if (
            (size == 10 or (size >= 16 and value[13] == ":" and value[10] in _DATE_TIME_SEPARATORS))
            and value[4] == "-"
            and value[7] == "-"
        ):
            try:
                result = datetime.fromisoformat(value)
                if result.tzinfo is None:
                    # Reading it again with an offset is several times faster than .replace().
                    result = datetime.fromisoformat(value + ("T00:00:00+00:00" if size == 10 else "+00:00"))
            except ValueError:
                result = _datetime_from_pattern(value)
        else:
            result = _datetime_from_pattern(value)
        return result if result.tzinfo is not None else result.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        result = _datetime_from_pattern(value)
    elif isinstance(value, datetime):
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
#
# Each type validates in pydantic-core first: lax mode already reads "123", " 123 ", "123.0"
# and 123.0 as ints, "1.07" and "1e3" as floats, 0/1/"true"/"no" as bools. Only what lax mode
# refuses ("1 050", "1,5", 2 as a bool) reaches the Python fallback, so a well-formed response
# never calls into Python for these fields. Dates are read in Python (parse_api_datetime), which
# keeps the standard library's timezone objects and takes every documented form.

_INT_TEXT_RE = re.compile(r"^[+-]?\d+$")
_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "t"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "f"})

# Core-schema metadata keys: the error a tolerant type reports, and "this field is done".
_TOLERANT_ERROR = "altegio_tolerant_error"
_PLACEHOLDERS_DONE = "altegio_placeholders"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _loose_int(value: Any) -> Any:
    """``"1 050"`` and ``"1e3"`` become ints (lax mode takes ``"123"``, ``" 123 "``,
    ``"123.0"`` and ``123.0`` itself); anything else is left for pydantic to judge."""
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
    """``" 1 050.5 "`` and ``"1,5"`` become floats (lax mode takes ``"1.07"`` itself); anything
    else is left as is."""
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
    """Any number (non-zero is true) and ``" Yes "``-style words become bools (lax mode takes
    ``0``/``1``, ``"0"``/``"1"``, ``"true"``/``"false"``, ``"yes"``/``"no"`` itself)."""
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


@dataclasses.dataclass(frozen=True)
class _Tolerant:
    """``Annotated`` metadata of a tolerant type: ``schema`` is tried first, then ``fallback``
    (if any) in front of it. Failures are reported as one error: pydantic's ``error_type``, or
    a custom one when ``message`` is given."""

    schema: Callable[[], CoreSchema]
    fallback: Callable[[Any], Any] | None
    error_type: str
    message: str | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        metadata = {_TOLERANT_ERROR: (self.error_type, self.message)}
        if self.fallback is None:
            return {**self.schema(), "metadata": metadata}
        return core_schema.union_schema(
            [self.schema(), core_schema.no_info_before_validator_function(self.fallback, self.schema())],
            mode="left_to_right",
            custom_error_type=self.error_type,
            custom_error_message=self.message,
            metadata=metadata,
        )


def _datetime_schema() -> CoreSchema:
    # Python reads the date (pydantic-core would give naive values and its own TzInfo class).
    return core_schema.no_info_before_validator_function(parse_api_datetime, core_schema.datetime_schema())


LooseInt = Annotated[int, _Tolerant(core_schema.int_schema, _loose_int, "int_type")]
"""An ``int`` that may arrive as a string (``"123456"``) or an integral float."""
LooseFloat = Annotated[float, _Tolerant(core_schema.float_schema, _loose_float, "float_type")]
"""A ``float`` that may arrive as a string (``"1.07"``, ``"100500"``)."""
LooseBool = Annotated[bool, _Tolerant(core_schema.bool_schema, _loose_bool, "bool_type")]
"""A ``bool`` that may arrive as ``0``/``1``, ``"0"``/``"1"`` or ``true``/``false``."""
LooseDatetime = Annotated[
    datetime,
    _Tolerant(
        _datetime_schema,
        None,
        "datetime_format",
        "Input should be a date and time such as 2026-01-01T12:00:00-0500",
    ),
]
"""An aware ``datetime`` read from any documented form (see :func:`parse_api_datetime`)."""
LooseStr = Annotated[
    str, _Tolerant(functools.partial(core_schema.str_schema, coerce_numbers_to_str=True), None, "string_type")
]
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


def _placeholder_to_value(value: Any, kinds: frozenset[_Kind]) -> Any:
    """Turn the API's "nothing here" placeholders into what the field type can hold.

    The rules of every field; at run time only list and object fields call this (through
    :func:`_placeholder_fixer`), the others get the same rules as schema (:func:`_tolerant_field`).
    """
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


def _placeholder_fixer(kinds: frozenset[_Kind]) -> Callable[[Any], Any]:
    if kinds == {"list"}:  # the usual list field: a plain list with a default

        def fix_list(value: Any) -> Any:
            if value is None or (value.__class__ is dict and not value):
                return []
            return value

        return fix_list
    return lambda value: _placeholder_to_value(value, kinds)


def _to_none(value: Any) -> None:
    return None


def _placeholder_branch(kinds: frozenset[_Kind]) -> CoreSchema:
    """A schema taking only the placeholders that mean None for a nullable scalar field."""
    matchers: list[CoreSchema | tuple[CoreSchema, str]] = [
        core_schema.list_schema(max_length=0, strict=True),
        core_schema.dict_schema(max_length=0, strict=True),
    ]
    if "str" not in kinds:
        matchers.append(core_schema.literal_schema([""]))
    if "datetime" in kinds:
        matchers.append(core_schema.str_schema(pattern=_ZERO_DATE_PATTERN, strict=True))
    return core_schema.chain_schema(
        [
            core_schema.union_schema(matchers, mode="left_to_right"),
            core_schema.no_info_plain_validator_function(_to_none),
        ]
    )


# Plain leaf schemas whose every failure is a type error, so one error can stand for the union.
_LEAF_ERRORS: dict[str, str] = {
    "str": "string_type",
    "int": "int_type",
    "float": "float_type",
    "bool": "bool_type",
    "datetime": "datetime_type",
    "date": "date_type",
}
_LEAF_KEYS = frozenset({"type", "strict", "metadata", "serialization", "coerce_numbers_to_str"})


def _tolerant_field(schema: CoreSchema, kinds: frozenset[_Kind]) -> CoreSchema | None:
    """``schema`` of a field with the placeholder rules of :func:`_placeholder_to_value` added,
    or None when the field takes its input as it comes."""
    if "any" in kinds or "dict" in kinds:
        return None
    if "list" in kinds or "object" in kinds:
        # A model takes {} as an empty object, so these are fixed before validation (in Python;
        # there are few such fields and a call costs less than the nested validation itself).
        return core_schema.no_info_before_validator_function(_placeholder_fixer(kinds), schema)
    if "none" not in kinds:
        return None  # a required scalar keeps its placeholders, and fails on them
    # A nullable scalar: "", [], {} (and "0000-00-00" for dates) never validate as the value, so
    # they are tried as placeholders only after the value fails: no cost for a good response.
    if schema["type"] != "nullable":
        return core_schema.union_schema([schema, _placeholder_branch(kinds)], mode="left_to_right")
    inner = schema["schema"]
    error: tuple[str, str | None] | None = (inner.get("metadata") or {}).get(_TOLERANT_ERROR)
    choices: list[CoreSchema | tuple[CoreSchema, str]] = [inner]
    if error is not None and inner["type"] == "union":
        choices = list(inner["choices"])  # a tolerant type's own union: one more choice
    elif error is None and inner["type"] in _LEAF_ERRORS and inner.keys() <= _LEAF_KEYS:
        error = (_LEAF_ERRORS[inner["type"]], None)
    choices.append(_placeholder_branch(kinds))
    tolerant = core_schema.union_schema(
        choices,
        mode="left_to_right",
        custom_error_type=error[0] if error else None,
        custom_error_message=error[1] if error else None,
    )
    return core_schema.nullable_schema(tolerant)


def _add_placeholder_rules(cls: type[BaseModel], schema: CoreSchema) -> None:
    """Give every field of the model ``schema`` (of ``cls``) its placeholder rules, in place."""
    node: Any = schema
    while node["type"] in ("function-before", "function-after", "function-wrap"):
        node = node["schema"]  # model validators
    if node["type"] != "model" or node.get("cls") is not cls:
        return  # a reference to a model built before: its fields were done then
    fields = node["schema"]["fields"]
    for name, field in fields.items():
        metadata = field.setdefault("metadata", {})
        if metadata.get(_PLACEHOLDERS_DONE):
            continue
        metadata[_PLACEHOLDERS_DONE] = True
        info = cls.model_fields.get(name)
        if info is None:  # pragma: no cover - pydantic builds model-fields from model_fields
            continue
        holder: Any = field
        if holder["schema"]["type"] == "default":
            holder = holder["schema"]
        tolerant = _tolerant_field(holder["schema"], _kinds(info.annotation))
        if tolerant is not None:
            holder["schema"] = tolerant


# --------------------------------------------------------------------------------------------
# Response models
# --------------------------------------------------------------------------------------------


class ApiModel(BaseModel):
    """Base of every model read from an API response.

    Tolerant by design: unknown fields are kept (``extra="allow"``), numbers may be strings,
    an empty ``[]``/``{}``/``""`` where an object or a number is expected becomes ``None``
    (or an empty object for a required one), an empty ``{}`` where a list is expected becomes
    ``[]``, and dates are read in every documented form.

    The placeholder rules are part of each field's validation schema (see
    :func:`_tolerant_field`), so reading a well-formed object runs no Python code except for
    date fields, list fields and nested objects; that matters for catalogues of thousands.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        arbitrary_types_allowed=False,
    )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler, /
    ) -> CoreSchema:
        schema = handler(source)
        _add_placeholder_rules(cls, schema)
        return schema

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
