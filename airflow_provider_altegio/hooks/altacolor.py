"""Hook for the Altacolor (DecoNetwork) Product Management API: product search and lookup.

The username and password travel as ``username``/``password`` query parameters on GET and as
form fields on POST, as the API documents; they never appear in logs or error messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.connection_forms import connection_form_widgets, ui_field_behaviour
from airflow_provider_altegio.core.dialects import AltacolorDialect
from airflow_provider_altegio.core.paging import LimitOffsetPager
from airflow_provider_altegio.exceptions import AltacolorNotFoundError, InvalidRequestError
from airflow_provider_altegio.hooks.base import ApiHook, Extras, read_model
from airflow_provider_altegio.models.altacolor import (
    MAX_LIMIT,
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
        return self._request("POST", FIND_PATH, read_model(AltacolorSearchResult), data=form, idempotent=True)

    def _search(self, conditions: Conditions, sort_by: SortBy, page_size: int) -> dict[str, Any]:
        """The keyword arguments of a paged search (validated now, before any request).

        Sorted by product id unless told otherwise: the store's default order is its manual
        sort position, which a shop owner may change during a walk, and offset paging over a
        moving order repeats and skips rows. Rows met twice count once.
        """
        pager = LimitOffsetPager(page_size)
        order = AltacolorSortBy.PRODUCT_ID if sort_by is None else sort_by
        form = encode_search(conditions, limit=pager.page_size, sort_by=order)
        return {
            "pager": pager,
            "method": "POST",
            "path": FIND_PATH,
            "data": form,
            "idempotent": True,
            "unique_by": "product_id",
        }

    def iter_products(
        self, conditions: Conditions, *, sort_by: SortBy = None, page_size: int = MAX_LIMIT
    ) -> Iterator[AltacolorProduct]:
        """Stream every product matching ``conditions``, paging by ``offset`` until ``total``.

        :param sort_by: default: by product id (``sortby=4``), the one order offset paging can
            rely on.
        :param page_size: rows per request, 1 to 100.
        :raises InvalidRequestError: an invalid condition, sort or page size, at call time.
        """
        return self._pages(AltacolorProduct, **self._search(conditions, sort_by, page_size))

    def iter_catalogue(self, *, page_size: int = MAX_LIMIT) -> Iterator[AltacolorProduct]:
        """Stream the whole supplier catalogue (``product_id > 0``), by product id, each once."""
        return self.iter_products(
            [{"field": "product_id", "condition": ">", "value": "0"}], page_size=page_size
        )

    # -- changes -------------------------------------------------------------------------------

    @staticmethod
    def _changed_search(changed_after: datetime | date | str, conditions: Conditions | None) -> list[Any]:
        given = [] if conditions is None else [conditions] if isinstance(conditions, Mapping) else conditions
        return [*given, {"field": "date_modified", "condition": ">", "value": changed_after}]

    def changed_products(
        self,
        changed_after: datetime | date | str,
        *,
        conditions: Conditions | None = None,
        product_ids: Iterable[int] | None = None,
    ) -> list[AltacolorProduct]:
        """The products modified after ``changed_after`` (the Date Modified condition, joined
        with ``conditions``), narrowed to ``product_ids`` when given.

        :raises InvalidRequestError: a bad date or condition, before any request.
        """
        search = self._search(self._changed_search(changed_after, conditions), None, MAX_LIMIT)
        return self._matching(AltacolorProduct, "product_id", product_ids, search)

    async def achanged_products(
        self,
        changed_after: datetime | date | str,
        *,
        conditions: Conditions | None = None,
        product_ids: Iterable[int] | None = None,
    ) -> list[AltacolorProduct]:
        """Async twin of :meth:`changed_products` (for triggers)."""
        search = self._search(self._changed_search(changed_after, conditions), None, MAX_LIMIT)
        return await self._amatching(AltacolorProduct, "product_id", product_ids, search)

    # -- lookup --------------------------------------------------------------------------------

    def get_product(self, product_id: int) -> AltacolorProductDetailed:
        """One product's details, variants and prices (``GET /api/json/manage_products/get?id=...``).

        :raises AltacolorNotFoundError: code 40004, or no product in the answer.
        """
        pid = whole_number(product_id, "product_id")
        items = self._request("GET", GET_PATH, read_model(AltacolorProductResponse), params={"id": pid}).items
        if not items:
            raise AltacolorNotFoundError(
                f"product {pid} not found", code=40004, method="GET", url=self.get_conn().url(GET_PATH)
            )
        return items[0]

    def get_products(self, product_ids: Iterable[int]) -> list[AltacolorProductDetailed]:
        """Products' details, variants and prices by id, asked for in chunks of at most 100
        (``ids=a,b,c``): prices come from here, not from a search.

        Ids the API does not know are left out of the result.

        :raises InvalidRequestError: an id that is not a positive whole number, before any request.
        """
        ids = [whole_number(pid, f"product_ids[{i}]") for i, pid in enumerate(product_ids)]
        found: list[AltacolorProductDetailed] = []
        for start in range(0, len(ids), MAX_LIMIT):
            chunk = ids[start : start + MAX_LIMIT]
            try:
                response = self._request(
                    "GET",
                    GET_PATH,
                    read_model(AltacolorProductResponse),
                    params={"ids": ",".join(map(str, chunk))},
                )
            except AltacolorNotFoundError:
                self.log.info("Altacolor knows none of product ids %s..%s", chunk[0], chunk[-1])
                continue
            found.extend(response.items)
        return found

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET (a product lookup); "not found" still proves the login.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """

        def check() -> str:
            with contextlib.suppress(AltacolorNotFoundError):  # "not found" still proves the login
                self._request("GET", GET_PATH, lambda data: None, params={"id": 1})
            return "Connected: the API accepted the credentials"

        return self._connection_check(check)
