"""Plumbing shared by the provider's operators and sensors: reading templated inputs, the base
operators and their hooks, streaming reads, asset events and the idempotency key.

Cheap to import: DAG files import the operator modules on every parse, so hooks (httpx) and
models (pydantic) are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timezone, tzinfo
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.values import is_blank, structure, whole_number

if TYPE_CHECKING:
    import logging

    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.models.common import RequestModel
    from airflow_provider_altegio.results import ReadResult

JsonDict = dict[str, Any]
_M = TypeVar("_M", bound="RequestModel")

#: Seconds between two progress lines of a long read.
PROGRESS_INTERVAL = 10.0


# --------------------------------------------------------------------------------------------
# Templated inputs
# --------------------------------------------------------------------------------------------


def read_id_list(value: Any, field: str) -> list[int] | None:
    """A list of ids: a list, a comma-separated string, or a JSON/Python list rendered by Jinja."""
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
    ``naive_as`` (``None``: left naive, e.g. a location's wall-clock time).

    :raises InvalidRequestError: a value that is not a date.
    """
    if is_blank(value):
        return None
    from airflow_provider_altegio.models.common import parse_api_datetime

    if isinstance(value, str):
        value = value.strip()
    elif not isinstance(value, (datetime, date)):
        raise InvalidRequestError(field, f"must be a datetime or an ISO date string, got {value!r:.60}")
    try:
        return parse_api_datetime(value, naive_as=naive_as)
    except ValueError:
        raise InvalidRequestError(field, f"is not a date or datetime: {value!r:.60}") from None


def read_date_range(
    start: Any, end: Any, start_field: str, end_field: str
) -> tuple[datetime | None, datetime | None]:
    """Two optional bounds (see :func:`read_datetime`), checked to be in order.

    Equal bounds are accepted: a manual run's data interval is often empty.

    :raises InvalidRequestError: a bound is not a date, or ``end_field`` is before ``start_field``.
    """
    low, high = read_datetime(start, start_field), read_datetime(end, end_field)
    if low is not None and high is not None and high < low:
        raise InvalidRequestError(end_field, f"must not be before {start_field}")
    return low, high


def read_request(model: type[_M], data: Any, field: str) -> _M:
    """A request model from a mapping (or its JSON text), naming ``field`` on failure.

    :raises InvalidRequestError: the first problem, e.g. ``product.title: is required``.
    """
    return model.from_input(structure(data, field), prefix=field)


#: With no condition the Altacolor API answers 50002; this one matches the whole catalogue.
ALL_ALTACOLOR_PRODUCTS: JsonDict = {"field": "product_id", "condition": ">", "value": "0"}


def altacolor_conditions(value: Any, field: str, *, sort_by: Any = None) -> list[Any]:
    """Altacolor search conditions as a list, validated (and ``sort_by`` with them).

    Accepts one condition mapping, a list of them, or their JSON text; none means the whole
    catalogue.

    :raises InvalidRequestError: ``conditions[i].<field>`` of the first bad condition, or
        ``sort_by``.
    """
    from airflow_provider_altegio.models.altacolor import encode_search

    value = structure(value, field)
    if is_blank(value) or value == []:
        items: list[Any] = [dict(ALL_ALTACOLOR_PRODUCTS)]
    elif isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidRequestError(field, f"must be a condition mapping or a list of them, got {value!r:.60}")
    # Encoding validates every condition and the sort key exactly as the hook will.
    encode_search(items, sort_by=None if is_blank(sort_by) else sort_by)
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


# --------------------------------------------------------------------------------------------
# Exactly-once support
# --------------------------------------------------------------------------------------------

_STAMP_PREFIX = "[airflow:"


