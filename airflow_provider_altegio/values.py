"""The one place that reads loosely typed values (rendered templates, connection extras, API fields
often come as text). The ``to_*`` readers raise ``ValueError``; the others
:class:`~airflow_provider_altegio.exceptions.InvalidRequestError` naming the field.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from airflow_provider_altegio.exceptions import InvalidRequestError

E = TypeVar("E", bound=Enum)
T = TypeVar("T")

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "f"})


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_blank(value: Any) -> bool:
    """``None`` or text that renders to nothing (an unset Jinja value renders as ``""`` or ``None``)."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def to_float(value: Any) -> float:
    """A finite number from a number or text (``"1.5"``, ``" 1 050,5 "``).

    :raises ValueError: anything else, booleans included.
    """
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {short(value)}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {short(value)}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {short(value)}")
    return float(value)


def to_int(value: Any) -> int:
    """A whole number from an int, an integral float or text (``"123"``, ``"1 050"``, ``"1e3"``).

    :raises ValueError: anything else, booleans included.
    """
    if type(value) is int:
        return value
    try:
        number = to_float(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {short(value)}") from None
    if not number.is_integer():
        raise ValueError(f"must be a whole number, got {short(value)}")
    text = value.strip() if isinstance(value, str) else ""
    # Long digit strings would lose precision through float.
    return int(text) if text.lstrip("+-").isdecimal() else int(number)


def to_bool(value: Any) -> bool:
    """A boolean from a bool, 0 or 1, or one of :data:`TRUE_WORDS` / :data:`FALSE_WORDS` in any case.

    :raises ValueError: anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"must be true or false, got {short(value)}")


def _required(field: str, read: Callable[[Any], T], value: Any) -> T:
    """``read(value)``, its ``ValueError`` (or a blank ``value``) an error naming ``field``."""
    if is_blank(value):
        raise InvalidRequestError(field, "is required")
    try:
        return read(value)
    except ValueError as exc:
        raise InvalidRequestError(field, str(exc)) from None


def whole_number(value: Any, field: str, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """A required whole number (an id, a count) within bounds.

    :raises InvalidRequestError: naming ``field``: blank, not a whole number, or out of bounds.
    """
    number = _required(field, to_int, value)
    if minimum is not None and number < minimum:
        raise InvalidRequestError(field, f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InvalidRequestError(field, f"must be at most {maximum}, got {number}")
    return number


def optional_whole_number(
    value: Any, field: str, *, minimum: int | None = 1, maximum: int | None = None
) -> int | None:
    """:func:`whole_number`, or ``None`` when ``value`` is blank."""
    return None if is_blank(value) else whole_number(value, field, minimum=minimum, maximum=maximum)


def number(value: Any, field: str, *, minimum: float | None = None) -> float:
    """A required finite number, at least ``minimum``.

    :raises InvalidRequestError: naming ``field``.
    """
    result = _required(field, to_float, value)
    if minimum is not None and result < minimum:
        raise InvalidRequestError(field, f"must be at least {minimum:g}, got {result:g}")
    return result


def truth(value: Any, field: str) -> bool:
    """A required true/false value.

    :raises InvalidRequestError: naming ``field``.
    """
    return _required(field, to_bool, value)


def enum_member(
    enum: type[E], value: Any, field: str, aliases: dict[str, E] | None = None, *, what: str = "one of"
) -> E:
    """A member of ``enum`` from the member itself, its value (also as text), its name in any case
    (``-`` and spaces read as ``_``), or one of ``aliases``.

    :param what: how the error names the choices ("a document type").
    :raises InvalidRequestError: naming ``field`` and listing the choices.
    """
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        word = value.strip().lower().replace("-", "_").replace(" ", "_")
        found = (aliases or {}).get(word) or enum.__members__.get(word.upper())
        if found is not None:
            return found
        if word.lstrip("-").isdecimal():  # what int() reads ("³" is a digit, not decimal)
            value = int(word)
    if type(value) is int:
        for member in enum:
            if member.value == value:
                return member
    choices = ", ".join(f"{member.name.lower()} ({member.value})" for member in enum)
    raise InvalidRequestError(field, f"must be {what}: {choices}, got {short(value)}")


def structure(value: Any, field: str) -> Any:
    """A list or mapping that may arrive as text: JSON, or the Python ``repr`` Jinja renders
    ``{{ ti.xcom_pull(...) }}`` to (unless the DAG renders native objects).

    :raises InvalidRequestError: text that is neither JSON nor a Python literal.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidRequestError(field, f"is not valid JSON: {text[:80]!r}") from None
