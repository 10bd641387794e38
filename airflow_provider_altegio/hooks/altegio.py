"""Hook for the Altegio (YCLIENTS) B2B v1 inventory API: goods, categories, storages, operations.

Every method validates its input before any request (:class:`InvalidRequestError` naming the
field); every failure of the API is one of the typed errors of :mod:`..exceptions`. The
connection is described in ``docs/connections.md``.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow_provider_altegio.connection_forms import connection_form_widgets, ui_field_behaviour
from airflow_provider_altegio.core.dialects import AltegioDialect
from airflow_provider_altegio.core.paging import PageCountPager
from airflow_provider_altegio.exceptions import (
    AltegioNotFoundError,
    AltegioValidationError,
    InvalidRequestError,
)
from airflow_provider_altegio.hooks.base import (
    ApiHook,
    Extras,
    amask_secrets,
    mask_secrets,
    read_list,
    read_model,
)
from airflow_provider_altegio.models.altegio import (
    AuthResult,
    BulkUpdateReport,
    Category,
    CategoryCreate,
    CategoryNode,
    CategoryUpdate,
    Company,
    LowStock,
    Product,
    ProductCreate,
    ProductTreeElement,
    ProductUpdate,
    ProductUpdateOutcome,
    Storage,
    StorageDocument,
    StorageOperationRequest,
    StorageOperationResult,
    Transaction,
    product_differences,
)
from airflow_provider_altegio.models.common import format_altegio_datetime, parse_api_datetime
from airflow_provider_altegio.models.stocklists import ProductLine, by_location, match_lines
from airflow_provider_altegio.values import is_blank, optional_whole_number, structure, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_altegio.core.http import HttpCore
    from airflow_provider_altegio.models.common import ApiModel, RequestModel

A = TypeVar("A", bound="ApiModel")

DEFAULT_BASE_URL = "https://api.alteg.io/api/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DateLike = datetime | date | str


def _date_param(value: DateLike | None, field: str, *, date_only: bool = False) -> str | None:
    """A date filter in the form Altegio documents.

    ``changed_after``/``changed_before`` go as ``2026-01-01T12:00:00-0500``; period bounds
    (``start_date``/``end_date``) as ``YYYY-MM-DD``.

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


def _product_change(item: Any, field: str) -> tuple[str, str, ProductUpdate]:
    """``(key, value, update)`` of one bulk change: the key naming its product (``good_id``,
    else ``article``, else ``barcode``) and the validated fields to set; a later key given as
    well is a change (``{"article": "SH-500", "barcode": "200..."}`` sets the barcode).

    :raises InvalidRequestError: naming ``field``.
    """
    if not isinstance(item, Mapping):
        raise InvalidRequestError(field, f"must be a mapping, got {type(item).__name__}")
    key = next((k for k in ("good_id", "article", "barcode") if not is_blank(item.get(k))), None)
    if key is None:
        raise InvalidRequestError(field, "must name its product by good_id, article or barcode")
    value = str(whole_number(item[key], f"{field}.good_id")) if key == "good_id" else str(item[key]).strip()
    update = ProductUpdate.from_input(
        {k: v for k, v in item.items() if k not in (key, "good_id")}, prefix=field
    )
    if not update.to_api():
        raise InvalidRequestError(field, "changes no field")
    return key, value, update


