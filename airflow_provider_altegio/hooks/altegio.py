"""Hook for the Altegio (YCLIENTS) B2B v1 inventory API: goods, categories, storages, operations.

One method per endpoint. Each validates its input before any request
(:class:`InvalidRequestError` naming the field), and every failure of the API is one of the
typed errors of :mod:`..exceptions`. Workflows built from several calls (low stock, bulk
updates, exactly-once bookings) live in :mod:`airflow_provider_altegio.workflows`.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar

from airflow_provider_altegio.connection_forms import connection_form_widgets, ui_field_behaviour
from airflow_provider_altegio.core.dialects import AltegioDialect
from airflow_provider_altegio.core.paging import Listing, PageCountPager
from airflow_provider_altegio.core.types import RequestSpec
from airflow_provider_altegio.exceptions import AltegioNotFoundError, InvalidRequestError
from airflow_provider_altegio.hooks.base import ApiHook, Extras, amask_secrets, mask_secrets, parse_list
from airflow_provider_altegio.models.altegio import (
    AuthResult,
    Category,
    CategoryCreate,
    CategoryNode,
    CategoryUpdate,
    Company,
    DocumentRequest,
    Product,
    ProductCreate,
    ProductTreeElement,
    ProductUpdate,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
    TransactionRequest,
)
from airflow_provider_altegio.models.common import format_altegio_datetime, parse_api_datetime
from airflow_provider_altegio.values import is_blank, optional_whole_number, structure, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from pydantic import BaseModel
    from typing_extensions import Unpack

    from airflow_provider_altegio.core.http import HttpCore

M = TypeVar("M", bound="BaseModel")

DEFAULT_BASE_URL = "https://api.alteg.io/api/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DateLike = datetime | date | str


def _date_param(value: DateLike | None, field: str, *, date_only: bool = False) -> str | None:
    """A date filter in the form Altegio documents: ``changed_after``/``changed_before`` as
    ``2026-01-01T12:00:00-0500``, period bounds (``start_date``/``end_date``) as ``YYYY-MM-DD``.

    :raises InvalidRequestError: naming ``field`` when the value is not a date.
    """
    if is_blank(value):
        return None
    try:
        if date_only:
            if isinstance(value, date) and not isinstance(value, datetime):
                return value.isoformat()
            return parse_api_datetime(value).date().isoformat()
        return format_altegio_datetime(value)  # type: ignore[arg-type]  # not blank: not None
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(field, str(exc)) from None


class ProductFilters(TypedDict, total=False):
    """The filters of a product listing.

    :ivar term: name, article or barcode.
    :ivar category_id: only products of this category.
    :ivar changed_after: changed or created since then; sent as ``2026-01-01T12:00:00-0500``.
    :ivar changed_before: changed or created before then.
    :ivar page_size: products per page (1 to 1000; default: the hook's).
    """

    term: str | None
    category_id: int | None
    changed_after: DateLike | None
    changed_before: DateLike | None
    page_size: int | None


def parse_one(model: type[M]) -> Callable[[Any], M]:
    """A parser of a payload that is one ``model`` object, or a list holding one (as the goods
    endpoints have been seen to answer); an empty list means there is no such object."""

    def parse(data: Any) -> M:
        if isinstance(data, list):
            if not data:
                raise AltegioNotFoundError(f"no {model.__name__} in the response", status_code=200)
            data = data[0]
        return model.model_validate(data)

    return parse


def _moved(module: str, name: str) -> Callable[..., Any]:
    """A deprecated hook method that calls ``workflows.<module>.<name>(hook, ...)``."""

    def method(self: AltegioHook, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"AltegioHook.{name} is deprecated; use airflow_provider_altegio.workflows.{module}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(f"airflow_provider_altegio.workflows.{module}"), name)(
            self, *args, **kwargs
        )

    method.__doc__ = f"Deprecated: :func:`airflow_provider_altegio.workflows.{module}.{name}`."
    return method


class AltegioHook(ApiHook):
    """Talks to the Altegio B2B v1 API through the provider's HTTP core.

    :param altegio_conn_id: the Airflow connection (``conn_type`` ``altegio``).
    :param page_size: default page size of the paged listings (1 to 1000, default 100).
    """

    conn_name_attr = "altegio_conn_id"
    default_conn_name = "altegio_default"
    conn_type = "altegio"
    hook_name = "Altegio"
    # The connection form on Airflow before 3.2, from the provider info's declaration.
    get_connection_form_widgets = classmethod(connection_form_widgets)
    get_ui_field_behaviour = classmethod(ui_field_behaviour)
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    api_path: ClassVar[str] = "/api/v1"

    def __init__(
        self, altegio_conn_id: str = default_conn_name, *, page_size: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(altegio_conn_id, **kwargs)
        self.altegio_conn_id = altegio_conn_id
        self.page_size = whole_number(page_size or DEFAULT_PAGE_SIZE, "page_size", maximum=MAX_PAGE_SIZE)
        self._location_id: int | None = None
        self._master_id: int | None = None
        self._zones: dict[int, tzinfo] = {}
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
        self._location_id = extras.id("location_id")
        self._master_id = extras.id("master_id")
        self._login = (conn.login or "").strip() or None
        self._password = conn.password or None
        can_log_in = bool(self._login and self._password)
        dialect = AltegioDialect(partner_token, user_token, password=self._password, can_log_in=can_log_in)
        return dialect, [partner_token, user_token, self._login]

    @property
    def master_id(self) -> int | None:
        """The connection's default team member for storage operations (``master_id`` extra).

        :raises InvalidRequestError: the extra is not a positive whole number.
        """
        self.get_conn()
        return self._master_id

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
        if not is_blank(location_id):
            return whole_number(location_id, "location_id")
        if self.location_id is None:
            raise InvalidRequestError(
                "location_id",
                f"is required: pass it, or set the location_id extra of connection {self.conn_id!r}",
            )
        return self.location_id

    async def aresolve_location_id(self, location_id: int | str | None = None) -> int:
        """Async twin of :meth:`resolve_location_id`: the connection is read without blocking."""
        await self.aget_conn()
        return self.resolve_location_id(location_id)

    def resolve_location_ids(self, location_ids: Iterable[int] | None = None) -> list[int]:
        """The locations of a chain-wide job: ``location_ids`` sorted without repeats, or the
        connection's default location alone when none are given (no request either way).

        :raises InvalidRequestError: naming ``location_ids[i]`` or ``location_id``.
        """
        given = list(location_ids or [])
        if not given:
            return [self.resolve_location_id(None)]
        return sorted({whole_number(value, f"location_ids[{i}]") for i, value in enumerate(given)})

    # -- user token ----------------------------------------------------------------------------

    def _needs_user_token(self, core: HttpCore) -> bool:
        dialect = core.dialect
        assert isinstance(dialect, AltegioDialect)
        return not dialect.has_user_token and bool(self._login and self._password)

    def _auth(self) -> RequestSpec:
        return RequestSpec(
            "POST", "/auth", json={"login": self._login, "password": self._password}, idempotent=True
        )

    def _use_user_token(self, core: HttpCore, result: AuthResult) -> list[str]:
        dialect = core.dialect
        assert isinstance(dialect, AltegioDialect)
        self.log.info("Obtained an Altegio user token through POST /auth for connection %s", self.conn_id)
        return [result.user_token, dialect.set_user_token(result.user_token)]

    def _before_request(self, core: HttpCore) -> None:
        """Exchange login and password for a user token once (``POST /auth``), if needed."""
        if self._needs_user_token(core):
            with self._auth_lock:
                if self._needs_user_token(core):
                    result = core.request(self._auth(), AuthResult.model_validate)
                    mask_secrets(*self._use_user_token(core, result))

    async def _abefore_request(self, core: HttpCore) -> None:
        if self._needs_user_token(core):
            result = await core.arequest(self._auth(), AuthResult.model_validate)
            if self._needs_user_token(core):  # a concurrent coroutine may have finished first
                await amask_secrets(*self._use_user_token(core, result))

    # -- the shapes of the endpoints -----------------------------------------------------------

    def _path(self, base: str, location_id: int | str | None, *ids: tuple[str, Any]) -> str:
        """``{base}/{location}/{id}...``, each id validated (``(field, value)`` pairs)."""
        parts = [str(self.resolve_location_id(location_id))]
        parts += [str(whole_number(value, field)) for field, value in ids]
        return "/".join([base, *parts])

    def _listing(
        self,
        path: str,
        filters: Mapping[str, Any],
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
        unique_by: str,
    ) -> Listing:
        """A listing with the documented change window, de-duplicated by ``unique_by``."""
        params = {
            **filters,
            "changed_after": _date_param(changed_after, "changed_after"),
            "changed_before": _date_param(changed_before, "changed_before"),
        }
        pager = PageCountPager(
            self.page_size if page_size is None else page_size, max_page_size=MAX_PAGE_SIZE
        )
        return Listing(RequestSpec("GET", path, params=params), pager, unique_by)

    def _create(
        self, path: str, request: type[ProductCreate | CategoryCreate], fields: Any, model: type[M]
    ) -> M:
        """``POST`` the validated fields; never re-sent once it may have reached the server."""
        body = request.from_input(fields).to_api()
        return self._call(RequestSpec("POST", path, json=body, idempotent=False), parse_one(model))

    def _update(
        self, path: str, request: type[ProductUpdate | CategoryUpdate], changes: Any, model: type[M]
    ) -> M:
        """``PUT`` the validated, non-empty changes."""
        body = request.from_input(changes).to_api()
        if not body:
            raise InvalidRequestError("changes", "must change at least one field")
        return self._call(RequestSpec("PUT", path, json=body), parse_one(model))

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET: the storages of the default location, or the user's
        companies when the connection names no location.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """

        def check(hook: AltegioHook) -> str:
            location = hook.location_id
            if location is not None:
                return f"Connected: location {location} has {len(hook.list_storages(location))} storage(s)"
            hook._call(RequestSpec("GET", "/companies", params={"my": 1, "count": 1}))
            return "Connected (the connection names no default location_id)"

        return self._connection_check(check)

    # -- products ------------------------------------------------------------------------------

    def products_listing(self, location_id: int | None = None, **filters: Unpack[ProductFilters]) -> Listing:
        """The paged ``GET /goods/{location_id}`` with its filters (:class:`ProductFilters`),
        validated now.

        :raises InvalidRequestError: a bad filter, before any request.
        """
        params = {
            "term": filters.get("term") or None,
            "category_id": optional_whole_number(filters.get("category_id"), "category_id"),
        }
        path = self._path("/goods", location_id)
        window = (filters.get("changed_after"), filters.get("changed_before"), filters.get("page_size"))
        return self._listing(path, params, *window, "good_id")

    def iter_products(
        self, location_id: int | None = None, **filters: Unpack[ProductFilters]
    ) -> Iterator[Product]:
        """Stream the products of a location (``GET /goods/{location_id}``), page by page, filtered
        by :class:`ProductFilters`.

        Only the page being consumed is held, and the ids already met: a product met twice (rows
        shifting between page requests, as live listings were seen to do) is yielded once.
        Altegio returns no total; the walk stops at the first page shorter than ``page_size``.

        :raises InvalidRequestError: a bad filter, before any request.
        """
        return self._items(self.products_listing(location_id, **filters), Product)

    def changed_products(
        self,
        changed_after: DateLike,
        location_id: int | None = None,
        *,
        product_ids: Iterable[int] | None = None,
        category_id: int | None = None,
        term: str | None = None,
    ) -> list[Product]:
        """The products changed after ``changed_after``, narrowed to ``product_ids`` when given.

        :raises InvalidRequestError: a bad date, id or filter, before any request.
        """
        wanted = None if product_ids is None else set(product_ids)
        listing = self.products_listing(
            location_id, term=term, category_id=category_id, changed_after=changed_after
        )
        return [p for p in self._items(listing, Product) if wanted is None or p.good_id in wanted]

    async def achanged_products(
        self,
        changed_after: DateLike,
        location_id: int | None = None,
        *,
        product_ids: Iterable[int] | None = None,
        category_id: int | None = None,
        term: str | None = None,
    ) -> list[Product]:
        """Async twin of :meth:`changed_products` (for triggers)."""
        await self.aget_conn()  # the default location comes from the connection
        wanted = None if product_ids is None else set(product_ids)
        listing = self.products_listing(
            location_id, term=term, category_id=category_id, changed_after=changed_after
        )
        return [p async for p in self._aitems(listing, Product) if wanted is None or p.good_id in wanted]

    def get_product(self, product_id: int, location_id: int | None = None) -> Product:
        """One product (``GET /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        path = self._path("/goods", location_id, ("product_id", product_id))
        return self._call(RequestSpec("GET", path), parse_one(Product))

    def create_product(
        self, product: ProductCreate | Mapping[str, Any], location_id: int | None = None
    ) -> Product:
        """Create a product (``POST /goods/{location_id}``).

        :param product: a :class:`ProductCreate` or a mapping of its fields.
        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._create(self._path("/goods", location_id), ProductCreate, product, Product)

    def update_product(
        self, product_id: int, changes: ProductUpdate | Mapping[str, Any], location_id: int | None = None
    ) -> Product:
        """Change a product's fields (``PUT /goods/{location_id}/{product_id}``), including
        ``correction_rules``.

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        path = self._path("/goods", location_id, ("product_id", product_id))
        return self._update(path, ProductUpdate, changes, Product)

    def delete_product(self, product_id: int, location_id: int | None = None) -> None:
        """Delete a product (``DELETE /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        self._call(RequestSpec("DELETE", self._path("/goods", location_id, ("product_id", product_id))))

    def search_goods(
        self, term: str | None = None, *, count: int | None = None, location_id: int | None = None
    ) -> list[ProductTreeElement]:
        """Categories, then products, matching ``term`` (``GET /goods/search/{location_id}``).

        Without ``term`` the API returns the root categories and ignores ``count``. The official
        text names the parameters ``search_term`` and ``max_count``, its own curl example ``term``
        and ``count``: both spellings are sent, so either reading finds them.

        :param count: at most this many elements (1 to 100).
        :raises InvalidRequestError: ``count`` out of range.
        """
        limit = optional_whole_number(count, "count", maximum=100)
        text = term or None
        params = {"search_term": text, "term": text, "max_count": limit, "count": limit}
        spec = RequestSpec("GET", self._path("/goods/search", location_id), params=params)
        return self._call(spec, parse_list(ProductTreeElement))

    # -- categories ----------------------------------------------------------------------------

    def list_categories(self, parent_category_id: int = 0, location_id: int | None = None) -> list[Category]:
        """The child categories of ``parent_category_id`` (0: the root ones)
        (``GET /goods_categories/{location_id}/{parent_category_id}``)."""
        parent = whole_number(parent_category_id, "parent_category_id", minimum=0)
        path = f"{self._path('/goods_categories', location_id)}/{parent}"
        return self._call(RequestSpec("GET", path), parse_list(Category))

    def get_categories(self, category_ids: Iterable[int], location_id: int | None = None) -> list[Category]:
        """Categories by id (``GET /goods_categories/multiple/{location_id}?ids[]=...``).

        :raises InvalidRequestError: an id that is not a positive whole number.
        """
        ids = [whole_number(cid, f"category_ids[{i}]") for i, cid in enumerate(category_ids)]
        if not ids:
            return []
        params = [("ids[]", i) for i in ids]
        spec = RequestSpec("GET", self._path("/goods_categories/multiple", location_id), params=params)
        return self._call(spec, parse_list(Category))

    def get_category_node(
        self, category_id: int, location_id: int | None = None, *, page: int = 1, count: int = 1000
    ) -> CategoryNode:
        """A category with its direct children
        (``GET /goods/category_node/{location_id}/{category_id}``).

        :param page: page of the children (1-based).
        :param count: children per page (1 to 1000).
        :raises InvalidRequestError: an id, page or count out of range.
        """
        params = {"page": whole_number(page, "page"), "count": whole_number(count, "count", maximum=1000)}
        path = self._path("/goods/category_node", location_id, ("category_id", category_id))
        return self._call(RequestSpec("GET", path, params=params), parse_one(CategoryNode))

    def create_category(
        self, category: CategoryCreate | Mapping[str, Any], location_id: int | None = None
    ) -> Category:
        """Create a category (``POST /goods_categories/{location_id}``).

        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._create(self._path("/goods_categories", location_id), CategoryCreate, category, Category)

    def update_category(
        self, category_id: int, changes: CategoryUpdate | Mapping[str, Any], location_id: int | None = None
    ) -> Category:
        """Change a category (``PUT /goods_categories/{location_id}/{category_id}``).

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        path = self._path("/goods_categories", location_id, ("category_id", category_id))
        return self._update(path, CategoryUpdate, changes, Category)

    def delete_category(self, category_id: int, location_id: int | None = None) -> None:
        """Delete a category (``DELETE /goods_categories/{location_id}/{category_id}``)."""
        self._call(
            RequestSpec("DELETE", self._path("/goods_categories", location_id, ("category_id", category_id)))
        )

    # -- storages and transactions --------------------------------------------------------------

    def list_storages(self, location_id: int | None = None) -> list[Storage]:
        """The storages of a location (``GET /storages/{location_id}``)."""
        return self._call(RequestSpec("GET", self._path("/storages", location_id)), parse_list(Storage))

    def check_storage(self, storage_id: int, location_id: int | None = None) -> None:
        """Refuse a storage the location does not have.

        :raises InvalidRequestError: ``storage_id``, listing the location's storages.
        """
        storages = self.list_storages(location_id)
        if storage_id not in {storage.id for storage in storages}:
            known = ", ".join(f"{storage.id} ({storage.title})" for storage in storages) or "none"
            location = self.resolve_location_id(location_id)
            raise InvalidRequestError(
                "storage_id", f"location {location} has no storage {storage_id}; its storages are: {known}"
            )

    def iter_transactions(
        self,
        location_id: int | None = None,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        document_id: int | None = None,
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
        filters = {
            "start_date": _date_param(start_date, "start_date", date_only=True),
            "end_date": _date_param(end_date, "end_date", date_only=True),
            "document_id": optional_whole_number(document_id, "document_id"),
        }
        path = self._path("/storages/transactions", location_id)
        return self._items(
            self._listing(path, filters, changed_after, changed_before, page_size, "id"), Transaction
        )

    def storage_operation_request(
        self, operation: StorageOperationRequest | Mapping[str, Any]
    ) -> StorageOperationRequest:
        """``operation`` validated, ``master_id`` defaulting to the connection's ``master_id`` extra.

        :raises InvalidRequestError: an invalid field, or ``master_id`` given nowhere (the live
            API refuses a storage operation without one: "Staff member required").
        """
        if isinstance(operation, StorageOperationRequest):
            return operation
        fields = dict(structure(operation, "operation"))
        if is_blank(fields.get("master_id")):
            if self.master_id is None:
                raise InvalidRequestError(
                    "master_id",
                    "is required: the team member the operation is booked by (operator argument "
                    f"master_id, or the master_id extra of connection {self.conn_id!r})",
                )
            fields["master_id"] = self.master_id
        return StorageOperationRequest.from_input(fields)

    def create_storage_operation(
        self, operation: StorageOperationRequest | Mapping[str, Any], location_id: int | None = None
    ) -> StorageOperationResult:
        """Create a storage document with its transactions
        (``POST /storage_operations/operation/{location_id}``).

        Never re-sent once it may have reached the server: a 429 or a connection that never
        opened is retried, anything else ambiguous raises :class:`AmbiguousWriteError`
        (:class:`~airflow_provider_altegio.workflows.booking.Booker` finds out whether it was
        applied). A ``create_date`` without an offset is placed in the location's time zone.

        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the operation may have been applied.
        """
        request = self.storage_operation_request(operation)
        path = self._path("/storage_operations/operation", location_id)
        if request.create_date.tzinfo is None:  # the location's wall-clock time: place it
            zone = self.location_zone(location_id)
            request = request.model_copy(update={"create_date": request.create_date.replace(tzinfo=zone)})
        spec = RequestSpec("POST", path, json=request.to_api(), idempotent=False)
        return self._call(spec, parse_one(StorageOperationResult))

    def create_storage_document(
        self, document: DocumentRequest | Mapping[str, Any], location_id: int | None = None
    ) -> StorageDocument:
        """Create an empty storage document (``POST /storage_operations/documents/{location_id}``),
        to fill with :meth:`add_document_line`; moves no stock.

        Not exactly once, and never re-sent once it may have reached the server: an empty
        document cannot be found again (no documented listing of documents; the transactions
        listing finds a document by its lines). For a new document whose lines are known, use
        :meth:`create_storage_operation` (booked exactly once by
        :class:`~airflow_provider_altegio.workflows.booking.Booker`); this one serves a document
        filled in parts (a delivery arriving in several loads).

        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the document may have been created.
        """
        request = DocumentRequest.from_input(document, prefix="document")
        if request.create_date.tzinfo is None:
            zone = self.location_zone(location_id)
            request = request.model_copy(update={"create_date": request.create_date.replace(tzinfo=zone)})
        path = self._path("/storage_operations/documents", location_id)
        spec = RequestSpec("POST", path, json=request.to_api(), idempotent=False)
        return self._call(spec, parse_one(StorageDocument))

    def add_document_line(
        self, document_id: int, line: TransactionRequest | Mapping[str, Any], location_id: int | None = None
    ) -> Transaction:
        """Add one line to a storage document (``POST /storage_operations/goods_transactions/{location_id}``);
        it takes the document's type, storage and date, and moves stock at once. ``master_id``
        defaults to the connection's ``master_id`` extra. Not re-sent once it may have reached the
        server; ``Booker.add_lines_once`` (:mod:`~airflow_provider_altegio.workflows.booking`)
        adds lines exactly once.

        :raises InvalidRequestError: an invalid field, or no ``master_id`` anywhere, before any request.
        :raises AmbiguousWriteError: the line may have been added.
        """
        fields = (
            dict(structure(line, "line")) if not isinstance(line, TransactionRequest) else line.model_dump()
        )
        if is_blank(fields.get("master_id")):
            fields["master_id"] = self.master_id
        request = TransactionRequest.from_input(
            {k: v for k, v in fields.items() if v is not None}, prefix="line"
        )
        if request.master_id is None:
            raise InvalidRequestError(
                "line.master_id",
                f"is required: give it, or set the master_id extra of connection {self.conn_id!r}",
            )
        body = {"document_id": whole_number(document_id, "document_id"), **request.to_api()}
        path = self._path("/storage_operations/goods_transactions", location_id)
        spec = RequestSpec("POST", path, json=body, idempotent=False)
        return self._call(spec, parse_one(Transaction))

    def location_zone(self, location_id: int | None = None) -> tzinfo:
        """The time zone of a location, from ``GET /company/{location_id}`` (read once per hook):
        its ``timezone_name`` when the API gives one, else its ``timezone`` offset in hours.

        :raises MalformedResponseError: the location object names no time zone.
        """
        location = self.resolve_location_id(location_id)
        if location not in self._zones:
            company = self._call(RequestSpec("GET", f"/company/{location}"), parse_one(Company))
            self._zones[location] = company.zone()
        return self._zones[location]

    def get_storage_document(self, document_id: int, location_id: int | None = None) -> StorageDocument:
        """A storage document (``GET /storage_operations/documents/{location_id}/{document_id}``).

        :raises AltegioNotFoundError: no such document.
        """
        path = self._path("/storage_operations/documents", location_id, ("document_id", document_id))
        return self._call(RequestSpec("GET", path), parse_one(StorageDocument))

    def delete_storage_document(self, document_id: int, location_id: int | None = None) -> None:
        """Delete a storage document and its transactions, taking back their effect on stock
        (``DELETE /storage_operations/documents/{location_id}/{document_id}``, answered 202).

        :raises AltegioNotFoundError: no such document (also when a retried request finds the
            first one already applied: :class:`DeleteStorageDocumentOperator` tells them apart).
        """
        path = self._path("/storage_operations/documents", location_id, ("document_id", document_id))
        self._call(RequestSpec("DELETE", path))

    def list_document_transactions(self, document_id: int) -> list[Transaction]:
        """The goods transactions of a document
        (``GET /storage_operations/documents/goods_transactions/{document_id}``)."""
        path = f"/storage_operations/documents/goods_transactions/{whole_number(document_id, 'document_id')}"
        return self._call(RequestSpec("GET", path), parse_list(Transaction))

    # -- deprecated: the workflows moved to airflow_provider_altegio.workflows -----------------

    low_stock = _moved("restock", "low_stock")
    find_products = _moved("catalogue", "find_products")
    update_products = _moved("catalogue", "update_products")
    match_lines = _moved("stocklists", "match_lines")
