"""OpenLineage for the provider's operators: dataset names, and what a task read and wrote (the
naming scheme is on the docs' Lineage page).

Nothing here imports OpenLineage: :mod:`.facets` does, and only the operators' lineage methods,
which Airflow calls when the ``openlineage`` extra is installed, import it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any, TypeVar
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}
#: Object-store schemes and the name the OpenLineage naming spec gives them.
_STORE_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}

F = TypeVar("F", bound=Callable[..., Any])


def api_namespace(api: str, base_url: str) -> str:
    """``<api>://<host>[:<port>]`` of an API's base URL: no credentials, path or query, and no
    port when it is the scheme's default (``altegio://api.alteg.io``)."""
    url = urlsplit(base_url)
    host = url.hostname or ""
    port = url.port
    return f"{api}://{host}:{port}" if port and port != _DEFAULT_PORTS.get(url.scheme) else f"{api}://{host}"


def file_dataset(path: str) -> tuple[str, str]:
    """``(namespace, name)`` of a file, as the OpenLineage naming spec says: ``file`` and the
    absolute path for a local file; ``<scheme>://<bucket>`` and the key for an object store
    (``s3://bucket``, ``gs://bucket``). User info (an ObjectStoragePath's connection id) is dropped."""
    url = urlsplit(path if "://" in path else f"file://{path}")
    scheme = url.scheme.lower()
    if scheme in ("file", "local"):
        return ("file", url.path) if not url.hostname else (f"file://{url.hostname}", url.path)
    host = url.hostname or ""
    if url.port:
        host = f"{host}:{url.port}"
    return f"{_STORE_SCHEMES.get(scheme, scheme)}://{host}", url.path.lstrip("/")


def dataset_names(templates: tuple[str, ...], values: Mapping[str, Any]) -> list[str]:
    """Each template filled from ``values`` (``locations/{location_id}/products``); a template
    naming a value that is missing or ``None`` is left out (a transfer's target, say)."""
    names = []
    for template in templates:
        fields = [name for _, name, _, _ in Formatter().parse(template) if name]
        if all(values.get(name) is not None for name in fields):
            names.append(template.format(**values))
    return names


@dataclass
class Observed:
    """What one ``execute`` left for lineage: its XCom (``None`` when it failed)."""

    result: Any = None


def observe(execute: F) -> F:
    """``execute`` that keeps its result on the operator as ``observed``."""

    @functools.wraps(execute)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.observed = seen = Observed()
        seen.result = execute(self, *args, **kwargs)
        return seen.result

    return run  # type: ignore[return-value]


def summarize(result: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """What the run facet shows of an XCom: the count of a read, and the ``fields`` named
    (ids written, counts of a bulk update, the documents booked with their keys)."""
    if isinstance(result, list):
        return {"count": len(result)}
    if not isinstance(result, Mapping):
        return {}
    summary = {name: result[name] for name in fields if name in result}
    if "count" in result and "items" in result:  # a ReadResult
        summary["count"] = result["count"]
    return summary


def read_count(result: Any) -> int | None:
    """The number of items a list read returned (its XCom), else ``None``."""
    if isinstance(result, list):
        return len(result)
    if isinstance(result, Mapping) and "count" in result and "items" in result:
        return int(result["count"])
    return None


@dataclass
class Lineage:
    """What a task reads and writes, in plain values (:func:`.facets.operator_lineage` makes the
    OpenLineage objects of it).

    :ivar namespace: the API's namespace (:func:`api_namespace`).
    :ivar reads: dataset names read in ``namespace``.
    :ivar writes: dataset names written in ``namespace``.
    :ivar files: files written (URLs or paths), with how many items went into each (or ``None``).
    :ivar rows_read: items read, shown on the one dataset of a list read.
    :ivar run: the fields of the provider's run facet.
    """

    namespace: str
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    files: list[tuple[str, int | None]] = field(default_factory=list)
    rows_read: int | None = None
    run: dict[str, Any] = field(default_factory=dict)
