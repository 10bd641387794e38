"""The values the HTTP core, the dialects and the pagers hand each other (no logic, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeAlias

#: Query parameters: a mapping (``None`` values are dropped) or (name, value) pairs for repeats
#: such as ``ids[]``.
Params: TypeAlias = Mapping[str, Any] | Sequence[tuple[str, Any]]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def param_pairs(params: Params) -> list[tuple[str, Any]]:
    """``params`` as (name, value) pairs, ``None`` values dropped (optional filters pass through)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    return [(k, v) for k, v in pairs if v is not None]


@dataclass(frozen=True)
class RequestSpec:
    """One logical request before authentication is added.

    :param idempotent: whether re-sending cannot apply it twice, which decides what is retried;
        default: the method's HTTP semantics (``True`` suits reads sent as POST).
    """

    method: str
    path: str
    params: Params | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    idempotent: bool | None = None

    def __post_init__(self) -> None:
        method = self.method.upper()
        object.__setattr__(self, "method", method)
        if self.idempotent is None:
            object.__setattr__(self, "idempotent", method in IDEMPOTENT_METHODS)


@dataclass(frozen=True)
class RequestInfo:
    """What an error may say about a request: the method and the public URL (no query string)."""

    method: str
    url: str


class Payload(NamedTuple):
    """What a successful response carries, whichever the API.

    :ivar data: Altegio's ``data``; for Altacolor the whole body (``products``, ``total``...).
    :ivar meta: Altegio's ``meta``; for Altacolor the ``response_status``.
    """

    data: Any
    meta: Any = None


class PayloadShapeError(ValueError):
    """A page's payload lacks the list of items its pager expects."""
