"""Templated operator and sensor inputs (text or native objects), read and validated before any
request; each reader raises :class:`~airflow_provider_altegio.exceptions.InvalidRequestError`
naming the field. Models are imported by the readers that need them, so importing stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone, tzinfo
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.values import is_blank, short, structure, whole_number

if TYPE_CHECKING:
    from airflow_provider_altegio.models.common import RequestModel

R = TypeVar("R", bound="RequestModel")


def read_id_list(value: Any, field: str) -> list[int] | None:
    """A list of ids: a list, a comma-separated string, or a JSON/Python list rendered by Jinja.

    :raises InvalidRequestError: naming ``field`` or ``field[i]``.
    """
    if is_blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = structure(text, field) if text.startswith("[") else text.split(",")
    if isinstance(value, (int, str)):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InvalidRequestError(field, f"must be a list of ids, got {type(value).__name__}")
    return [whole_number(item, f"{field}[{i}]") for i, item in enumerate(value)]


def read_datetime(value: Any, field: str, *, naive_as: tzinfo | None = timezone.utc) -> datetime | None:
    """A datetime, a date, or an ISO / API-formatted string; naive values are taken to be in
    ``naive_as`` (``None``: left naive).

    :raises InvalidRequestError: a value that is not a date.
    """
    if is_blank(value):
        return None
    from airflow_provider_altegio.models.common import parse_api_datetime

    if not isinstance(value, (str, datetime, date)):
        raise InvalidRequestError(field, f"must be a datetime or an ISO date string, got {short(value)}")
    try:
        return parse_api_datetime(value, naive_as=naive_as)
    except ValueError:
        raise InvalidRequestError(field, f"is not a date or datetime: {short(value)}") from None


def read_date_range(
    start: Any, end: Any, start_field: str, end_field: str
) -> tuple[datetime | None, datetime | None]:
    """Two optional bounds (see :func:`read_datetime`) in order (equal bounds are accepted: a manual
    run's data interval is often empty).

    :raises InvalidRequestError: a bound is not a date, or ``end_field`` is before ``start_field``.
    """
    low, high = read_datetime(start, start_field), read_datetime(end, end_field)
    if low is not None and high is not None and high < low:
        raise InvalidRequestError(end_field, f"must not be before {start_field}")
    return low, high


def read_request(model: type[R], data: Any, field: str) -> R:
    """A request model from a mapping (or its JSON text), naming ``field`` on failure.

    :raises InvalidRequestError: the first problem, e.g. ``product.title: is required``.
    """
    return model.from_input(structure(data, field), prefix=field)


def read_conditions(value: Any, field: str, *, sort_by: Any = None) -> list[Any]:
    """Altacolor search conditions as a list, validated with ``sort_by``: a mapping, a list, or
    their JSON text; none means the whole catalogue.

    :raises InvalidRequestError: ``conditions[i].<field>`` of the first bad condition, or ``sort_by``.
    """
    from airflow_provider_altegio.models.altacolor import WHOLE_CATALOGUE, encode_search

    value = structure(value, field)
    if is_blank(value) or value == []:
        items: list[Any] = [dict(WHOLE_CATALOGUE)]
    elif isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidRequestError(field, f"must be a condition mapping or a list of them, got {short(value)}")
    encode_search(items, sort_by=None if is_blank(sort_by) else sort_by)  # validates as the hook will
    return items


def to_json(value: Any) -> Any:
    """Plain JSON (for XCom and trigger kwargs): models via ``to_json_dict``, datetimes as ISO text."""
    if hasattr(value, "to_json_dict"):
        return value.to_json_dict()
    if hasattr(value, "model_dump"):  # request models: their own field names, JSON values
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
