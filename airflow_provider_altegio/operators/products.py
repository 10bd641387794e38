"""Operators for the Altegio product catalogue and categories, and the Altacolor supplier catalogue.

Every operator is a thin shell over a hook method: it renders and validates its inputs (raising
:class:`~airflow_provider_altegio.exceptions.InvalidRequestError` naming the field before any
request), calls the hook, and returns plain JSON with the API's field names as its XCom.
Hooks and models are imported on first use, so importing this module in a DAG file is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.operators._common import (
    AltacolorBaseOperator,
    AltegioBaseOperator,
    AltegioChangedReadOperator,
    JsonDict,
    StreamingReadOperator,
    altacolor_conditions,
    read_request,
)
from airflow_provider_altegio.values import is_blank, optional_whole_number, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_altegio.results import ReadResult


def _optional_text(value: Any) -> str | None:
    return None if is_blank(value) else str(value).strip()


class SearchProductsOperator(AltegioChangedReadOperator):
    """Read every Altegio product of a location that matches the filters.

    Pages through ``GET /goods/{location_id}`` (``AltegioHook.iter_products``) and never holds
    more than one page in the hook; progress is logged while reading.

    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param term: name, article or barcode to match.
    :param category_id: only products of this category.
    :param changed_after: only products changed or created since then (datetime or ISO string).
    :param changed_before: only products changed or created before then.
    :param output_path: write JSON lines there instead of returning the list (see below).
    :param page_size: products per page (the hook's default when ``None``).
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``term``, ``category_id``, ``changed_after``,
    ``changed_before``, ``output_path``.

    XCom: a :class:`~airflow_provider_altegio.results.ReadResult` of product dicts with the API's
    field names (``good_id``, ``title``, ``article``, ``barcode``, ``actual_amounts``,
    ``critical_amount``, ``desired_amount``, ``last_change_date``...).

    :raises InvalidRequestError: a bad id or date, ``changed_before`` not after ``changed_after``,
        or no location.
    :raises AltegioAPIError: the API refused the request (subclasses for 401/403, 404, 422, 429).
    """

    template_fields = (
        "location_id",
        "term",
        "category_id",
        "changed_after",
        "changed_before",
        "output_path",
    )
    read_description = "Altegio products"

    def __init__(
        self,
        *,
        term: str | None = None,
        category_id: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.term = term
        self.category_id = category_id

    def execute(self, context: Context) -> ReadResult:
        category_id = optional_whole_number(self.category_id, "category_id")
        window = self.read_window()
        with self.hook:
            products = self.hook.iter_products(
                self.resolve_location_id(), term=_optional_text(self.term), category_id=category_id, **window
            )
            return self.deliver(products, window["page_size"])


class AltacolorSearchProductsOperator(StreamingReadOperator, AltacolorBaseOperator):
    """Read every product of the Altacolor supplier catalogue that matches all ``conditions``.

    Conditions can be written for people or with the API's numeric codes:

    * ``{"field": "product_code", "condition": "==", "value": "A-1"}``
    * ``{"field": "date_modified", "condition": ">", "value": "2026-01-01T00:00:00"}``
    * ``{"field": "date_modified", "condition": "between", "value": [d1, d2]}``
    * ``{"field": 5, "condition": 7, "date1": ..., "date2": ...}``

    Fields: ``product_code``, ``product_name`` (``name``), ``supplier``, ``product_id`` (``id``),
    ``date_modified``; conditions ``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``between`` or the
    names ``eq``... ``ge``. Several conditions are joined with AND. With no conditions the whole
    catalogue is read (``AltacolorHook.iter_catalogue``). Results come by product id unless
    ``sort_by`` says otherwise: offset paging over the store's manual order could repeat or skip
    products; a product met twice is kept once.

    :param conditions: one condition mapping or a list of them (JSON text accepted).
    :param sort_by: ``product_code``, ``product_name``, ``supplier``, ``product_id``,
        ``date_modified``, ``sort_position`` or the codes 1-6.
    :param output_path: write JSON lines there instead of returning the list.
    :param page_size: products per request, at most 100 (the API's limit).
    :param altacolor_conn_id: Airflow connection of type ``altacolor``.

    Templated fields: ``conditions``, ``sort_by``, ``output_path``.

    XCom: a :class:`~airflow_provider_altegio.results.ReadResult` of product dicts
    (``product_id``, ``product_code``, ``product_name``, ``supplier``, ``skus``...).

    :raises InvalidRequestError: a condition that the API would reject (named
        ``conditions[i].<field>``), a bad ``sort_by`` or ``page_size``.
    :raises AltacolorAPIError: the API answered with an error ``response_status``.
    """

    template_fields = ("conditions", "sort_by", "output_path")
    read_description = "Altacolor products"
    max_page_size = 100

    def __init__(
        self,
        *,
        conditions: Any = None,
        sort_by: int | str | None = None,
        altacolor_conn_id: str = "altacolor_default",
        output_path: ObjectStoragePath | str | None = None,
        page_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            altacolor_conn_id=altacolor_conn_id, output_path=output_path, page_size=page_size, **kwargs
        )
        self.conditions = conditions
        self.sort_by = sort_by

    def execute(self, context: Context) -> ReadResult:
        sort_by = None if is_blank(self.sort_by) else self.sort_by
        conditions = altacolor_conditions(self.conditions, "conditions", sort_by=sort_by)
        page_size = self.read_page_size()
        with self.hook:
            if is_blank(self.conditions) and sort_by is None:
                products = self.hook.iter_catalogue(page_size=page_size)
            else:
                products = self.hook.iter_products(conditions, sort_by=sort_by, page_size=page_size)
            return self.deliver(products, page_size)


class _ProductOperator(AltegioBaseOperator):
    """One product addressed by ``product_id`` (shared by get, update and delete)."""

    template_fields: tuple[str, ...] = ("location_id", "product_id")

    def __init__(self, *, product_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.product_id = product_id

    def _product_id(self) -> int:
        return whole_number(self.product_id, "product_id")


class GetProductOperator(_ProductOperator):
    """Read one Altegio product (``GET /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``product_id``.

    XCom: the product as a dict with the API's field names.

    :raises InvalidRequestError: bad ``product_id`` or no location.
    :raises AltegioNotFoundError: no such product.
    """

    def execute(self, context: Context) -> JsonDict:
        product_id = self._product_id()
        with self.hook:
            return self.hook.get_product(product_id, self.resolve_location_id()).to_json_dict()


class CreateProductOperator(AltegioBaseOperator):
    """Create an Altegio product (``POST /goods/{location_id}``).

    :param product: the product fields as the API names them: ``title``, ``category_id``,
        ``sale_unit_id`` and ``service_unit_id`` are required; ``article``, ``barcode``, ``cost``,
        ``actual_cost``, ``unit_equals``, ``critical_amount``, ``desired_amount``, ``netto``,
        ``brutto``, ``comment``... are optional. A mapping or its JSON text.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``product``.

    XCom: the created product as a dict (with its new ``good_id``). Declared asset ``outlets``
    get an event whose extra carries ``location_id`` and ``good_id``.

    :raises InvalidRequestError: a missing or invalid field, named ``product.<field>``; nothing
        is sent.
    :raises AltegioValidationError: the API rejected the body.
    :raises AmbiguousWriteError: the request may have reached the server but no answer came back.
    """

    template_fields = ("location_id", "product")

    def __init__(self, *, product: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.product = product

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import ProductCreate

        request = read_request(ProductCreate, self.product, "product")
        with self.hook:
            created = self.hook.create_product(request, self.resolve_location_id()).to_json_dict()
            self.log.info("Created product %s (%s)", created.get("good_id"), created.get("title"))
            return self.finish_write(context, created, good_id=created.get("good_id"))


class UpdateProductOperator(_ProductOperator):
    """Change fields of an Altegio product (``PUT /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.
    :param changes: the fields to change (API names), e.g. ``{"critical_amount": 5}``, including
        ``correction_rules``. A mapping or its JSON text.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``product_id``, ``changes``.

    XCom: the updated product as a dict. Declared asset ``outlets`` get an event.

    :raises InvalidRequestError: an invalid change, named ``changes.<field>``; nothing is sent.
    :raises AltegioNotFoundError: no such product.
    """

    template_fields = ("location_id", "product_id", "changes")

    def __init__(self, *, changes: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes = changes

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import ProductUpdate

        product_id = self._product_id()
        request = read_request(ProductUpdate, self.changes, "changes")
        with self.hook:
            updated = self.hook.update_product(product_id, request, self.resolve_location_id())
            self.log.info("Updated product %s", product_id)
            return self.finish_write(context, updated.to_json_dict(), good_id=product_id)


class UpdateProductsOperator(AltegioBaseOperator):
    """Update many Altegio products at once (prices, critical and desired amounts...),
    resumably, within the account's rate budget (:meth:`AltegioHook.update_products`).

    Only products whose values differ are sent; the others cost no request. A retry after a
    failure (or a re-run) therefore picks up where the last try stopped, without redoing what
    was done.

    :param changes: a list of ``{"good_id" | "article" | "barcode": ..., <fields to set>}``,
        e.g. ``[{"article": "SH-500", "actual_cost": 12.5, "critical_amount": 3}]``, or its JSON
        text (an XCom of a planning task).
    :param skip_unknown: report a change naming a product the location does not have as
        ``unknown`` instead of failing before any write.
    :param fail_on_error: fail the task, after every other product was done, when the API
        refused some (the report is logged and pushed first, under the ``report`` key).
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``changes``.

    XCom: ``{"updated": n, "unchanged": n, "failed": n, "unknown": n, "outcomes": [...]}``, one
    outcome per change (``product``, ``good_id``, ``outcome``, ``fields``, ``error``). Declared
    asset ``outlets`` get an event with the counts.

    :raises InvalidRequestError: an invalid change (named ``changes[i]...``), before any write.
    :raises AirflowFailException: the API refused some products (``fail_on_error``); no retry,
        the same refusals would come again.
    :raises AltegioProviderError: a failure stopped the run (network, server); a retry resumes.
    """

    template_fields = ("location_id", "changes")

    def __init__(
        self, *, changes: Any, skip_unknown: bool = False, fail_on_error: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.changes = changes
        self.skip_unknown = skip_unknown
        self.fail_on_error = fail_on_error

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.compat import AirflowFailException

        with self.hook:
            report = self.hook.update_products(
                self.changes, self.resolve_location_id(), skip_unknown=self.skip_unknown
            )
        counts = {outcome: report.count(outcome) for outcome in ("updated", "unchanged", "failed", "unknown")}
        result: JsonDict = {**counts, "outcomes": [item.model_dump(mode="json") for item in report.outcomes]}
        if report.failed and self.fail_on_error:
            context["ti"].xcom_push(key="report", value=result)
            lines = "\n".join(f"  {item.product}: {item.error}" for item in report.failed)
            # The same refusals would come again: no retry.
            raise AirflowFailException(
                f"The API refused {len(report.failed)} product updates ({report.summary()}):\n{lines}"
            )
        return self.finish_write(context, result, **counts)


class DeleteProductOperator(_ProductOperator):
    """Delete an Altegio product (``DELETE /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.
    :param ignore_missing: succeed (with ``deleted: false``) when the product does not exist,
        e.g. on a retry after the first try deleted it.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``product_id``.

    XCom: ``{"good_id": ..., "deleted": true|false}``. Declared asset ``outlets`` get an event.

    :raises AltegioNotFoundError: no such product (unless ``ignore_missing``).
    """

    def __init__(self, *, ignore_missing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_missing = ignore_missing

    def execute(self, context: Context) -> JsonDict:
        product_id = self._product_id()
        with self.hook:
            deleted = self.delete_ignoring_missing(
                lambda: self.hook.delete_product(product_id, self.resolve_location_id()),
                f"product {product_id}",
                self.ignore_missing,
            )
            return self.finish_write(context, {"good_id": product_id, "deleted": deleted})


class ListProductCategoriesOperator(AltegioBaseOperator):
    """List the product categories under a parent (root categories by default).

    :param parent_category_id: parent category id; ``0`` lists the root categories.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``parent_category_id``.

    XCom: a list of category dicts (``id``, ``title``, ``parent_category_id``, ``article``...).

    :raises InvalidRequestError: bad ``parent_category_id`` or no location.
    """

    template_fields = ("location_id", "parent_category_id")

    def __init__(self, *, parent_category_id: int | str = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parent_category_id = parent_category_id

    def execute(self, context: Context) -> list[JsonDict]:
        parent = optional_whole_number(self.parent_category_id, "parent_category_id", minimum=0) or 0
        with self.hook:
            categories = self.hook.list_categories(parent, self.resolve_location_id())
            return [category.to_json_dict() for category in categories]


class CreateProductCategoryOperator(AltegioBaseOperator):
    """Create a product category.

    :param category: ``title`` (required), ``parent_category_id``, ``article``, ``comment``.
        A mapping or its JSON text.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``category``.

    XCom: the created category as a dict. Declared asset ``outlets`` get an event.

    :raises InvalidRequestError: an invalid field, named ``category.<field>``; nothing is sent.
    """

    template_fields = ("location_id", "category")

    def __init__(self, *, category: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category = category

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import CategoryCreate

        request = read_request(CategoryCreate, self.category, "category")
        with self.hook:
            created = self.hook.create_category(request, self.resolve_location_id()).to_json_dict()
            self.log.info("Created category %s (%s)", created.get("id"), created.get("title"))
            return self.finish_write(context, created, category_id=created.get("id"))


class _CategoryOperator(AltegioBaseOperator):
    """One category addressed by ``category_id`` (shared by update and delete)."""

    template_fields: tuple[str, ...] = ("location_id", "category_id")

    def __init__(self, *, category_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category_id = category_id

    def _category_id(self) -> int:
        return whole_number(self.category_id, "category_id")


class UpdateProductCategoryOperator(_CategoryOperator):
    """Change a product category's ``title``, ``parent_category_id``, ``article`` or ``comment``.

    :param category_id: the category id.
    :param changes: the fields to change. A mapping or its JSON text.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``category_id``, ``changes``.

    XCom: the updated category as a dict. Declared asset ``outlets`` get an event.

    :raises InvalidRequestError: an invalid change, named ``changes.<field>``; nothing is sent.
    :raises AltegioNotFoundError: no such category.
    """

    template_fields = ("location_id", "category_id", "changes")

    def __init__(self, *, changes: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes = changes

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import CategoryUpdate

        category_id = self._category_id()
        request = read_request(CategoryUpdate, self.changes, "changes")
        with self.hook:
            updated = self.hook.update_category(category_id, request, self.resolve_location_id())
            return self.finish_write(context, updated.to_json_dict(), category_id=category_id)


class DeleteProductCategoryOperator(_CategoryOperator):
    """Delete a product category.

    :param category_id: the category id.
    :param ignore_missing: succeed (with ``deleted: false``) when the category does not exist.
    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Templated fields: ``location_id``, ``category_id``.

    XCom: ``{"category_id": ..., "deleted": true|false}``. Declared asset ``outlets`` get an event.

    :raises AltegioNotFoundError: no such category (unless ``ignore_missing``).
    """

    def __init__(self, *, ignore_missing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_missing = ignore_missing

    def execute(self, context: Context) -> JsonDict:
        category_id = self._category_id()
        with self.hook:
            deleted = self.delete_ignoring_missing(
                lambda: self.hook.delete_category(category_id, self.resolve_location_id()),
                f"category {category_id}",
                self.ignore_missing,
            )
            return self.finish_write(context, {"category_id": category_id, "deleted": deleted})


__all__ = [
    "AltacolorSearchProductsOperator",
    "CreateProductCategoryOperator",
    "CreateProductOperator",
    "DeleteProductCategoryOperator",
    "DeleteProductOperator",
    "GetProductOperator",
    "ListProductCategoriesOperator",
    "SearchProductsOperator",
    "UpdateProductCategoryOperator",
    "UpdateProductOperator",
    "UpdateProductsOperator",
]
