"""Paging strategies: how to ask for the next page and when to stop.

The HTTP core runs the paging loop (:meth:`HttpCore.iter_pages` and its async twin); a
:class:`Pager` only decides. It says which fields the first page needs, and given a page's
payload, which items it carried and what the next page is (or ``None`` to stop). Both APIs'
rules live here once, whichever driver (sync or async) walks them.

* :class:`PageCountPager` for Altegio: ``page``/``count``; the API returns no total, so the walk
  stops at the first page shorter than ``count``.
* :class:`LimitOffsetPager` for Altacolor: ``limit``/``offset`` until ``total`` items were read.

Each pager also says which page follows one that comes back full (:meth:`Pager.after_full`), so
the core can ask for it before the current page is decoded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_altegio.exceptions import InvalidRequestError


class PayloadShapeError(ValueError):
    """A page's payload does not have the shape the pager expects (the core turns it into
    :class:`~airflow_provider_altegio.exceptions.MalformedResponseError`)."""


@dataclass(frozen=True)
class Page:
    """One page to request.

    :param number: 1-based index of the page in this walk.
    :param fields: paging fields to merge into the query (or the form body).
    """

    number: int
    fields: Mapping[str, Any] = field(default_factory=dict)


class Pager(ABC):
    """A paging strategy; see the module docstring.

    :param target: where the paging fields go: ``"params"`` (query string) or ``"data"`` (form).
    """

    target: Literal["params", "data"] = "params"

    @abstractmethod
    def first(self) -> Page:
        """The first page to request."""

    @abstractmethod
    def advance(self, page: Page, payload: Any) -> tuple[list[Any], Page | None]:
        """Split a page's payload into its items and the next page (``None``: done).

        :raises PayloadShapeError: when the payload has no list of items where one belongs.
        """

    @abstractmethod
    def after_full(self, page: Page) -> Page:
        """The page :meth:`advance` names next when ``page`` comes back full."""


def _check_size(value: int, maximum: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidRequestError(name, f"must be an integer from 1 to {maximum} (got {value!r})")
    return value


class PageCountPager(Pager):
    """Altegio paging: ``page`` from ``start_page`` and ``count`` items per page.

    Altegio answers ``{"success", "data": [...], "meta"}`` with no total, so a page shorter than
    ``count`` (or empty) is the last one.

    :param page_size: ``count`` per page, 1 to ``max_page_size``.
    :param start_page: the first page number (1-based, as the API counts).
    :param max_page_size: the largest page size the endpoint allows.
    :raises InvalidRequestError: ``page_size`` out of range.
    """

    def __init__(self, page_size: int = 100, *, start_page: int = 1, max_page_size: int = 1000) -> None:
        self.page_size = _check_size(page_size, max_page_size, "page_size")
        self.start_page = start_page

    def first(self) -> Page:
        return Page(1, {"page": self.start_page, "count": self.page_size})

    def advance(self, page: Page, payload: Any) -> tuple[list[Any], Page | None]:
        # The core hands Altegio payloads over as (data, meta).
        data = payload[0] if isinstance(payload, tuple) else payload
        if data is None:
            data = []
        if not isinstance(data, list):
            raise PayloadShapeError(f"expected a list in 'data', got {type(data).__name__}")
        if len(data) < self.page_size:
            return data, None
        return data, self.after_full(page)

    def after_full(self, page: Page) -> Page:
        return Page(page.number + 1, {"page": self.start_page + page.number, "count": self.page_size})


class LimitOffsetPager(Pager):
    """Altacolor paging: ``limit``/``offset`` until ``total`` items were read.

    :param page_size: ``limit`` per page, 1 to 100 (the API's maximum).
    :param offset: where to start.
    :param items_key: the payload key holding the page's items.
    :raises InvalidRequestError: ``page_size`` out of range or a negative offset.
    """

    target: Literal["params", "data"] = "data"

    def __init__(self, page_size: int = 100, *, offset: int = 0, items_key: str = "products") -> None:
        self.page_size = _check_size(page_size, 100, "page_size")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidRequestError("offset", f"must be an integer >= 0 (got {offset!r})")
        self.offset = offset
        self.items_key = items_key

    def first(self) -> Page:
        return Page(1, {"limit": self.page_size, "offset": self.offset})

    def advance(self, page: Page, payload: Any) -> tuple[list[Any], Page | None]:
        if not isinstance(payload, Mapping):
            raise PayloadShapeError(f"expected an object, got {type(payload).__name__}")
        items = payload.get(self.items_key)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise PayloadShapeError(f"expected a list in {self.items_key!r}, got {type(items).__name__}")
        total = _loose_int(payload.get("total"))
        offset = self._offset(page) + len(items)
        done = not items or (len(items) < self.page_size if total is None else offset >= total)
        if done:
            return items, None
        return items, Page(page.number + 1, {"limit": self.page_size, "offset": offset})

    def after_full(self, page: Page) -> Page:
        return Page(page.number + 1, {"limit": self.page_size, "offset": self._offset(page) + self.page_size})

    def _offset(self, page: Page) -> int:
        return int(page.fields.get("offset", self.offset))


def _loose_int(value: Any) -> int | None:
    """``total`` as the API may send it: a number, a numeric string, or nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
