"""Hook for the Altegio (YCLIENTS) B2B v1 inventory API: goods, categories, storages, operations.

Connection (``conn_type`` ``altegio``)::

    {"conn_type": "altegio", "host": "https://api.alteg.io/api/v1",
     "extra": {"partner_token": "...", "user_token": "...", "location_id": 123456}}

``host`` empty means ``https://api.alteg.io/api/v1``; any other base (YCLIENTS, the sandbox)
works. Without a ``user_token``, the connection's login and password are exchanged once for one
through ``POST /auth``. Optional extras: ``timeout``, ``max_retries``, ``requests_per_second``
(5), ``requests_per_minute`` (200), ``verify_ssl`` (true).

Every method validates its input before any request (:class:`InvalidRequestError` naming the
field), and every failure of the API is one of the typed errors in
:mod:`airflow_provider_altegio.exceptions`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from airflow_provider_altegio.core.dialects import AltegioDialect
from airflow_provider_altegio.core.paging import PageCountPager
from airflow_provider_altegio.exceptions import (
    AltegioNotFoundError,
    AmbiguousWriteError,
    InvalidRequestError,
    MalformedResponseError,
)
from airflow_provider_altegio.hooks.base import (
    ApiHook,
    Extras,
    amask_secrets,
    mask_secrets,
    page_items,
    parse_model,
    positive_int,
)
from airflow_provider_altegio.models.altegio import (
    AuthResult,
    Category,
    CategoryCreate,
    CategoryNode,
    CategoryUpdate,
    Product,
    ProductCreate,
    ProductTreeElement,
    ProductUpdate,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
)
from airflow_provider_altegio.models.common import format_altegio_datetime, parse_api_datetime

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_altegio.core.http import HttpCore, Params
    from airflow_provider_altegio.models.common import ApiModel, RequestModel

T = TypeVar("T")
A = TypeVar("A", bound="ApiModel")

DEFAULT_BASE_URL = "https://api.alteg.io/api/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DateLike = datetime | date | str


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One endpoint call: what to send and how to read the ``data`` that comes back."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Params | None = None
    json: Any = None
    idempotent: bool | None = None


@dataclass(frozen=True)
class _PagedCall(Generic[A]):
    """A paged listing: the path, its filters, the pager, the items' model and how to validate
    one item that the one-pass page read left as JSON."""

    path: str
    model: type[A]
    parse_item: Callable[[Any], A]
    pager: PageCountPager
    params: dict[str, Any] = field(default_factory=dict)


def _date_param(value: DateLike | None, field: str, *, date_only: bool = False) -> str | None:
    """A date filter in the form Altegio documents.

    ``changed_after``/``changed_before`` go as ``2026-01-01T12:00:00-0500``; period bounds
    (``start_date``/``end_date``) as ``YYYY-MM-DD``.

    :raises InvalidRequestError: naming ``field`` when the value is not a date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if date_only:
            if isinstance(value, date) and not isinstance(value, datetime):
                return value.isoformat()
            moment = value if isinstance(value, datetime) else parse_api_datetime(value)
            return moment.date().isoformat()
        return format_altegio_datetime(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(field, str(exc)) from None


def _page_size(value: int | None, default: int | None) -> int:
    size = value if value is not None else (default or DEFAULT_PAGE_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequestError(
            "page_size", f"must be a whole number from 1 to {MAX_PAGE_SIZE}, got {size!r}"
        )
    return size


class AltegioHook(ApiHook):
    """Talks to the Altegio B2B v1 API through the provider's HTTP core.

    :param altegio_conn_id: the Airflow connection (``conn_type`` ``altegio``).
    :param page_size: default page size of the paged listings (1 to 1000, default 100).
    """

    conn_name_attr = "altegio_conn_id"
    default_conn_name = "altegio_default"
    conn_type = "altegio"
    hook_name = "Altegio"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    def __init__(
        self, altegio_conn_id: str = default_conn_name, *, page_size: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(altegio_conn_id, **kwargs)
        self.altegio_conn_id = altegio_conn_id
        self.page_size = _page_size(page_size, DEFAULT_PAGE_SIZE) if page_size is not None else None
        self._location_id: int | None = None
        self._login: str | None = None
        self._password: str | None = None
        self._auth_lock = threading.Lock()

    # -- connection ----------------------------------------------------------------------------

    def _dialect(self, conn: Connection, extras: Extras) -> tuple[AltegioDialect, list[str | None]]:
        partner_token = extras.string("partner_token")
        if not partner_token:
            raise InvalidRequestError(
                "partner_token", f"is required in the extras of connection {self.conn_id!r}"
            )
        user_token = extras.string("user_token")
        location = extras.raw("location_id")
        self._location_id = positive_int(location, "extra.location_id") if location is not None else None
        self._login = (conn.login or "").strip() or None
        self._password = conn.password or None
        dialect = AltegioDialect(partner_token, user_token, extra_secrets=[self._password])
        return dialect, [partner_token, user_token, self._login]

    def _dialect_of(self, core: HttpCore) -> AltegioDialect:
        dialect = core.dialect
        assert isinstance(dialect, AltegioDialect)
        return dialect

    @property
    def location_id(self) -> int | None:
        """The connection's default location (``location_id`` extra), or ``None``.

        :raises InvalidRequestError: the extra is not a positive whole number.
        """
        self.get_conn()
        return self._location_id

    def resolve_location_id(self, location_id: int | str | None = None) -> int:
        """``location_id`` if given, else the connection's default.

        :raises InvalidRequestError: field ``location_id`` when neither is set or it is not a
            positive whole number.
        """
        if location_id is not None and not (isinstance(location_id, str) and not location_id.strip()):
            return positive_int(location_id, "location_id")
        if self._core is None:
            self.get_conn()
        if self._location_id is None:
            raise InvalidRequestError(
                "location_id",
                f"is required: pass it, or set the location_id extra of connection {self.conn_id!r}",
            )
        return self._location_id

    async def aresolve_location_id(self, location_id: int | str | None = None) -> int:
        """Async twin of :meth:`resolve_location_id` (looks the connection up without blocking).

        :raises InvalidRequestError: as :meth:`resolve_location_id`.
        """
        await self.aget_conn()
        return self.resolve_location_id(location_id)

    # -- user token ----------------------------------------------------------------------------

    def _needs_user_token(self, core: HttpCore) -> bool:
        return not self._dialect_of(core).has_user_token and bool(self._login and self._password)

    def _auth_call(self) -> dict[str, Any]:
        return {"method": "POST", "path": "/auth", "json": {"login": self._login, "password": self._password}}

    def _accept_user_token(self, core: HttpCore, payload: Any) -> list[str]:
        data = payload[0] if isinstance(payload, tuple) else payload
        result = parse_model(AuthResult, data, what="auth result", method="POST", url=self._url("/auth"))
        if not result.user_token:
            raise MalformedResponseError(
                "no user_token in the auth response", method="POST", url=self._url("/auth")
            )
        authorization = self._dialect_of(core).set_user_token(result.user_token)
        self.log.info("Obtained an Altegio user token through POST /auth for connection %s", self.conn_id)
        return [result.user_token, authorization]

    def _ensure_user_token(self, core: HttpCore) -> None:
        """Exchange login and password for a user token once (``POST /auth``), if needed."""
        if self._needs_user_token(core):
            with self._auth_lock:
                if self._needs_user_token(core):
                    payload = core.request(**self._auth_call(), idempotent=True)
                    mask_secrets(self._accept_user_token(core, payload))

    async def _aensure_user_token(self, core: HttpCore) -> None:
        if self._needs_user_token(core):
            payload = await core.arequest(**self._auth_call(), idempotent=True)
            if self._needs_user_token(core):  # a concurrent coroutine may have finished first
                await amask_secrets(self._accept_user_token(core, payload))

    # -- running calls, sync and async ----------------------------------------------------------

    def _finish(self, call: _Call[T], payload: Any) -> T:
        data = payload[0] if isinstance(payload, tuple) else payload
        if call.idempotent is not False:
            return call.parse(data)
        try:
            return call.parse(data)
        except MalformedResponseError as exc:
            # The API accepted the write but its answer is unreadable: it may exist now.
            raise AmbiguousWriteError(
                f"{exc.message}; the request may have been applied", method=call.method, url=exc.url
            ) from exc

    def _send_kwargs(self, call: _Call[Any]) -> dict[str, Any]:
        return {"params": call.params, "json": call.json, "idempotent": call.idempotent}

    def _run(self, build: Callable[[], _Call[T]]) -> T:
        core = self.get_conn()
        call = build()  # validates input before any request
        self._ensure_user_token(core)
        return self._finish(call, core.request(call.method, call.path, **self._send_kwargs(call)))

    async def _arun(self, build: Callable[[], _Call[T]]) -> T:
        core = await self.aget_conn()
        call = build()
        await self._aensure_user_token(core)
        return self._finish(call, await core.arequest(call.method, call.path, **self._send_kwargs(call)))

    def _paged(self, build: Callable[[], _PagedCall[A]]) -> Iterator[A]:
        core = self.get_conn()
        call = build()  # validated now, when the method is called, not at the first next()

        def walk() -> Iterator[A]:
            self._ensure_user_token(core)
            pages = core.iter_pages(call.pager, "GET", call.path, params=call.params, item_model=call.model)
            for page in pages:
                yield from page_items(page, call.model, call.parse_item)

        return walk()

    async def _apaged(self, build: Callable[[], _PagedCall[A]]) -> AsyncIterator[A]:
        core = await self.aget_conn()
        call = build()
        await self._aensure_user_token(core)
        pages = core.aiter_pages(call.pager, "GET", call.path, params=call.params, item_model=call.model)
        async for page in pages:
            for item in page_items(page, call.model, call.parse_item):
                yield item

    # -- parsing helpers -----------------------------------------------------------------------

    def _model(self, model: type[A], what: str, path: str, method: str = "GET") -> Callable[[Any], A]:
        url = self._url(path)
        return lambda data: parse_model(model, data, what=what, method=method, url=url)

    def _single(self, model: type[A], what: str, path: str, method: str = "GET") -> Callable[[Any], A]:
        """Read ``data`` that is one object, or (as the goods endpoints send it) a list of one."""
        url = self._url(path)

        def parse(data: Any) -> A:
            if isinstance(data, list):
                if not data:
                    raise AltegioNotFoundError(
                        f"no {what} in the response", status_code=200, method=method, url=url
                    )
                data = data[0]
            return parse_model(model, data, what=what, method=method, url=url)

        return parse

    def _many(self, model: type[A], what: str, path: str) -> Callable[[Any], list[A]]:
        url = self._url(path)

        def parse(data: Any) -> list[A]:
            if data is None:
                return []
            if not isinstance(data, list):
                raise MalformedResponseError(
                    f"expected a list of {what}, got {type(data).__name__}", method="GET", url=url
                )
            return [parse_model(model, item, what=what, method="GET", url=url) for item in data]

        return parse

    @staticmethod
    def _nothing(data: Any) -> None:
        return None

    # -- call descriptions shared by the product, category and storage-operation endpoints -----

    def _create_call(
        self,
        request: type[RequestModel],
        value: Any,
        base: str,
        location_id: int | str | None,
        model: type[A],
        what: str,
    ) -> _Call[A]:
        """``POST {base}/{location_id}`` with a validated body; never re-sent once it may have
        reached the server."""
        body = self._validate_input(request, value).to_api()
        path = f"{base}/{self.resolve_location_id(location_id)}"
        return _Call("POST", path, self._single(model, what, path, "POST"), json=body, idempotent=False)

    def _update_call(
        self,
        id_field: str,
        item_id: int | str,
        request: type[RequestModel],
        changes: Any,
        base: str,
        location_id: int | str | None,
        model: type[A],
        what: str,
    ) -> _Call[A]:
        """``PUT {base}/{location_id}/{item_id}`` with the validated, non-empty changes."""
        item = positive_int(item_id, id_field)
        body = self._validate_input(request, changes).to_api()
        if not body:
            raise InvalidRequestError("changes", "must change at least one field")
        path = f"{base}/{self.resolve_location_id(location_id)}/{item}"
        return _Call("PUT", path, self._single(model, what, path, "PUT"), json=body)

    def _delete_call(
        self, id_field: str, item_id: int | str, base: str, location_id: int | str | None
    ) -> _Call[None]:
        """``DELETE {base}/{location_id}/{item_id}``."""
        item = positive_int(item_id, id_field)
        return _Call("DELETE", f"{base}/{self.resolve_location_id(location_id)}/{item}", self._nothing)

    # -- connection test -----------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET: the storages of the default location, or the user's
        companies when the connection names no location.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """
        try:
            location = self.location_id
            if location is not None:
                storages = self.list_storages(location)
                return True, f"Connected: location {location} has {len(storages)} storage(s)"
            self._run(lambda: _Call("GET", "/companies", self._nothing, params={"my": 1, "count": 1}))
            return True, "Connected (the connection names no default location_id)"
        except Exception as exc:  # the UI wants a message for any failure, not a traceback
            return False, f"{type(exc).__name__}: {self._redact(str(exc))}"

    # -- products ------------------------------------------------------------------------------

    def _products_call(
        self,
        location_id: int | str | None,
        term: str | None,
        category_id: int | str | None,
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
    ) -> _PagedCall[Product]:
        path = f"/goods/{self.resolve_location_id(location_id)}"
        filters = {
            "term": term or None,
            "category_id": positive_int(category_id, "category_id") if category_id is not None else None,
        }
        return self._changed_paged_call(
            path, Product, "product", filters, changed_after, changed_before, page_size
        )

    def iter_products(
        self,
        location_id: int | str | None = None,
        *,
        term: str | None = None,
        category_id: int | str | None = None,
        changed_after: DateLike | None = None,
        changed_before: DateLike | None = None,
        page_size: int | None = None,
    ) -> Iterator[Product]:
        """Stream the products of a location (``GET /goods/{location_id}``), page by page.

        Only the page being consumed is held. Altegio returns no total; the walk stops at the
        first page shorter than ``page_size``.

        :param term: name, article or barcode.
        :param changed_after: datetime or string; sent as ``2026-01-01T12:00:00-0500``.
        :raises InvalidRequestError: a bad filter, before any request.
        """
        return self._paged(
            lambda: self._products_call(
                location_id, term, category_id, changed_after, changed_before, page_size
            )
        )

    def aiter_products(
        self,
        location_id: int | str | None = None,
        *,
        term: str | None = None,
        category_id: int | str | None = None,
        changed_after: DateLike | None = None,
        changed_before: DateLike | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Product]:
        """Async twin of :meth:`iter_products` (for triggers): same requests, same limiter."""
        return self._apaged(
            lambda: self._products_call(
                location_id, term, category_id, changed_after, changed_before, page_size
            )
        )

    def _get_product_call(self, product_id: int | str, location_id: int | str | None) -> _Call[Product]:
        pid = positive_int(product_id, "product_id")
        path = f"/goods/{self.resolve_location_id(location_id)}/{pid}"
        return _Call("GET", path, self._single(Product, "product", path))

    def get_product(self, product_id: int | str, location_id: int | str | None = None) -> Product:
        """One product (``GET /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        return self._run(lambda: self._get_product_call(product_id, location_id))

    async def aget_product(self, product_id: int | str, location_id: int | str | None = None) -> Product:
        """Async twin of :meth:`get_product`."""
        return await self._arun(lambda: self._get_product_call(product_id, location_id))

    def create_product(
        self, product: ProductCreate | Mapping[str, Any], location_id: int | str | None = None
    ) -> Product:
        """Create a product (``POST /goods/{location_id}``).

        :param product: a :class:`ProductCreate` or a mapping of its fields.
        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._run(
            lambda: self._create_call(ProductCreate, product, "/goods", location_id, Product, "product")
        )

    def update_product(
        self,
        product_id: int | str,
        changes: ProductUpdate | Mapping[str, Any],
        location_id: int | str | None = None,
    ) -> Product:
        """Change a product's fields (``PUT /goods/{location_id}/{product_id}``), including
        ``correction_rules``.

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        return self._run(
            lambda: self._update_call(
                "product_id", product_id, ProductUpdate, changes, "/goods", location_id, Product, "product"
            )
        )

    def delete_product(self, product_id: int | str, location_id: int | str | None = None) -> None:
        """Delete a product (``DELETE /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        self._run(lambda: self._delete_call("product_id", product_id, "/goods", location_id))

    def search_goods(
        self, term: str | None = None, *, count: int | None = None, location_id: int | str | None = None
    ) -> list[ProductTreeElement]:
        """Categories, then products, matching ``term`` (``GET /goods/search/{location_id}``).

        Without ``term`` the API returns the root categories and ignores ``count``.

        :param count: at most this many elements (1 to 100).
        :raises InvalidRequestError: ``count`` out of range.
        """

        def build() -> _Call[list[ProductTreeElement]]:
            if count is not None and positive_int(count, "count") > 100:
                raise InvalidRequestError("count", f"must be at most 100, got {count!r}")
            path = f"/goods/search/{self.resolve_location_id(location_id)}"
            parse = self._many(ProductTreeElement, "product tree element", path)
            return _Call("GET", path, parse, params={"term": term or None, "count": count})

        return self._run(build)

    # -- categories ----------------------------------------------------------------------------

    def _list_categories_call(
        self, parent_category_id: int | str, location_id: int | str | None
    ) -> _Call[list[Category]]:
        parent = positive_int(parent_category_id, "parent_category_id", allow_zero=True)
        path = f"/goods_categories/{self.resolve_location_id(location_id)}/{parent}"
        return _Call("GET", path, self._many(Category, "category", path))

    def list_categories(
        self, parent_category_id: int | str = 0, location_id: int | str | None = None
    ) -> list[Category]:
        """The child categories of ``parent_category_id`` (0: the root ones)
        (``GET /goods_categories/{location_id}/{parent_category_id}``)."""
        return self._run(lambda: self._list_categories_call(parent_category_id, location_id))

    async def alist_categories(
        self, parent_category_id: int | str = 0, location_id: int | str | None = None
    ) -> list[Category]:
        """Async twin of :meth:`list_categories`."""
        return await self._arun(lambda: self._list_categories_call(parent_category_id, location_id))

    def get_categories(
        self, category_ids: Iterable[int | str], location_id: int | str | None = None
    ) -> list[Category]:
        """Categories by id (``GET /goods_categories/multiple/{location_id}?ids[]=...``).

        :raises InvalidRequestError: an id that is not a positive whole number.
        """
        ids = [positive_int(cid, f"category_ids[{i}]") for i, cid in enumerate(category_ids)]
        if not ids:
            return []

        def build() -> _Call[list[Category]]:
            path = f"/goods_categories/multiple/{self.resolve_location_id(location_id)}"
            return _Call(
                "GET", path, self._many(Category, "category", path), params=[("ids[]", i) for i in ids]
            )

        return self._run(build)

    def get_category_node(
        self,
        category_id: int | str,
        location_id: int | str | None = None,
        *,
        page: int = 1,
        count: int = 1000,
    ) -> CategoryNode:
        """A category with its direct children
        (``GET /goods/category_node/{location_id}/{category_id}``).

        :param page: page of the children (1-based).
        :param count: children per page (1 to 1000).
        :raises InvalidRequestError: an id, page or count out of range.
        """

        def build() -> _Call[CategoryNode]:
            cid = positive_int(category_id, "category_id")
            positive_int(page, "page")
            if positive_int(count, "count") > 1000:
                raise InvalidRequestError("count", f"must be at most 1000, got {count}")
            path = f"/goods/category_node/{self.resolve_location_id(location_id)}/{cid}"
            return _Call(
                "GET",
                path,
                self._single(CategoryNode, "category node", path),
                params={"page": page, "count": count},
            )

        return self._run(build)

    def create_category(
        self, category: CategoryCreate | Mapping[str, Any], location_id: int | str | None = None
    ) -> Category:
        """Create a category (``POST /goods_categories/{location_id}``).

        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._run(
            lambda: self._create_call(
                CategoryCreate, category, "/goods_categories", location_id, Category, "category"
            )
        )

    def update_category(
        self,
        category_id: int | str,
        changes: CategoryUpdate | Mapping[str, Any],
        location_id: int | str | None = None,
    ) -> Category:
        """Change a category (``PUT /goods_categories/{location_id}/{category_id}``).

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        return self._run(
            lambda: self._update_call(
                "category_id",
                category_id,
                CategoryUpdate,
                changes,
                "/goods_categories",
                location_id,
                Category,
                "category",
            )
        )

    def delete_category(self, category_id: int | str, location_id: int | str | None = None) -> None:
        """Delete a category (``DELETE /goods_categories/{location_id}/{category_id}``)."""
        self._run(lambda: self._delete_call("category_id", category_id, "/goods_categories", location_id))

    # -- storages and transactions --------------------------------------------------------------

    def _list_storages_call(self, location_id: int | str | None) -> _Call[list[Storage]]:
        path = f"/storages/{self.resolve_location_id(location_id)}"
        return _Call("GET", path, self._many(Storage, "storage", path))

    def list_storages(self, location_id: int | str | None = None) -> list[Storage]:
        """The storages of a location (``GET /storages/{location_id}``)."""
        return self._run(lambda: self._list_storages_call(location_id))

    async def alist_storages(self, location_id: int | str | None = None) -> list[Storage]:
        """Async twin of :meth:`list_storages`."""
        return await self._arun(lambda: self._list_storages_call(location_id))

    def _transactions_call(
        self,
        location_id: int | str | None,
        start_date: DateLike | None,
        end_date: DateLike | None,
        document_id: int | str | None,
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
    ) -> _PagedCall[Transaction]:
        path = f"/storages/transactions/{self.resolve_location_id(location_id)}"
        filters = {
            "start_date": _date_param(start_date, "start_date", date_only=True),
            "end_date": _date_param(end_date, "end_date", date_only=True),
            "document_id": positive_int(document_id, "document_id") if document_id is not None else None,
        }
        return self._changed_paged_call(
            path, Transaction, "transaction", filters, changed_after, changed_before, page_size
        )

    def _changed_paged_call(
        self,
        path: str,
        model: type[A],
        what: str,
        filters: dict[str, Any],
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
    ) -> _PagedCall[A]:
        """A paged listing filtered by ``filters`` and the documented change window."""
        params = {
            **filters,
            "changed_after": _date_param(changed_after, "changed_after"),
            "changed_before": _date_param(changed_before, "changed_before"),
        }
        pager = PageCountPager(_page_size(page_size, self.page_size), max_page_size=MAX_PAGE_SIZE)
        return _PagedCall(path, model, self._model(model, what, path), pager, params)

    def iter_transactions(
        self,
        location_id: int | str | None = None,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        document_id: int | str | None = None,
        changed_after: DateLike | None = None,
        changed_before: DateLike | None = None,
        page_size: int | None = None,
    ) -> Iterator[Transaction]:
        """Stream the goods transactions of a location (``GET /storages/transactions/{location_id}``).

        :param start_date: first day of the period (sent as ``YYYY-MM-DD``).
        :param end_date: last day of the period (sent as ``YYYY-MM-DD``).
        :param changed_after: sent as ``2026-01-01T12:00:00-0500``.
        :raises InvalidRequestError: a bad filter, before any request.
        """
        return self._paged(
            lambda: self._transactions_call(
                location_id, start_date, end_date, document_id, changed_after, changed_before, page_size
            )
        )

    def aiter_transactions(
        self,
        location_id: int | str | None = None,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        document_id: int | str | None = None,
        changed_after: DateLike | None = None,
        changed_before: DateLike | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Transaction]:
        """Async twin of :meth:`iter_transactions`."""
        return self._apaged(
            lambda: self._transactions_call(
                location_id, start_date, end_date, document_id, changed_after, changed_before, page_size
            )
        )

    def create_storage_operation(
        self, operation: StorageOperationRequest | Mapping[str, Any], location_id: int | str | None = None
    ) -> StorageOperationResult:
        """Create a storage document with its transactions
        (``POST /storage_operations/operation/{location_id}``).

        Never re-sent once it may have reached the server: a 429 or a connection that never
        opened is retried, anything else ambiguous raises :class:`AmbiguousWriteError` and the
        caller decides how to find out whether it was applied.

        :param operation: a :class:`StorageOperationRequest` or a mapping of its fields.
        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the operation may have been applied.
        """
        return self._run(
            lambda: self._create_call(
                StorageOperationRequest,
                operation,
                "/storage_operations/operation",
                location_id,
                StorageOperationResult,
                "storage operation result",
            )
        )

    def _document_call(self, document_id: int | str, location_id: int | str | None) -> _Call[StorageDocument]:
        doc = positive_int(document_id, "document_id")
        path = f"/storage_operations/documents/{self.resolve_location_id(location_id)}/{doc}"
        return _Call("GET", path, self._single(StorageDocument, "storage document", path))

    def get_storage_document(
        self, document_id: int | str, location_id: int | str | None = None
    ) -> StorageDocument:
        """A storage document (``GET /storage_operations/documents/{location_id}/{document_id}``).

        :raises AltegioNotFoundError: no such document.
        """
        return self._run(lambda: self._document_call(document_id, location_id))

    async def aget_storage_document(
        self, document_id: int | str, location_id: int | str | None = None
    ) -> StorageDocument:
        """Async twin of :meth:`get_storage_document`."""
        return await self._arun(lambda: self._document_call(document_id, location_id))

    def list_document_transactions(self, document_id: int | str) -> list[Transaction]:
        """The goods transactions of a document
        (``GET /storage_operations/documents/goods_transactions/{document_id}``)."""

        def build() -> _Call[list[Transaction]]:
            path = (
                f"/storage_operations/documents/goods_transactions/{positive_int(document_id, 'document_id')}"
            )
            return _Call("GET", path, self._many(Transaction, "transaction", path))

        return self._run(build)