def idempotency_key(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> str:
    """A short stable key of one task instance (the same on every try of that task instance)."""
    material = "\x1f".join((dag_id, run_id, task_id, str(-1 if map_index is None else map_index)))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def key_stamp(key: str) -> str:
    """The marker written into a document comment: ``[airflow:<key>]``."""
    return f"{_STAMP_PREFIX}{key}]"


def stamp_comment(comment: str | None, key: str) -> str:
    """The user's comment followed by the key marker, so the comment stays readable."""
    text = (comment or "").strip()
    return f"{text} {key_stamp(key)}" if text else key_stamp(key)


def carries_key(comment: str | None, key: str) -> bool:
    """Whether a document comment carries the marker of ``key``."""
    return bool(comment) and key_stamp(key) in str(comment)


# --------------------------------------------------------------------------------------------
# Progress of long reads
# --------------------------------------------------------------------------------------------


class Progress:
    """Counts items of a long read and logs pages, items and elapsed time every ``interval`` s."""

    def __init__(
        self, log: logging.Logger | Any, what: str, page_size: int, interval: float = PROGRESS_INTERVAL
    ) -> None:
        self.log = log
        self.what = what
        self.page_size = page_size
        self.interval = interval
        self.count = 0
        self.started = time.monotonic()
        self._next_report = self.started + interval

    def _line(self, verb: str) -> None:
        elapsed = time.monotonic() - self.started
        pages = max(1, math.ceil(self.count / self.page_size))  # an empty result is still one page
        self.log.info("%s %s: %d pages, %d items in %.1fs", verb, self.what, pages, self.count, elapsed)

    def track(self, items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``items`` unchanged, counting them and logging now and then."""
        for item in items:
            self.count += 1
            if time.monotonic() >= self._next_report:
                self._line("Reading")
                self._next_report = time.monotonic() + self.interval
            yield item

    def done(self) -> None:
        """Log the final figures."""
        self._line("Read")


# --------------------------------------------------------------------------------------------
# Asset events
# --------------------------------------------------------------------------------------------


def record_asset_events(context: Context, task: BaseOperator, extra: Mapping[str, Any]) -> None:
    """Attach ``extra`` to the asset events Airflow emits for the task's declared asset outlets."""
    from airflow.sdk import Asset

    for outlet in task.outlets or ():
        if isinstance(outlet, Asset):
            context["outlet_events"][outlet].extra.update(to_json(dict(extra)))


# --------------------------------------------------------------------------------------------
# Base operators
# --------------------------------------------------------------------------------------------


class AltegioBaseOperator(BaseOperator):
    """Base of every Altegio operator: the connection id, the hook and the location fallback.

    ``execute`` uses the hook as ``with self.hook:``, so its connection pool is closed when the
    task ends, however it ends.

    :param altegio_conn_id: Airflow connection of type ``altegio``.
    :param location_id: location (company) id; falls back to the connection's ``location_id`` extra.
        Templated.
    """

    template_fields: tuple[str, ...] = ("location_id",)
    ui_color = "#e8f4ea"

    def __init__(
        self, *, location_id: int | str | None = None, altegio_conn_id: str = "altegio_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.location_id = location_id
        self.altegio_conn_id = altegio_conn_id

    @cached_property
    def hook(self) -> AltegioHook:
        """The Altegio hook of ``altegio_conn_id`` (built on first use, never at parse time)."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.altegio_conn_id)

    def resolve_location_id(self) -> int:
        """The location to use: the argument, else the connection's ``location_id`` extra.

        :raises InvalidRequestError: (field ``location_id``) when neither is set or it is not an id.
        """
        return self.hook.resolve_location_id(self.location_id)  # type: ignore[arg-type]  # read there

    def finish_write(self, context: Context, result: JsonDict, **extra: Any) -> JsonDict:
        """Record asset events for the declared outlets (``extra`` plus the location); return
        ``result``."""
        record_asset_events(context, self, {"location_id": self.resolve_location_id(), **extra})
        return result

    def delete_ignoring_missing(self, delete: Callable[[], None], what: str, ignore_missing: bool) -> bool:
        """Run ``delete``; ``False`` instead of a 404 when ``ignore_missing`` (e.g. on a retry).

        :raises AltegioNotFoundError: the thing is missing and ``ignore_missing`` is false.
        """
        from airflow_provider_altegio.exceptions import AltegioNotFoundError

        try:
            delete()
        except AltegioNotFoundError:
            if not ignore_missing:
                raise
            self.log.info("%s does not exist; nothing to delete", what.capitalize())
            return False
        self.log.info("Deleted %s", what)
        return True


class AltacolorBaseOperator(BaseOperator):
    """Base of every Altacolor operator: the connection id and the hook.

    :param altacolor_conn_id: Airflow connection of type ``altacolor``.
    """

    ui_color = "#f4ece8"

    def __init__(self, *, altacolor_conn_id: str = "altacolor_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.altacolor_conn_id = altacolor_conn_id

    @cached_property
    def hook(self) -> AltacolorHook:
        """The Altacolor hook of ``altacolor_conn_id`` (built on first use, never at parse time)."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=self.altacolor_conn_id)


class StreamingReadOperator(BaseOperator):
    """Base of the operators whose read streams many items into a
    :class:`~airflow_provider_altegio.results.ReadResult`.

    :param output_path: when set, items go to this ``ObjectStoragePath`` (or URL, or local path)
        as JSON lines instead of into the XCom. Templated.
    :param page_size: items per API page.
    """

    #: Used in progress lines, e.g. "Altegio products".
    read_description = "items"
    #: The default and the largest page size of the API.
    default_page_size = 100
    max_page_size = 1000

    def __init__(
        self,
        *,
        output_path: ObjectStoragePath | str | None = None,
        page_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path
        self.page_size = page_size

    def read_page_size(self) -> int:
        """``page_size`` as rendered, or the default.

        :raises InvalidRequestError: not a whole number from 1 to :attr:`max_page_size`.
        """
        if is_blank(self.page_size):
            return self.default_page_size
        return whole_number(self.page_size, "page_size", maximum=self.max_page_size)

    def deliver(self, items: Iterable[Any], page_size: int) -> ReadResult:
        """Consume the models in ``items`` with progress logging, into the read's XCom."""
        from airflow_provider_altegio.results import object_storage_path, write_json_lines

        progress = Progress(self.log, self.read_description, page_size)
        tracked = (item.to_json_dict() for item in progress.track(items))
        kept: list[JsonDict] | None = None
        where: str | None = None
        if is_blank(self.output_path):
            kept = list(tracked)
        else:
            path = object_storage_path(self.output_path)  # type: ignore[arg-type]
            write_json_lines(path, tracked)
            where = str(path)
        progress.done()
        return {"count": progress.count, "items": kept, "path": where}


class AltegioChangedReadOperator(StreamingReadOperator, AltegioBaseOperator):
    """An Altegio list read filtered by a change window (products, stock transactions).

    :param changed_after: only items changed or created since then (datetime or ISO string).
    :param changed_before: only items changed or created before then.
    """

    def __init__(self, *, changed_after: Any = None, changed_before: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changed_after = changed_after
        self.changed_before = changed_before

    def read_window(self) -> JsonDict:
        """The hook keyword arguments shared by these reads: the change window and the page size.

        :raises InvalidRequestError: a bad date or page size, or ``changed_before`` before
            ``changed_after``.
        """
        changed_after, changed_before = read_date_range(
            self.changed_after, self.changed_before, "changed_after", "changed_before"
        )
        return {
            "changed_after": changed_after,
            "changed_before": changed_before,
            "page_size": self.read_page_size(),
        }
