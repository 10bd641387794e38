"""Plumbing shared by the provider's operators and sensors.

Everything here is cheap to import: DAG files import the operator modules on every parse, so
the hooks (httpx) and the models (pydantic) are imported inside the functions that need them.

What lives here:

* input coercion for templated fields (ids, dates, JSON structures), raising
  :class:`~airflow_provider_altegio.exceptions.InvalidRequestError` that names the field;
* :class:`HookOwner`: the hook a task builds on first use and closes when ``execute`` ends;
* :class:`AltegioBaseOperator` / :class:`AltacolorBaseOperator`: the connection id, the lazily
  built hook and the location fallback that every Altegio operator has;
* :class:`StreamingReadMixin`: a long read returned as XCom or written as JSON lines to an
  ``output_path``, with progress logging;
* :func:`record_asset_events`: asset events for the outlets a user declared;
* the idempotency key of a task instance and the comment stamp that carries it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_altegio.exceptions import InvalidRequestError

if TYPE_CHECKING:
    import logging

    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.hooks.base import ApiHook
    from airflow_provider_altegio.models.common import RequestModel

JsonDict = dict[str, Any]
_M = TypeVar("_M", bound="RequestModel")
_H = TypeVar("_H", bound="ApiHook")

#: Seconds between two progress lines of a long read.
PROGRESS_INTERVAL = 10.0


# --------------------------------------------------------------------------------------------
# Coercion of templated inputs
# --------------------------------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    """``None`` or a string that renders to nothing (an unset Jinja param renders as ``""``)."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def coerce_int(value: Any, field: str, *, minimum: int | None = 1, optional: bool = True) -> int | None:
    """An id or count given as int or as a rendered string (``"123"``).

    :raises InvalidRequestError: not a whole number, below ``minimum``, or missing when required.
    """
    if is_blank(value):
        if optional:
            return None
        raise InvalidRequestError(field, "is required")
    if isinstance(value, bool):
        raise InvalidRequestError(field, f"must be a whole number, got {value!r}")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError(value)
    except (TypeError, ValueError, OverflowError):  # int(float("inf")) overflows
        raise InvalidRequestError(field, f"must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise InvalidRequestError(field, f"must be at least {minimum}, got {number}")
    return number


def coerce_int_list(value: Any, field: str) -> list[int] | None:
    """A list of ids: a list, a comma-separated string, or a JSON/Python list rendered by Jinja."""
    if is_blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = coerce_structure(text, field) if text.startswith("[") else text.split(",")
    if isinstance(value, (int, str)):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InvalidRequestError(field, f"must be a list of ids, got {type(value).__name__}")
    ids = [coerce_int(item, f"{field}[{i}]", optional=False) for i, item in enumerate(value)]
    return [i for i in ids if i is not None]


def coerce_structure(value: Any, field: str) -> Any:
    """A list or mapping that may arrive as text (a rendered Jinja template).

    Jinja renders ``{{ ti.xcom_pull(...) }}`` to the Python ``repr`` of the value unless the DAG
    renders native objects, so both JSON and Python literals are accepted.

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


def coerce_datetime(value: Any, field: str) -> datetime | None:
    """A datetime, a date, or an ISO / API-formatted string; naive values are taken as UTC.

    :raises InvalidRequestError: a string that is not a date.
    """
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a datetime or an ISO date string, got {value!r}")
    from airflow_provider_altegio.models.common import parse_api_datetime

    try:
        return coerce_datetime(parse_api_datetime(value.strip()), field)
    except (TypeError, ValueError):
        raise InvalidRequestError(field, f"is not a date or datetime: {value!r}") from None


def coerce_date_range(
    start: Any, end: Any, start_field: str, end_field: str
) -> tuple[datetime | None, datetime | None]:
    """Two optional bounds (see :func:`coerce_datetime`), checked to be in order.

    Equal bounds are accepted: a manual run's data interval is often empty.

    :raises InvalidRequestError: a bound is not a date, or ``end_field`` is before ``start_field``.
    """
    low, high = coerce_datetime(start, start_field), coerce_datetime(end, end_field)
    if low is not None and high is not None and high < low:
        raise InvalidRequestError(end_field, f"must not be before {start_field}")
    return low, high


def validate_request(model: type[_M], data: Any, field: str) -> _M:
    """Validate a mapping (or its JSON text) into a request model, naming ``field`` on failure.

    :raises InvalidRequestError: the first problem, e.g. ``product.title: is required``.
    """
    return model.from_input(coerce_structure(data, field), prefix=field)


#: With no condition the Altacolor API answers 50002; this one matches the whole catalogue.
ALL_ALTACOLOR_PRODUCTS: JsonDict = {"field": "product_id", "condition": ">", "value": "0"}


def altacolor_conditions(value: Any, field: str, *, sort_by: Any = None) -> list[Any]:
    """Altacolor search conditions as a list, validated (and ``sort_by`` with them).

    Accepts one condition mapping, a list of them, or their JSON text; none means the whole
    catalogue. Each condition may be written for people or with the raw codes (see
    :class:`~airflow_provider_altegio.models.altacolor.SearchCondition`).

    :raises InvalidRequestError: ``conditions[i].<field>`` of the first bad condition, or
        ``sort_by``.
    """
    from airflow_provider_altegio.models.altacolor import encode_search

    value = coerce_structure(value, field)
    if is_blank(value) or value == []:
        items: list[Any] = [dict(ALL_ALTACOLOR_PRODUCTS)]
    elif isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidRequestError(field, f"must be a condition mapping or a list of them, got {value!r:.60}")
    # Encoding a first page validates every condition and the sort key exactly as the hook will.
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
# Progress of long reads and JSON-lines output
# --------------------------------------------------------------------------------------------


class Progress:
    """Counts items of a long read and logs pages, items and elapsed time every ``interval`` s.

    Pages are derived from the page size, since the hooks stream items and not pages.
    """

    def __init__(
        self, log: logging.Logger | Any, what: str, page_size: int | None, interval: float = PROGRESS_INTERVAL
    ) -> None:
        self.log = log
        self.what = what
        self.page_size = page_size
        self.interval = interval
        self.count = 0
        self.started = time.monotonic()
        self._next_report = self.started + interval

    def pages(self) -> int:
        """Pages read so far (at least one: an empty result is still one page)."""
        return max(1, math.ceil(self.count / self.page_size)) if self.page_size else 0

    def _line(self, verb: str) -> None:
        elapsed = time.monotonic() - self.started
        pages = f"{self.pages()} pages, " if self.page_size else ""
        self.log.info("%s %s: %s%d items in %.1fs", verb, self.what, pages, self.count, elapsed)

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


def write_json_lines(path: ObjectStoragePath, items: Iterable[Any]) -> int:
    """Write each item as one JSON line to ``path`` (any ObjectStoragePath scheme); return the count."""
    count = 0
    if path.protocol in ("", "file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:  # type: ignore[no-untyped-call]
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False, default=str))
            out.write("\n")
            count += 1
    return count


def as_object_storage_path(value: Any) -> ObjectStoragePath | None:
    """``output_path`` as given (ObjectStoragePath, str URL or local path) or ``None``."""
    if is_blank(value):
        return None
    from airflow.sdk import ObjectStoragePath

    if isinstance(value, ObjectStoragePath):
        return value
    text = str(value)
    return ObjectStoragePath(text if "://" in text else f"file://{text}")


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


def _closing_hook(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``execute`` so that the outermost call closes the task's hook however it ends."""

    @functools.wraps(execute)
    def wrapper(self: HookOwner, *args: Any, **kwargs: Any) -> Any:
        if self._hook_in_use:  # a subclass's execute calling super().execute(): the outer call closes
            return execute(self, *args, **kwargs)
        self._hook_in_use = True
        try:
            return execute(self, *args, **kwargs)
        finally:
            self._hook_in_use = False
            self.close_hook()

    wrapper._closes_hook = True  # type: ignore[attr-defined]
    return wrapper


class HookOwner(BaseOperator):
    """A task that builds its hook on first use and closes it when ``execute`` ends.

    Every subclass's ``execute`` is wrapped (in :meth:`__init_subclass__`, so no operator has to
    remember it) in a ``try/finally`` that closes the hook: success, failure, deferral and
    reschedule alike. Left open, the hook's connection pool outlives the task and its sockets
    are only reclaimed by the garbage collector (with ``ResourceWarning: unclosed socket``).
    A closed hook still works: it reconnects on its next request.
    """

    _hook: ApiHook | None = None
    _hook_in_use = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        execute = cls.__dict__.get("execute")
        if execute is not None and not getattr(execute, "_closes_hook", False):
            setattr(cls, "execute", _closing_hook(execute))  # noqa: B010 (mypy: no method assignment)

    def own_hook(self, factory: Callable[[], _H]) -> _H:
        """The task's hook, built by ``factory`` on first use (never at DAG parse time)."""
        if self._hook is None:
            self._hook = factory()
        return self._hook  # type: ignore[return-value]  # factory is the same for one task

    def close_hook(self) -> None:
        """Close the hook's connection pool, if a hook was built; the next use builds a new one."""
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.close()


class AltegioBaseOperator(HookOwner):
    """Base of every Altegio operator: the connection id, the hook and the location fallback.

    :param altegio_conn_id: Airflow connection of type ``altegio``.
    :param location_id: location (company) id; falls back to the connection's ``location_id`` extra.
        Templated.
    """

    template_fields: tuple[str, ...] = ("location_id",)
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        location_id: int | str | None = None,
        altegio_conn_id: str = "altegio_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.location_id = location_id
        self.altegio_conn_id = altegio_conn_id

    @property
    def hook(self) -> AltegioHook:
        """The Altegio hook of ``altegio_conn_id`` (built on first use, closed after ``execute``)."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return self.own_hook(lambda: AltegioHook(altegio_conn_id=self.altegio_conn_id))

    def resolve_location_id(self) -> int:
        """The location to use: the argument, else the connection's ``location_id`` extra.

        :raises InvalidRequestError: (field ``location_id``) when neither is set or it is not an id.
        """
        return self.hook.resolve_location_id(coerce_int(self.location_id, "location_id"))

    def finish_write(self, context: Context, result: JsonDict, **extra: Any) -> JsonDict:
        """Record asset events for the declared outlets (extra: ``extra`` plus the location); return
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


class AltacolorBaseOperator(HookOwner):
    """Base of every Altacolor operator: the connection id and the hook.

    :param altacolor_conn_id: Airflow connection of type ``altacolor``.
    """

    ui_color = "#f4ece8"

    def __init__(self, *, altacolor_conn_id: str = "altacolor_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.altacolor_conn_id = altacolor_conn_id

    @property
    def hook(self) -> AltacolorHook:
        """The Altacolor hook of ``altacolor_conn_id`` (built on first use, closed after ``execute``)."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return self.own_hook(lambda: AltacolorHook(altacolor_conn_id=self.altacolor_conn_id))


class StreamingReadMixin(BaseOperator):
    """A read that streams many items: returned as a JSON list, or written as JSON lines.

    Subclasses pass their hook's item stream (as JSON dicts) to :meth:`deliver`.

    :param output_path: when set, items go to this ``ObjectStoragePath`` (or URL / local path) as
        JSON lines and the XCom is ``{"path": ..., "count": ...}``. Templated.
    :param page_size: items per API page (the hook's default when ``None``).
    """

    #: Used in progress lines, e.g. "Altegio products".
    read_description = "items"

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

    def deliver(self, items: Iterable[JsonDict], page_size: int | None) -> list[JsonDict] | dict[str, Any]:
        """Consume ``items`` with progress logging; the list itself, or where it was written.

        :param page_size: the page size in use, to count pages in the progress lines.
        """
        path = as_object_storage_path(self.output_path)
        progress = Progress(self.log, self.read_description, page_size)
        tracked = progress.track(items)
        if path is None:
            result: list[JsonDict] | dict[str, Any] = list(tracked)
        else:
            write_json_lines(path, tracked)
            result = {"path": str(path), "count": progress.count}
        progress.done()
        return result


class AltegioChangedReadOperator(StreamingReadMixin, AltegioBaseOperator):
    """An Altegio list read filtered by a change window (products, stock transactions).

    :param changed_after: only items changed or created since then (datetime or ISO string).
        Templated in subclasses.
    :param changed_before: only items changed or created before then.
    :param location_id, altegio_conn_id: see :class:`AltegioBaseOperator`.
    :param output_path, page_size: see :class:`StreamingReadMixin`.

    Subclasses pass their hook's item stream, read with :meth:`read_window`, to :meth:`read`.
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
        from airflow_provider_altegio.hooks.altegio import DEFAULT_PAGE_SIZE

        changed_after, changed_before = coerce_date_range(
            self.changed_after, self.changed_before, "changed_after", "changed_before"
        )
        return {
            "changed_after": changed_after,
            "changed_before": changed_before,
            "page_size": coerce_int(self.page_size, "page_size") or DEFAULT_PAGE_SIZE,
        }

    def read(self, items: Iterable[Any], window: JsonDict) -> list[JsonDict] | dict[str, Any]:
        """Deliver the models read with ``window`` as JSON dicts (see :meth:`deliver`)."""
        return self.deliver((item.to_json_dict() for item in items), window["page_size"])
