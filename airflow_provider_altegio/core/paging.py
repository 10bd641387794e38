"""Paging rules: which fields ask for a page, and which page (if any) comes next.

The HTTP core walks the pages (:meth:`HttpCore.iter_pages` and its async twin); a :class:`Pager`
only decides, so both APIs' rules live here once for both drivers.

* :class:`PageCountPager` for Altegio: ``page``/``count``; the API returns no total, so the walk
  stops at the first page shorter than ``count``.
* :class:`LimitOffsetPager` for Altacolor: ``limit``/``offset`` until ``total`` items were read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_altegio.values import to_int, whole_number

if TYPE_CHECKING:
    from airflow_provider_altegio.core.dialects import Payload


class PayloadShapeError(ValueError):
    """A page's payload lacks the list of items the pager expects (the core reports it as
    :class:`~airflow_provider_altegio.exceptions.MalformedResponseError`)."""


@dataclass(frozen=True)
class Page:
    """One page to request.

    :param number: 1-based index of the page in this walk.
    :param fields: paging fields to merge into the query (or the form body).
    """

    number: int
    fields: Mapping[str, Any] = field(default_factory=dict)


def _item_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadShapeError(f"expected a list in {where!r}, got {type(value).__name__}")
    return value


class Pager(ABC):
    """A paging strategy; see the module docstring.

    :param target: where the paging fields go: ``"params"`` (query string) or ``"data"`` (form).
    """

    target: Literal["params", "data"] = "params"

    @abstractmethod
    def first(self) -> Page:
        """The first page to request."""

    @abstractmethod
    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        """Split a page's payload into its items and the next page (``None``: done).

        :raises PayloadShapeError: the payload has no list of items where one belongs.
        """


class PageCountPager(Pager):
    """Altegio paging: ``page`` and ``count`` items per page; a short page is the last.

    :param page_size: ``count`` per page, 1 to ``max_page_size``.
    :param max_page_size: the largest page size the endpoint allows.
    :raises InvalidRequestError: ``page_size`` out of range.
    """

    def __init__(self, page_size: int = 100, *, max_page_size: int = 1000) -> None:
        self.page_size = whole_number(page_size, "page_size", maximum=max_page_size)

    def first(self) -> Page:
        return Page(1, {"page": 1, "count": self.page_size})

    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        items = _item_list(payload.data, "data")
        if len(items) < self.page_size:
            return items, None
        return items, Page(page.number + 1, {"page": page.number + 1, "count": self.page_size})


class LimitOffsetPager(Pager):
    """Altacolor paging: ``limit``/``offset`` until ``total`` items were read.

    :param page_size: ``limit`` per page, 1 to 100 (the API's maximum).
    :param items_key: the payload key holding the page's items.
    :raises InvalidRequestError: ``page_size`` out of range.
    """

    target: Literal["params", "data"] = "data"

    def __init__(self, page_size: int = 100, *, items_key: str = "products") -> None:
        self.page_size = whole_number(page_size, "page_size", maximum=100)
        self.items_key = items_key

    def first(self) -> Page:
        return Page(1, {"limit": self.page_size, "offset": 0})

    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        body = payload.data if isinstance(payload.data, Mapping) else {}
        items = _item_list(body.get(self.items_key), self.items_key)
        try:
            total: int | None = to_int(body.get("total"))
        except ValueError:
            total = None
        offset = int(page.fields["offset"]) + len(items)
        done = not items or (len(items) < self.page_size if total is None else offset >= total)
        if done:
            return items, None
        return items, Page(page.number + 1, {"limit": self.page_size, "offset": offset})
