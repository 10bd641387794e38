"""Hook for the Altacolor (DecoNetwork) Product Management API: product search and lookup.

The username and password travel as ``username``/``password`` query parameters on GET and as
form fields on POST, as the API documents; they never appear in logs or error messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.connection_forms import connection_form_widgets, ui_field_behaviour
from airflow_provider_altegio.core.dialects import AltacolorDialect
from airflow_provider_altegio.core.paging import LimitOffsetPager, Listing
from airflow_provider_altegio.core.types import RequestSpec
from airflow_provider_altegio.exceptions import AltacolorNotFoundError, InvalidRequestError
from airflow_provider_altegio.hooks.base import ApiHook, Extras
from airflow_provider_altegio.models.altacolor import (
    MAX_LIMIT,
    WHOLE_CATALOGUE,
    AltacolorProduct,
    AltacolorProductDetailed,
    AltacolorProductResponse,
    AltacolorSearchResult,
    AltacolorSortBy,
    SearchCondition,
    encode_search,
)
from airflow_provider_altegio.values import whole_number

if TYPE_CHECKING:
    from airflow.sdk import Connection

FIND_PATH = "/api/json/manage_products/find"
GET_PATH = "/api/json/manage_products/get"

Conditions = SearchCondition | Mapping[str, Any] | Sequence[SearchCondition | Mapping[str, Any]]
SortBy = AltacolorSortBy | int | str | None


class AltacolorHook(ApiHook):
    """Talks to the Altacolor Product Management API through the provider's HTTP core.

    :param altacolor_conn_id: the Airflow connection (``conn_type`` ``altacolor``).
    """

    conn_name_attr = "altacolor_conn_id"
    default_conn_name = "altacolor_default"
    conn_type = "altacolor"
    hook_name = "Altacolor"
    # The connection form on Airflow before 3.2, from the provider info's declaration.
    get_connection_form_widgets = classmethod(connection_form_widgets)
    get_ui_field_behaviour = classmethod(ui_field_behaviour)

    def __init__(self, altacolor_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(altacolor_conn_id, **kwargs)
        self.altacolor_conn_id = altacolor_conn_id

    async def aresolve_location_id(self, location_id: int | None = None) -> None:
        """Altacolor has no locations (the triggers ask every hook the same way)."""
        return

    def _dialect(self, conn: Connection, extras: Extras) -> tuple[AltacolorDialect, list[str | None]]:
        if not (conn.host or "").strip():
            raise InvalidRequestError("host", f"connection {self.conn_id!r} needs the store's base URL")
        username = (conn.login or "").strip()
        if not username or not conn.password:
            raise InvalidRequestError(
                "login" if not username else "password",
                f"connection {self.conn_id!r} needs the API username (login) and password",
            )
        return AltacolorDialect(username, conn.password), [username, conn.password]

    # -- search --------------------------------------------------------------------------------

    def search_products(
        self, conditions: Conditions, *, limit: int = MAX_LIMIT, offset: int = 0, sort_by: SortBy = None
    ) -> AltacolorSearchResult:
        """One page of a product search (``POST /api/json/manage_products/find``).

        :param conditions: one condition or several (joined with AND), as
            :class:`SearchCondition` or mappings such as
            ``{"field": "product_code", "condition": "==", "value": "A-1"}``.
        :param limit: rows, 0 to 100.
        :param offset: rows to skip.
        :param sort_by: an :class:`AltacolorSortBy`, its number or its name.
        :raises InvalidRequestError: an invalid condition, limit, offset or sort, before any request.
        :raises AltacolorAPIError: the API reported an error (``AltacolorAuthError`` for 30001/31000).
        """
        form = encode_search(conditions, limit=limit, offset=offset, sort_by=sort_by)
        spec = RequestSpec("POST", FIND_PATH, data=form, idempotent=True)
        return self._call(spec, AltacolorSearchResult.model_validate)

    def search_listing(
        self, conditions: Conditions, *, sort_by: SortBy = None, page_size: int = MAX_LIMIT
    ) -> Listing:
        """The paged search for ``conditions``, validated now, before any request.

        Sorted by product id unless told otherwise: the store's default order is its manual
        sort position, which a shop owner may change during a walk, and offset paging over a
        moving order repeats and skips rows. Rows met twice count once.

        :raises InvalidRequestError: an invalid condition, sort or page size.
        """
        pager = LimitOffsetPager(page_size)
        order = AltacolorSortBy.PRODUCT_ID if sort_by is None else sort_by
        form = encode_search(conditions, limit=pager.page_size, sort_by=order)
        return Listing(RequestSpec("POST", FIND_PATH, data=form, idempotent=True), pager, "product_id")

    def iter_products(
        self, conditions: Conditions, *, sort_by: SortBy = None, page_size: int = MAX_LIMIT
    ) -> Iterator[AltacolorProduct]:
        """Stream every product matching ``conditions``, paging by ``offset`` until ``total``
        (see :meth:`search_listing`).

        :raises InvalidRequestError: an invalid condition, sort or page size, at call time.
        """
        return self._items(
            self.search_listing(conditions, sort_by=sort_by, page_size=page_size), AltacolorProduct
        )

    def iter_catalogue(self, *, page_size: int = MAX_LIMIT) -> Iterator[AltacolorProduct]:
        """Stream the whole supplier catalogue (``product_id > 0``), by product id, each once."""
        return self.iter_products([WHOLE_CATALOGUE], page_size=page_size)

    # -- changes -------------------------------------------------------------------------------

    def changes_listing(
        self, changed_after: datetime | date | str, conditions: Conditions | None = None
    ) -> Listing:
        """The search for products modified after ``changed_after`` (the Date Modified
        condition, joined with ``conditions``).

        :raises InvalidRequestError: a bad date or condition, before any request.
        """
        given = [] if conditions is None else [conditions] if isinstance(conditions, Mapping) else conditions
        return self.search_listing(
            [*given, {"field": "date_modified", "condition": ">", "value": changed_after}]
        )

    def changed_products(
        self,
        changed_after: datetime | date | str,
        *,
        conditions: Conditions | None = None,
        product_ids: Iterable[int] | None = None,
    ) -> list[AltacolorProduct]:
        """The products modified after ``changed_after``, joined with ``conditions``, narrowed to
        ``product_ids`` when given.

        :raises InvalidRequestError: a bad date or condition, before any request.
        """
        wanted = None if product_ids is None else set(product_ids)
        items = self._items(self.changes_listing(changed_after, conditions), AltacolorProduct)
        return [p for p in items if wanted is None or p.product_id in wanted]

    async def achanged_products(
        self,
        changed_after: datetime | date | str,
        *,
        conditions: Conditions | None = None,
        product_ids: Iterable[int] | None = None,
    ) -> list[AltacolorProduct]:
        """Async twin of :meth:`changed_products` (for triggers)."""
        wanted = None if product_ids is None else set(product_ids)
        items: AsyncIterator[AltacolorProduct] = self._aitems(
            self.changes_listing(changed_after, conditions), AltacolorProduct
        )
        return [p async for p in items if wanted is None or p.product_id in wanted]

    # -- lookup --------------------------------------------------------------------------------

    def get_product(self, product_id: int) -> AltacolorProductDetailed:
        """One product's details, variants and prices (``GET /api/json/manage_products/get?id=...``).

        :raises AltacolorNotFoundError: code 40004, or no product in the answer.
        """
        pid = whole_number(product_id, "product_id")
        spec = RequestSpec("GET", GET_PATH, params={"id": pid})
        items = self._call(spec, AltacolorProductResponse.model_validate).items
        if not items:
            raise AltacolorNotFoundError(
                f"product {pid} not found", code=40004, method="GET", url=self.get_conn().url(GET_PATH)
            )
        return items[0]

    def get_products(self, product_ids: Iterable[int]) -> list[AltacolorProductDetailed]:
        """Products' details, variants and prices by id, asked for in chunks of at most 100
        (``ids=a,b,c``): prices come from here, not from a search. Unknown ids are left out.

        :raises InvalidRequestError: an id that is not a positive whole number, before any request.
        """
        ids = [whole_number(pid, f"product_ids[{i}]") for i, pid in enumerate(product_ids)]
        found: list[AltacolorProductDetailed] = []
        for start in range(0, len(ids), MAX_LIMIT):
            chunk = ids[start : start + MAX_LIMIT]
            spec = RequestSpec("GET", GET_PATH, params={"ids": ",".join(map(str, chunk))})
            try:
                found.extend(self._call(spec, AltacolorProductResponse.model_validate).items)
            except AltacolorNotFoundError:
                self.log.info("Altacolor knows none of product ids %s..%s", chunk[0], chunk[-1])
        return found

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET (a product lookup); "not found" still proves the login.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """

        def check(hook: AltacolorHook) -> str:
            with contextlib.suppress(AltacolorNotFoundError):
                hook._call(RequestSpec("GET", GET_PATH, params={"id": 1}))
            return "Connected: the API accepted the credentials"

        return self._connection_check(check)