def read_one(model: type[A]) -> Callable[[Any], A]:
    """A reader of a payload that is one ``model`` object, or a list holding one (as the goods
    endpoints have been seen to answer); an empty list means there is no such object.
    """

    def read(data: Any) -> A:
        if isinstance(data, list):
            if not data:
                raise AltegioNotFoundError(f"no {model.__name__} in the response", status_code=200)
            data = data[0]
        return model.model_validate(data)

    return read


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
        self._location_id = optional_whole_number(extras.raw("location_id"), "extra.location_id")
        self._master_id = optional_whole_number(extras.raw("master_id"), "extra.master_id")
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

    def resolve_location_id(self, location_id: int | None = None) -> int:
        """``location_id`` if given, else the connection's default.

        :raises InvalidRequestError: field ``location_id`` when neither is set or it is not a
            positive whole number.
        """
        if not is_blank(location_id):
            return whole_number(location_id, "location_id")
        if self._core is None:
            self.get_conn()
        if self._location_id is None:
            raise InvalidRequestError(
                "location_id",
                f"is required: pass it, or set the location_id extra of connection {self.conn_id!r}",
            )
        return self._location_id

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

    def _auth_request(self) -> dict[str, Any]:
        return {
            "method": "POST",
            "path": "/auth",
            "read": read_model(AuthResult),
            "json": {"login": self._login, "password": self._password},
            "idempotent": True,
        }

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
                    mask_secrets(*self._use_user_token(core, core.request(**self._auth_request())))

    async def _abefore_request(self, core: HttpCore) -> None:
        if self._needs_user_token(core):
            result = await core.arequest(**self._auth_request())
            if self._needs_user_token(core):  # a concurrent coroutine may have finished first
                await amask_secrets(*self._use_user_token(core, result))

    # -- endpoint patterns shared by products, categories and storage operations ---------------

    def _create(self, request: RequestModel, base: str, location_id: int | None, model: type[A]) -> A:
        """``POST {base}/{location_id}`` of a validated request; never re-sent once it may
        have reached the server."""
        path = f"{base}/{self.resolve_location_id(location_id)}"
        return self._request("POST", path, read_one(model), json=request.to_api(), idempotent=False)

    def _update(
        self,
        id_field: str,
        item_id: int,
        request: type[RequestModel],
        changes: Any,
        base: str,
        location_id: int | None,
        model: type[A],
    ) -> A:
        """``PUT {base}/{location_id}/{item_id}`` with the validated, non-empty changes."""
        item = whole_number(item_id, id_field)
        body = request.from_input(changes).to_api()
        if not body:
            raise InvalidRequestError("changes", "must change at least one field")
        path = f"{base}/{self.resolve_location_id(location_id)}/{item}"
        return self._request("PUT", path, read_one(model), json=body)

    def _delete(self, id_field: str, item_id: int, base: str, location_id: int | None) -> None:
        """``DELETE {base}/{location_id}/{item_id}``."""
        path = f"{base}/{self.resolve_location_id(location_id)}/{whole_number(item_id, id_field)}"
        self._request("DELETE", path, lambda data: None)

    def _changed_listing(
        self,
        path: str,
        filters: dict[str, Any],
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
        unique_by: str,
    ) -> dict[str, Any]:
        """The keyword arguments of :meth:`_pages` for a listing with the documented change
        window, de-duplicated by the ``unique_by`` id field."""
        params = {
            **filters,
            "changed_after": _date_param(changed_after, "changed_after"),
            "changed_before": _date_param(changed_before, "changed_before"),
        }
        pager = PageCountPager(
            self.page_size if page_size is None else page_size, max_page_size=MAX_PAGE_SIZE
        )
        return {"pager": pager, "method": "GET", "path": path, "params": params, "unique_by": unique_by}

    # -- connection test -----------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET: the storages of the default location, or the user's
        companies when the connection names no location.

        :return: ``(True, summary)`` or ``(False, the API's message)``; never a secret.
        """

        def check() -> str:
            location = self.location_id
            if location is not None:
                return f"Connected: location {location} has {len(self.list_storages(location))} storage(s)"
            self._request("GET", "/companies", lambda data: None, params={"my": 1, "count": 1})
            return "Connected (the connection names no default location_id)"

        return self._connection_check(check)

    # -- products ------------------------------------------------------------------------------

    def _products_listing(
        self,
        location_id: int | None,
        term: str | None,
        category_id: int | None,
        changed_after: DateLike | None,
        changed_before: DateLike | None,
        page_size: int | None,
    ) -> dict[str, Any]:
        filters = {"term": term or None, "category_id": optional_whole_number(category_id, "category_id")}
        path = f"/goods/{self.resolve_location_id(location_id)}"
        return self._changed_listing(path, filters, changed_after, changed_before, page_size, "good_id")

    def iter_products(
        self,
        location_id: int | None = None,
        *,
        term: str | None = None,
        category_id: int | None = None,
        changed_after: DateLike | None = None,
        changed_before: DateLike | None = None,
        page_size: int | None = None,
    ) -> Iterator[Product]:
        """Stream the products of a location (``GET /goods/{location_id}``), page by page.

        Only the page being consumed is held, and the ids already met: a product met twice (rows
        shifting between page requests, as live listings were seen to do) is yielded once; for
        100000 products the ids take about 6 MB. Altegio returns no total; the walk stops at the
        first page shorter than ``page_size``.

        :param term: name, article or barcode.
        :param changed_after: datetime or string; sent as ``2026-01-01T12:00:00-0500``.
        :raises InvalidRequestError: a bad filter, before any request.
        """
        listing = self._products_listing(
            location_id, term, category_id, changed_after, changed_before, page_size
        )
        return self._pages(Product, **listing)

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
        listing = self._products_listing(location_id, term, category_id, changed_after, None, None)
        return self._matching(Product, "good_id", product_ids, listing)

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
        listing = self._products_listing(location_id, term, category_id, changed_after, None, None)
        return await self._amatching(Product, "good_id", product_ids, listing)

    def low_stock(self, location_id: int | None = None) -> list[LowStock]:
        """The products of a location at or below their critical amount, with the whole sale
        units that bring each back to its desired amount (see :class:`LowStock`). Reads the
        location's storages and its whole catalogue (one request a page).

        Products with no desired amount above their stock are left out: there is nothing to
        order for them.
        """
        location = self.resolve_location_id(location_id)
        storages = self.list_storages(location)
        titles = {s.id: s.title for s in storages if s.id is not None}
        for_sale = [s.id for s in storages if s.for_sale and s.id is not None] or sorted(titles)
        found = []
        for product in self.iter_products(location):
            stock = {a.storage_id: a.amount for a in product.actual_amounts if a.storage_id in titles}
            on_hand = product.on_hand(titles)
            critical, desired = product.critical_amount or 0.0, product.desired_amount or 0.0
            if not product.is_low(titles) or desired <= on_hand or product.good_id is None or not for_sale:
                continue
            home = max(stock, key=lambda s: (stock[s], s)) if any(stock.values()) else for_sale[0]
            found.append(
                LowStock(
                    location_id=location,
                    storage_id=home,
                    storage_title=titles.get(home),
                    good_id=product.good_id,
                    title=product.title,
                    article=product.article or None,
                    barcode=product.barcode or None,
                    unit=product.unit_short_title,
                    on_hand=on_hand,
                    critical_amount=critical,
                    desired_amount=desired,
                    quantity=math.ceil(desired - on_hand - 1e-9),
                )
            )
        return sorted(found, key=lambda line: (line.storage_id, line.good_id))

    def match_lines(
        self, lines: list[ProductLine], location_id: int | None = None, default_storage_id: int | None = None
    ) -> list[ProductLine]:
        """Give each good line of a list people handed in its one product (by exact barcode or
        article, each code searched once per location) and storage, or a ``problem``
        (:func:`~airflow_provider_altegio.models.stocklists.match_lines`).

        :param location_id: the location of lines without their own ``location_id`` (default:
            the connection's).
        :param default_storage_id: the storage of that location's lines without one (default:
            each location's storage for sale).
        """
        default = self.resolve_location_id(location_id)
        for location, group in by_location(lines, default).items():
            codes = {(line.code_kind, line.code) for line in group if not line.problem}
            storage = default_storage_id if location == default else None
            match_lines(group, self.list_storages(location), self.find_products(codes, location), storage)
        return lines

    def find_products(
        self, codes: Iterable[tuple[str, str]], location_id: int | None = None
    ) -> dict[tuple[str, str], list[Product]]:
        """The products each ``(kind, code)`` names exactly (see :meth:`Product.identifiers`:
        ``good_id``, ``article``, ``barcode``, or ``code`` for either of the last two).

        Requests are kept to the fewer of two ways: up to a page's worth of codes are looked
        up one request each (``GET`` by id, or the API's ``term`` search, kept only where the
        match is exact); with more, the location's catalogue is walked once (a request a
        page), keeping only the products named.
        """
        location = self.resolve_location_id(location_id)
        wanted = set(codes)
        found: dict[tuple[str, str], list[Product]] = {code: [] for code in wanted}
        if len(wanted) > self.page_size:
            for product in self.iter_products(location):
                for named in product.identifiers() & wanted:
                    found[named].append(product)
            return found
        for kind, code in wanted:
            if kind == "good_id":
                with contextlib.suppress(AltegioNotFoundError):  # no such product: none found
                    found[(kind, code)] = [self.get_product(int(code), location)]
            else:
                searched = self.iter_products(location, term=code)
                found[(kind, code)] = [p for p in searched if (kind, code) in p.identifiers()]
        return found

    def get_product(self, product_id: int, location_id: int | None = None) -> Product:
        """One product (``GET /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        path = f"/goods/{self.resolve_location_id(location_id)}/{whole_number(product_id, 'product_id')}"
        return self._request("GET", path, read_one(Product))

    def create_product(
        self, product: ProductCreate | Mapping[str, Any], location_id: int | None = None
    ) -> Product:
        """Create a product (``POST /goods/{location_id}``).

        :param product: a :class:`ProductCreate` or a mapping of its fields.
        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._create(ProductCreate.from_input(product), "/goods", location_id, Product)

    def update_product(
        self, product_id: int, changes: ProductUpdate | Mapping[str, Any], location_id: int | None = None
    ) -> Product:
        """Change a product's fields (``PUT /goods/{location_id}/{product_id}``), including
        ``correction_rules``.

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        return self._update("product_id", product_id, ProductUpdate, changes, "/goods", location_id, Product)

    def update_products(
        self,
        changes: Iterable[Mapping[str, Any]] | str,
        location_id: int | None = None,
        *,
        skip_unknown: bool = False,
    ) -> BulkUpdateReport:
        """Apply many product changes, each only where the product differs: resumable.

        Each change names one product by ``good_id``, ``article`` or ``barcode`` and gives the
        :class:`ProductUpdate` fields to set (``{"article": "SH-500", "actual_cost": 12.5}``).
        Every change is validated first; then the products are found (:meth:`find_products`: a
        request each for up to a page's worth, else one walk of the catalogue). A product that
        already holds the values is ``unchanged`` and costs no request,
        so running the same changes again after a failure redoes nothing that was done. A
        product the API refuses (4xx) is reported ``failed`` and the others go on. Requests go
        through the connection's shared rate budget like any other.

        :raises InvalidRequestError: naming ``changes[i]...``: a field is invalid, a change
            names no product key or changes nothing, or names a product the location does not
            have (unless ``skip_unknown``) or several; before anything is written.
        :raises APIError: a failure no product can get past (network, server, a lost answer);
            what was done is in the log, and running again picks up from there.
        """
        items = structure(changes, "changes")
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise InvalidRequestError("changes", "must be a list of product changes")
        planned = [_product_change(item, f"changes[{index}]") for index, item in enumerate(items)]
        location = self.resolve_location_id(location_id)
        index = self.find_products({(key, value) for key, value, _ in planned}, location)
        report = BulkUpdateReport()
        resolved: list[tuple[int, str, Product, ProductUpdate]] = []
        for number, (key, value, update) in enumerate(planned):
            name = f"{key} {value}"
            found = index.get((key, value), [])
            if len(found) > 1:
                ids = ", ".join(str(p.good_id) for p in found)
                raise InvalidRequestError(f"changes[{number}].{key}", f"matches several products ({ids})")
            if not found:
                if not skip_unknown:
                    raise InvalidRequestError(
                        f"changes[{number}].{key}", f"no product with {name} in location {location}"
                    )
                report.outcomes.append(ProductUpdateOutcome(change=number, product=name, outcome="unknown"))
                continue
            resolved.append((number, name, found[0], update))
        for number, name, product, update in resolved:
            fields = product_differences(product, update)
            outcome = ProductUpdateOutcome(
                change=number, product=name, good_id=product.good_id, outcome="unchanged"
            )
            if fields:
                outcome.fields = fields
                try:
                    self.update_product(int(product.good_id or 0), fields, location)
                    outcome.outcome = "updated"
                except (AltegioValidationError, AltegioNotFoundError) as error:
                    outcome.outcome, outcome.error = "failed", str(error)
                self.log.info("%s (good %s): %s %s", name, product.good_id, outcome.outcome, fields)
            report.outcomes.append(outcome)
        report.outcomes.sort(key=lambda item: item.change)
        self.log.info("Bulk product update in location %s: %s", location, report.summary())
        return report

    def delete_product(self, product_id: int, location_id: int | None = None) -> None:
        """Delete a product (``DELETE /goods/{location_id}/{product_id}``).

        :raises AltegioNotFoundError: no such product.
        """
        self._delete("product_id", product_id, "/goods", location_id)

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
        path = f"/goods/search/{self.resolve_location_id(location_id)}"
        return self._request("GET", path, read_list(ProductTreeElement), params=params)

    # -- categories ----------------------------------------------------------------------------

    def list_categories(self, parent_category_id: int = 0, location_id: int | None = None) -> list[Category]:
        """The child categories of ``parent_category_id`` (0: the root ones)
        (``GET /goods_categories/{location_id}/{parent_category_id}``)."""
        parent = whole_number(parent_category_id, "parent_category_id", minimum=0)
        path = f"/goods_categories/{self.resolve_location_id(location_id)}/{parent}"
        return self._request("GET", path, read_list(Category))

    def get_categories(self, category_ids: Iterable[int], location_id: int | None = None) -> list[Category]:
        """Categories by id (``GET /goods_categories/multiple/{location_id}?ids[]=...``).

        :raises InvalidRequestError: an id that is not a positive whole number.
        """
        ids = [whole_number(cid, f"category_ids[{i}]") for i, cid in enumerate(category_ids)]
        if not ids:
            return []
        path = f"/goods_categories/multiple/{self.resolve_location_id(location_id)}"
        return self._request("GET", path, read_list(Category), params=[("ids[]", i) for i in ids])

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
        cid = whole_number(category_id, "category_id")
        path = f"/goods/category_node/{self.resolve_location_id(location_id)}/{cid}"
        return self._request("GET", path, read_one(CategoryNode), params=params)

    def create_category(
        self, category: CategoryCreate | Mapping[str, Any], location_id: int | None = None
    ) -> Category:
        """Create a category (``POST /goods_categories/{location_id}``).

        :raises InvalidRequestError: an invalid field, before any request.
        :raises AmbiguousWriteError: the request may have been applied but no answer was read.
        """
        return self._create(CategoryCreate.from_input(category), "/goods_categories", location_id, Category)

    def update_category(
        self, category_id: int, changes: CategoryUpdate | Mapping[str, Any], location_id: int | None = None
    ) -> Category:
        """Change a category (``PUT /goods_categories/{location_id}/{category_id}``).

        :raises InvalidRequestError: an invalid field or nothing to change, before any request.
        """
        return self._update(
            "category_id", category_id, CategoryUpdate, changes, "/goods_categories", location_id, Category
        )

    def delete_category(self, category_id: int, location_id: int | None = None) -> None:
        """Delete a category (``DELETE /goods_categories/{location_id}/{category_id}``)."""
        self._delete("category_id", category_id, "/goods_categories", location_id)

    # -- storages and transactions --------------------------------------------------------------

    def list_storages(self, location_id: int | None = None) -> list[Storage]:
        """The storages of a location (``GET /storages/{location_id}``)."""
        return self._request("GET", f"/storages/{self.resolve_location_id(location_id)}", read_list(Storage))

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
        path = f"/storages/transactions/{self.resolve_location_id(location_id)}"
        listing = self._changed_listing(path, filters, changed_after, changed_before, page_size, "id")
        return self._pages(Transaction, **listing)

    def create_storage_operation(
        self, operation: StorageOperationRequest | Mapping[str, Any], location_id: int | None = None
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
        request = self.storage_operation_request(operation)
        location = self.resolve_location_id(location_id)
        if request.create_date.tzinfo is None:  # the location's wall-clock time: place it
            request.create_date = request.create_date.replace(tzinfo=self.location_zone(location))
        return self._create(request, "/storage_operations/operation", location, StorageOperationResult)

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

    def location_zone(self, location_id: int | None = None) -> tzinfo:
        """The time zone of a location, from ``GET /company/{location_id}`` (read once per hook):
        its ``timezone_name`` when the API gives one, else its ``timezone`` offset in hours.

        :raises MalformedResponseError: the location object names no time zone.
        """
        location = self.resolve_location_id(location_id)
        if location not in self._zones:
            company = self._request("GET", f"/company/{location}", read_one(Company))
            self._zones[location] = company.zone()
        return self._zones[location]

    def get_storage_document(self, document_id: int, location_id: int | None = None) -> StorageDocument:
        """A storage document (``GET /storage_operations/documents/{location_id}/{document_id}``).

        :raises AltegioNotFoundError: no such document.
        """
        doc = whole_number(document_id, "document_id")
        path = f"/storage_operations/documents/{self.resolve_location_id(location_id)}/{doc}"
        return self._request("GET", path, read_one(StorageDocument))

    def delete_storage_document(self, document_id: int, location_id: int | None = None) -> None:
        """Delete a storage document and its transactions, taking back their effect on stock
        (``DELETE /storage_operations/documents/{location_id}/{document_id}``, answered 202).

        :raises AltegioNotFoundError: no such document (also when a retried request finds the
            first one already applied: :class:`DeleteStorageDocumentOperator` tells them apart).
        """
        self._delete("document_id", document_id, "/storage_operations/documents", location_id)

    def list_document_transactions(self, document_id: int) -> list[Transaction]:
        """The goods transactions of a document
        (``GET /storage_operations/documents/goods_transactions/{document_id}``)."""
        path = f"/storage_operations/documents/goods_transactions/{whole_number(document_id, 'document_id')}"
        return self._request("GET", path, read_list(Transaction))
