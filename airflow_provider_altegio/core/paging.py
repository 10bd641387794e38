"""Paged reads: a :class:`Listing` says what to read and a :class:`Pager` how to page it (the
HTTP core walks the pages; a pager only decides, so both drivers share its rules).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_altegio.core.types import Payload, PayloadShapeError, RequestSpec, param_pairs
from airflow_provider_altegio.values import to_int, whole_number


@dataclass(frozen=True)
class Page:
    """One page to request: its 1-based number, the paging fields to send and, once known, how
    many items a full page holds."""

    number: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    served: int | None = None


def _items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadShapeError(f"expected a list in {where!r}, got {type(value).__name__}")
    return value


class Pager(ABC):
    """A paging strategy; ``in_form`` says whether its fields go in the form body (else the query)."""

    in_form = False

    @abstractmethod
    def first(self) -> Page:
        """The first page to request."""

    @abstractmethod
    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        """The page's items and the next page (``None``: done).

        :raises PayloadShapeError: the payload has no list of items where one belongs.
        """


class PageCountPager(Pager):
    """Altegio paging: ``page`` and ``count`` items per page; a short page is the last.

    No maximum ``count`` is documented. Above :attr:`TRUSTED_PAGE_SIZE`, a short *first* page
    may be the API's own cap rather than the end, so one more page is asked: empty, the walk is
    over; not, its length is the page size the API serves, and the walk goes on by it. A cap
    costs nothing then, and a catalogue shorter than one page one request more.

    :raises InvalidRequestError: ``page_size`` outside 1..``max_page_size``.
    """

    #: The page size a short page is trusted to end a walk at (the hook's default all along).
    TRUSTED_PAGE_SIZE = 100

    def __init__(self, page_size: int = 100, *, max_page_size: int = 1000) -> None:
        self.page_size = whole_number(page_size, "page_size", maximum=max_page_size)

    def first(self) -> Page:
        return Page(1, {"page": 1, "count": self.page_size})

    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        items = _items(payload.data, "data")
        served = page.served or self.page_size
        if len(items) >= served or (page.number == 1 and items and self.page_size > self.TRUSTED_PAGE_SIZE):
            following = {"page": page.number + 1, "count": self.page_size}
            return items, Page(page.number + 1, following, served=min(len(items), served))
        return items, None


class LimitOffsetPager(Pager):
    """Altacolor paging: ``limit``/``offset`` (form fields) until ``total`` items were read.

    :raises InvalidRequestError: ``page_size`` outside 1..100 (the API's maximum).
    """

    in_form = True

    def __init__(self, page_size: int = 100, *, items_key: str = "products") -> None:
        self.page_size = whole_number(page_size, "page_size", maximum=100)
        self.items_key = items_key

    def first(self) -> Page:
        return Page(1, {"limit": self.page_size, "offset": 0})

    def advance(self, page: Page, payload: Payload) -> tuple[list[Any], Page | None]:
        body = payload.data if isinstance(payload.data, Mapping) else {}
        items = _items(body.get(self.items_key), self.items_key)
        try:
            total: int | None = to_int(body.get("total"))
        except ValueError:
            total = None
        offset = int(page.fields["offset"]) + len(items)
        if not items or (len(items) < self.page_size if total is None else offset >= total):
            return items, None
        return items, Page(page.number + 1, {"limit": self.page_size, "offset": offset})


@dataclass(frozen=True)
class Listing:
    """A paged read of one endpoint.

    :param request: the request without its paging fields.
    :param pager: how to page it.
    :param unique_by: the item field that names an item: rows that shift between two page
        requests come twice in a walk, and count once.
    """

    request: RequestSpec
    pager: Pager
    unique_by: str | None = None

    def page_request(self, page: Page) -> RequestSpec:
        """The request of ``page``: the listing's, its paging fields set."""
        spec = self.request
        if self.pager.in_form:
            return replace(spec, data={**(spec.data or {}), **page.fields})
        kept = [(k, v) for k, v in param_pairs(spec.params or {}) if k not in page.fields]
        return replace(spec, params=[*kept, *page.fields.items()])
