"""The XCom of the provider's list reads (:class:`ReadResult`: the items, or where they were
written as JSON lines): :func:`deliver` produces it, :func:`read_items` reads either form.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

JsonDict = dict[str, Any]
#: Seconds between two progress lines of a long read.
PROGRESS_INTERVAL = 10.0
log = logging.getLogger(__name__)


class ReadResult(TypedDict):
    """The XCom of a list read.

    :ivar count: how many items were read.
    :ivar items: the items (API field names), or ``None`` when they went to ``path``.
    :ivar path: where the items were written as JSON lines, or ``None``.
    """

    count: int
    items: list[JsonDict] | None
    path: str | None


def object_storage_path(value: ObjectStoragePath | str) -> ObjectStoragePath:
    """``value`` as an ``ObjectStoragePath``; a plain path is a local file."""
    from airflow.sdk import ObjectStoragePath

    if isinstance(value, ObjectStoragePath):
        return value
    text = str(value)
    return ObjectStoragePath(text if "://" in text else f"file://{text}")


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


def read_items(result: Mapping[str, Any]) -> Iterator[JsonDict]:
    """The items of a :class:`ReadResult`, from the XCom itself or streamed from its file.

    :raises ValueError: ``result`` is not a read's result.
    """
    if result.get("items") is not None:
        yield from result["items"]
        return
    if not result.get("path"):
        raise ValueError("not the result of a list read: it has neither 'items' nor 'path'")
    with object_storage_path(result["path"]).open("r") as lines:  # type: ignore[no-untyped-call]
        for line in lines:
            if line.strip():
                yield json.loads(line)


def deliver(
    items: Iterable[Any], what: str, page_size: int, output_path: ObjectStoragePath | str | None = None
) -> ReadResult:
    """Consume the models in ``items`` into a :class:`ReadResult` (into ``output_path`` as JSON
    lines when given), logging progress every :data:`PROGRESS_INTERVAL` s as reading ``what``."""
    started = time.monotonic()
    count = 0
    next_report = started + PROGRESS_INTERVAL

    def report(verb: str) -> None:
        pages = max(1, math.ceil(count / page_size))  # an empty result is still one page
        log.info("%s %s: %d pages, %d items in %.1fs", verb, what, pages, count, time.monotonic() - started)

    def tracked() -> Iterator[JsonDict]:
        nonlocal count, next_report
        for item in items:
            count += 1
            if time.monotonic() >= next_report:
                report("Reading")
                next_report = time.monotonic() + PROGRESS_INTERVAL
            yield item.to_json_dict()

    kept: list[JsonDict] | None = None
    where: str | None = None
    if output_path is None or str(output_path).strip() in ("", "None"):
        kept = list(tracked())
    else:
        path = object_storage_path(output_path)
        write_json_lines(path, tracked())
        where = str(path)
    report("Read")
    return {"count": count, "items": kept, "path": where}
