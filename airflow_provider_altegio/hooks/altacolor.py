"""Hook for the Altacolor (DecoNetwork) Product Management API: product search and lookup.

Connection (``conn_type`` ``altacolor``)::

    {"conn_type": "altacolor", "host": "https://one.altacolor.com",
     "login": "<api username>", "password": "<api password>"}

The username and password travel as ``username``/``password`` query parameters on GET and as
form fields on POST, as the API documents; they never appear in logs or error messages (URLs in
messages carry no query string). Optional extras: ``timeout``, ``max_retries``,
``requests_per_second``, ``requests_per_minute``, ``verify_ssl``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_altegio.core.dialects import AltacolorDialect
from airflow_provider_altegio.core.paging import LimitOffsetPager
from airflow_provider_altegio.exceptions import (
    AltacolorNotFoundError,
    InvalidRequestError,
)
from airflow_provider_altegio.hooks.base import ApiHook, Extras, page_items, parse_model, positive_int
from airflow_provider_altegio.models.altacolor import (
    MAX_LIMIT,
    AltacolorProduct,
    AltacolorProductResponse,
    AltacolorSearchResult,
    AltacolorSortBy,
    SearchCondition,
    encode_search,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection

FIND_PATH = "/api/json/manage_products/find"
GET_PATH = "/api/json/manage_products/get"

Conditions = SearchCondition | Mapping[str, Any] | Sequence[SearchCondition | Mapping[str, Any]]


class AltacolorHook(ApiHook):
    """Talks to the Altacolor Product Management API through the provider's HTTP core.

    :param altacolor_conn_id: the Airflow connection (``conn_type`` ``altacolor``).
    """

    conn_name_attr = "altacolor_conn_id"
    default_conn_name = "altacolor_default"
    conn_type = "altacolor"
    hook_name = "Altacolor"
    default_base_url: ClassVar[str] = ""

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
        self,
        conditions: Conditions,
        *,
        limit: int = MAX_LIMIT,
        offset: int = 0,
        sort_by: AltacolorSortBy | int | str | None = None,
    ) -> AltacolorSearchResult:
        """One page of a product search (``POST /api/json/manage_products/find``).

        :param conditions: one condition or several (joined with AND), as
            :class:`SearchCondition` or mappings such as
            ``{"field": "product_code", "condition": "==", "value": "A-1"}``.
        :param limit: rows, 0 to 100.
        :param offset: rows to skip.
        :param sort_by: an :class:`AltacolorSortBy`, its number or its name.
        :raises InvalidRequestError: an invalid condition, limit, offset or sort, before any request.
        :raises AltacolorAPIError: the API reported an ERROR (``AltacolorAuthError`` for 30001/31000).
        """
        form = encode_search(conditions, limit=limit, offset=offset, sort_by=sort_by)
        core = self.get_conn()
        body = core.request("POST", FIND_PATH, data=form, idempotent=True)
        return parse_model(
            AltacolorSearchResult, body, what="search result", method="POST", url=self._url(FIND_PATH)
        )

    def _search_form(
        self, conditions: Conditions, sort_by: AltacolorSortBy | int | str | None, page_size: int
    ) -> tuple[LimitOffsetPager, dict[str, str]]:
        pager = LimitOffsetPager(page_size)  # validates page_size (1..100)
        return pager, encode_search(conditions, limit=page_size, sort_by=sort_by)

    def _product(self, item: Any) -> AltacolorProduct:
        return parse_model(AltacolorProduct, item, what="product", method="POST", url=self._url(FIND_PATH))

    def iter_products(
        self,
        conditions: Conditions,
        *,
        sort_by: AltacolorSortBy | int | str | None = None,
        page_size: int = MAX_LIMIT,
    ) -> Iterator[AltacolorProduct]:
        """Stream every product matching ``conditions``, paging by ``offset`` until ``total``.

        :param page_size: rows per request, 1 to 100.
        :raises InvalidRequestError: an invalid condition, sort or page size, at call time.
        """
        pager, form = self._search_form(conditions, sort_by, page_size)
        core = self.get_conn()

        def walk() -> Iterator[AltacolorProduct]:
            pages = core.iter_pages(
                pager, "POST", FIND_PATH, data=form, idempotent=True, item_model=AltacolorProduct
            )
            for page in pages:
                yield from page_items(page, AltacolorProduct, self._product)

        return walk()

    async def aiter_products(
        self,
        conditions: Conditions,
        *,
        sort_by: AltacolorSortBy | int | str | None = None,
        page_size: int = MAX_LIMIT,
    ) -> AsyncIterator[AltacolorProduct]:
        """Async twin of :meth:`iter_products` (for triggers): same requests, same limiter."""
        pager, form = self._search_form(conditions, sort_by, page_size)
        core = await self.aget_conn()
        pages = core.aiter_pages(
            pager, "POST", FIND_PATH, data=form, idempotent=True, item_model=AltacolorProduct
        )
        async for page in pages:
            for item in page_items(page, AltacolorProduct, self._product):
                yield item

    # -- lookup --------------------------------------------------------------------------------

    def get_product(self, product_id: int | str) -> AltacolorProduct:
        """One product by id (``GET /api/json/manage_products/get?id=...``).

        :raises AltacolorNotFoundError: code 40004, or no product in the answer.
        """
        pid = positive_int(product_id, "product_id")
        body = self.get_conn().request("GET", GET_PATH, params={"id": pid})
        items = self._product_response(body).items
        if not items:
            raise AltacolorNotFoundError(
                f"product {pid} not found", code=40004, method="GET", url=self._url(GET_PATH)
            )
        return items[0]

    def _product_response(self, body: Any) -> AltacolorProductResponse:
        url = self._url(GET_PATH)
        return parse_model(AltacolorProductResponse, body, what="product response", method="GET", url=url)

    def get_products(self, product_ids: Iterable[int | str]) -> list[AltacolorProduct]:
        """Products by id, asked for in chunks of at most 100 (``ids=a,b,c``).

        Ids the API does not know are left out of the result.

        :raises InvalidRequestError: an id that is not a positive whole number, before any request.
        """
        ids = [positive_int(pid, f"product_ids[{i}]") for i, pid in enumerate(product_ids)]
        core = self.get_conn()
        found: list[AltacolorProduct] = []
        for start in range(0, len(ids), MAX_LIMIT):
            chunk = ids[start : start + MAX_LIMIT]
            try:
                body = core.request("GET", GET_PATH, params={"ids": ",".join(map(str, chunk))})
            except AltacolorNotFoundError:
                self.log.info("Altacolor knows none of product ids %s..%s", chunk[0], chunk[-1])
                continue
            found.extend(self._product_response(body).items)
        return found

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET (a product lookup).

        A "product not found" answer still proves the credentials work.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """
        try:
            self.get_conn().request("GET", GET_PATH, params={"id": 1})
        except AltacolorNotFoundError:
            pass
        except Exception as exc:  # the UI wants a message for any failure, not a traceback
            return False, f"{type(exc).__name__}: {self._redact(str(exc))}"
        return True, "Connected: the API accepted the credentials"
