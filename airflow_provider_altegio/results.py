"""The XCom of the provider's list reads, and the reader of the JSON-lines files they write.

Every list read returns one :class:`ReadResult`: the items, or (with ``output_path``) where they
were written as JSON lines. :func:`read_items` yields the items of either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

JsonDict = dict[str, Any]


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
