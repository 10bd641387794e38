"""Operators for the Altegio product catalogue and categories, and the Altacolor supplier catalogue.

Every operator is a thin shell over a hook method: it reads its templated inputs (raising
:class:`~airflow_provider_altegio.exceptions.InvalidRequestError` naming the field before any
request), calls the hook, and returns plain JSON with the API's field names as its XCom. The
``location_id`` and connection arguments are those of
:class:`~airflow_provider_altegio.operators.base.AltegioBaseOperator`; declared asset ``outlets``
of a write get an event carrying its ``location_id`` and the id it wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.inputs import read_conditions, read_date_range, read_request
from airflow_provider_altegio.operators.base import (
    AltacolorBaseOperator,
    AltegioBaseOperator,
    JsonDict,
    ListReadMixin,
)
from airflow_provider_altegio.values import is_blank, optional_whole_number, whole_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_altegio.results import ReadResult


class SearchProductsOperator(ListReadMixin, AltegioBaseOperator):
    """Read every Altegio product of a location that matches the filters
    (``AltegioHook.iter_products``, page by page; progress is logged while reading).

    :param term: name, article or barcode to match.
    :param category_id: only products of this category.
    :param changed_after: only products changed or created since then (datetime or ISO string).
    :param changed_before: only products changed or created before then.
    :param output_path: write JSON lines there instead of returning the items.
    :param page_size: products per page.

    XCom: a :class:`~airflow_provider_altegio.results.ReadResult` of product dicts with the API's
    field names (``good_id``, ``title``, ``article``, ``barcode``, ``actual_amounts``...).

    :raises InvalidRequestError: a bad id or date, ``changed_before`` before ``changed_after``,
        or no location.
    :raises AltegioAPIError: the API refused the request.
    """

    template_fields = ("location_id", "term", "category_id", "changed_after", "changed_before", "output_path")
    read_description = "Altegio products"
    lineage_reads = ("locations/{location_id}/products",)

    def __init__(
        self,
        *,
        term: str | None = None,
        category_id: int | str | None = None,
        changed_after: Any = None,
        changed_before: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.term = term
        self.category_id = category_id
        self.changed_after = changed_after
        self.changed_before = changed_before

    def execute(self, context: Context) -> ReadResult:
        after, before = read_date_range(
            self.changed_after, self.changed_before, "changed_after", "changed_before"
        )
        page_size = self.read_page_size()
        with self.hook:
            products = self.hook.iter_products(
                self.location_id,  # type: ignore[arg-type]  # read by the hook
                term=None if is_blank(self.term) else str(self.term).strip(),
                category_id=optional_whole_number(self.category_id, "category_id"),
                changed_after=after,
                changed_before=before,
                page_size=page_size,
            )
            return self.deliver(products, page_size)


class AltacolorSearchProductsOperator(ListReadMixin, AltacolorBaseOperator):
    """Read every product of the Altacolor supplier catalogue that matches all ``conditions``.

    Conditions can be written for people or with the API's numeric codes:

    * ``{"field": "product_code", "condition": "==", "value": "A-1"}``
    * ``{"field": "date_modified", "condition": ">", "value": "2026-01-01T00:00:00"}``
    * ``{"field": "date_modified", "condition": "between", "value": [d1, d2]}``
    * ``{"field": 5, "condition": 7, "date1": ..., "date2": ...}``

    Fields: ``product_code``, ``product_name`` (``name``), ``supplier``, ``product_id`` (``id``),
    ``date_modified``; conditions ``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``between`` or the
    names ``eq``... ``ge``. Several conditions are joined with AND; none reads the whole
    catalogue. Results come by product id unless ``sort_by`` says otherwise (offset paging over
    the store's manual order could repeat or skip products); a product met twice is kept once.

    :param conditions: one condition mapping or a list of them (JSON text accepted).
    :param sort_by: ``product_code``, ``product_name``, ``supplier``, ``product_id``,
        ``date_modified``, ``sort_position`` or the codes 1-6.
    :param output_path: write JSON lines there instead of returning the items.
    :param page_size: products per request, at most 100 (the API's limit).

    XCom: a :class:`~airflow_provider_altegio.results.ReadResult` of product dicts
    (``product_id``, ``product_code``, ``product_name``, ``supplier``...).

    :raises InvalidRequestError: a condition the API would reject (named
        ``conditions[i].<field>``), a bad ``sort_by`` or ``page_size``.
    :raises AltacolorAPIError: the API answered with an error ``response_status``.
    """

    template_fields = ("conditions", "sort_by", "output_path")
    read_description = "Altacolor products"
    lineage_reads = ("catalogue",)
    max_page_size = 100

    def __init__(self, *, conditions: Any = None, sort_by: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conditions = conditions
        self.sort_by = sort_by

    def execute(self, context: Context) -> ReadResult:
        sort_by = None if is_blank(self.sort_by) else self.sort_by
        conditions = read_conditions(self.conditions, "conditions", sort_by=sort_by)
        page_size = self.read_page_size()
        with self.hook:
            return self.deliver(
                self.hook.iter_products(conditions, sort_by=sort_by, page_size=page_size), page_size
            )


class _ProductOperator(AltegioBaseOperator):
    """One product, addressed by ``product_id``."""

    template_fields: tuple[str, ...] = ("location_id", "product_id")

    def __init__(self, *, product_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.product_id = product_id


class _CategoryOperator(AltegioBaseOperator):
    """One category, addressed by ``category_id``."""

    template_fields: tuple[str, ...] = ("location_id", "category_id")

    def __init__(self, *, category_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category_id = category_id


def _delete(
    operator: AltegioBaseOperator, context: Context, what: str, key: str, item_id: int, ignore_missing: bool
) -> JsonDict:
    """Delete one product or category; with ``ignore_missing``, one already gone is
    ``deleted: false`` (a retry after the first try deleted it).

    :raises AltegioNotFoundError: no such item (unless ``ignore_missing``).
    """
    from airflow_provider_altegio.exceptions import AltegioNotFoundError

    deleted = True
    with operator.hook as hook:
        location = hook.resolve_location_id(operator.location_id)
        try:
            (hook.delete_product if what == "product" else hook.delete_category)(item_id, location)
            operator.log.info("Deleted %s %s", what, item_id)
        except AltegioNotFoundError:
            if not ignore_missing:
                raise
            operator.log.info("%s %s does not exist; nothing to delete", what.capitalize(), item_id)
            deleted = False
    operator.record_outlets(context, location_id=location, **{key: item_id}, deleted=deleted)
    return {key: item_id, "deleted": deleted}


class GetProductOperator(_ProductOperator):
    """Read one Altegio product (``GET /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.

    XCom: the product as a dict.

    :raises InvalidRequestError: bad ``product_id`` or no location.
    :raises AltegioNotFoundError: no such product.
    """

    lineage_reads = ("locations/{location_id}/products",)

    def execute(self, context: Context) -> JsonDict:
        product_id = whole_number(self.product_id, "product_id")
        with self.hook:
            return self.hook.get_product(product_id, self.location_id).to_json_dict()  # type: ignore[arg-type]


class CreateProductOperator(AltegioBaseOperator):
    """Create an Altegio product (``POST /goods/{location_id}``).

    :param product: the fields as the API names them: ``title``, ``category_id``,
        ``sale_unit_id`` and ``service_unit_id`` are required; ``article``, ``barcode``, ``cost``,
        ``actual_cost``, ``unit_equals``, ``critical_amount``, ``desired_amount``, ``netto``,
        ``brutto``, ``comment``... are optional. A mapping or its JSON text.

    XCom: the created product as a dict (with its new ``good_id``).

    :raises InvalidRequestError: a missing or invalid field, named ``product.<field>``; nothing
        is sent.
    :raises AltegioValidationError: the API rejected the body.
    :raises AmbiguousWriteError: the request may have reached the server but no answer came back.
    """

    template_fields = ("location_id", "product")
    lineage_writes = ("locations/{location_id}/products",)
    lineage_result = ("good_id",)

    def __init__(self, *, product: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.product = product

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import ProductCreate

        request = read_request(ProductCreate, self.product, "product")
        with self.hook:
            location = self.hook.resolve_location_id(self.location_id)
            created = self.hook.create_product(request, location).to_json_dict()
        self.log.info("Created product %s (%s)", created.get("good_id"), created.get("title"))
        self.record_outlets(context, location_id=location, good_id=created.get("good_id"))
        return created


class UpdateProductOperator(_ProductOperator):
    """Change fields of an Altegio product (``PUT /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.
    :param changes: the fields to change (API names), e.g. ``{"critical_amount": 5}``, including
        ``correction_rules``. A mapping or its JSON text.

    XCom: the updated product.

    :raises InvalidRequestError: an invalid change, named ``changes.<field>``; nothing is sent.
    :raises AltegioNotFoundError: no such product.
    """

    template_fields = ("location_id", "product_id", "changes")
    lineage_writes = ("locations/{location_id}/products",)
    lineage_result = ("good_id",)

    def __init__(self, *, changes: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes = changes

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import ProductUpdate

        product_id = whole_number(self.product_id, "product_id")
        request = read_request(ProductUpdate, self.changes, "changes")
        with self.hook:
            location = self.hook.resolve_location_id(self.location_id)
            updated = self.hook.update_product(product_id, request, location).to_json_dict()
        self.log.info("Updated product %s", product_id)
        self.record_outlets(context, location_id=location, good_id=product_id)
        return updated


class UpdateProductsOperator(AltegioBaseOperator):
    """Update many Altegio products at once (prices, critical and desired amounts...),
    resumably, within the account's rate budget
    (:func:`~airflow_provider_altegio.workflows.catalogue.update_products`).

    Only products whose values differ are sent; the others cost no request. A retry after a
    failure (or a re-run) therefore picks up where the last try stopped.

    :param changes: a list of ``{"good_id" | "article" | "barcode": ..., <fields to set>}``,
        e.g. ``[{"article": "SH-500", "actual_cost": 12.5, "critical_amount": 3}]``, or its JSON
        text (an XCom of a planning task).
    :param skip_unknown: report a change naming a product the location does not have as
        ``unknown`` instead of failing before any write.
    :param fail_on_error: fail the task, after every other product was done, when the API
        refused some (the report is pushed first, under the ``report`` key).

    XCom: ``{"updated": n, "unchanged": n, "failed": n, "unknown": n, "outcomes": [...]}``, one
    outcome per change (``product``, ``good_id``, ``outcome``, ``fields``, ``error``).

    :raises InvalidRequestError: an invalid change (named ``changes[i]...``), before any write.
    :raises AirflowFailException: the API refused some products (``fail_on_error``); no retry,
        the same refusals would come again.
    :raises AltegioProviderError: a failure stopped the run (network, server); a retry resumes.
    """

    template_fields = ("location_id", "changes")
    lineage_reads = lineage_writes = ("locations/{location_id}/products",)
    lineage_result = ("updated", "unchanged", "failed", "unknown")

    def __init__(
        self, *, changes: Any, skip_unknown: bool = False, fail_on_error: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.changes = changes
        self.skip_unknown = skip_unknown
        self.fail_on_error = fail_on_error

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.compat import AirflowFailException
        from airflow_provider_altegio.workflows.catalogue import update_products

        with self.hook:
            location = self.hook.resolve_location_id(self.location_id)
            report = update_products(self.hook, self.changes, location, skip_unknown=self.skip_unknown)
        counts = {outcome: report.count(outcome) for outcome in ("updated", "unchanged", "failed", "unknown")}
        result: JsonDict = {**counts, "outcomes": [item.model_dump(mode="json") for item in report.outcomes]}
        if report.failed and self.fail_on_error:
            context["ti"].xcom_push(key="report", value=result)
            lines = "\n".join(f"  {item.product}: {item.error}" for item in report.failed)
            raise AirflowFailException(
                f"The API refused {len(report.failed)} product updates ({report.summary()}):\n{lines}"
            )
        self.record_outlets(context, location_id=location, **counts)
        return result


class DeleteProductOperator(_ProductOperator):
    """Delete an Altegio product (``DELETE /goods/{location_id}/{product_id}``).

    :param product_id: the product's ``good_id``.
    :param ignore_missing: succeed (with ``deleted: false``) when the product does not exist,
        e.g. on a retry after the first try deleted it.

    XCom: ``{"good_id": ..., "deleted": bool}``.

    :raises AltegioNotFoundError: no such product (unless ``ignore_missing``).
    """

    lineage_writes = ("locations/{location_id}/products",)
    lineage_result = ("good_id", "deleted")

    def __init__(self, *, ignore_missing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_missing = ignore_missing

    def execute(self, context: Context) -> JsonDict:
        product_id = whole_number(self.product_id, "product_id")
        return _delete(self, context, "product", "good_id", product_id, self.ignore_missing)


class ListProductCategoriesOperator(AltegioBaseOperator):
    """List the product categories under a parent (root categories by default).

    :param parent_category_id: parent category id; ``0`` lists the root categories.

    XCom: a list of category dicts (``id``, ``title``, ``parent_category_id``, ``article``...).

    :raises InvalidRequestError: bad ``parent_category_id`` or no location.
    """

    template_fields = ("location_id", "parent_category_id")
    lineage_reads = ("locations/{location_id}/categories",)

    def __init__(self, *, parent_category_id: int | str = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parent_category_id = parent_category_id

    def execute(self, context: Context) -> list[JsonDict]:
        parent = optional_whole_number(self.parent_category_id, "parent_category_id", minimum=0) or 0
        with self.hook:
            categories = self.hook.list_categories(parent, self.location_id)  # type: ignore[arg-type]
        return [category.to_json_dict() for category in categories]


class CreateProductCategoryOperator(AltegioBaseOperator):
    """Create a product category (``POST /goods_categories/{location_id}``).

    :param category: ``title`` (required), ``parent_category_id``, ``article``, ``comment``.
        A mapping or its JSON text.

    XCom: the created category as a dict.

    :raises InvalidRequestError: an invalid field, named ``category.<field>``; nothing is sent.
    """

    template_fields = ("location_id", "category")
    lineage_writes = ("locations/{location_id}/categories",)
    lineage_result = ("id",)

    def __init__(self, *, category: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category = category

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import CategoryCreate

        request = read_request(CategoryCreate, self.category, "category")
        with self.hook:
            location = self.hook.resolve_location_id(self.location_id)
            created = self.hook.create_category(request, location).to_json_dict()
        self.log.info("Created category %s (%s)", created.get("id"), created.get("title"))
        self.record_outlets(context, location_id=location, category_id=created.get("id"))
        return created


class UpdateProductCategoryOperator(_CategoryOperator):
    """Change a product category's ``title``, ``parent_category_id``, ``article`` or ``comment``.

    :param category_id: the category id.
    :param changes: the fields to change. A mapping or its JSON text.

    XCom: the updated category.

    :raises InvalidRequestError: an invalid change, named ``changes.<field>``; nothing is sent.
    :raises AltegioNotFoundError: no such category.
    """

    template_fields = ("location_id", "category_id", "changes")
    lineage_writes = ("locations/{location_id}/categories",)
    lineage_result = ("id",)

    def __init__(self, *, changes: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes = changes

    def execute(self, context: Context) -> JsonDict:
        from airflow_provider_altegio.models.altegio import CategoryUpdate

        category_id = whole_number(self.category_id, "category_id")
        request = read_request(CategoryUpdate, self.changes, "changes")
        with self.hook:
            location = self.hook.resolve_location_id(self.location_id)
            updated = self.hook.update_category(category_id, request, location).to_json_dict()
        self.record_outlets(context, location_id=location, category_id=category_id)
        return updated


class DeleteProductCategoryOperator(_CategoryOperator):
    """Delete a product category (``DELETE /goods_categories/{location_id}/{category_id}``).

    :param category_id: the category id.
    :param ignore_missing: succeed (with ``deleted: false``) when the category does not exist.

    XCom: ``{"category_id": ..., "deleted": bool}``.

    :raises AltegioNotFoundError: no such category (unless ``ignore_missing``).
    """

    lineage_writes = ("locations/{location_id}/categories",)
    lineage_result = ("category_id", "deleted")

    def __init__(self, *, ignore_missing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_missing = ignore_missing

    def execute(self, context: Context) -> JsonDict:
        category_id = whole_number(self.category_id, "category_id")
        return _delete(self, context, "category", "category_id", category_id, self.ignore_missing)


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
