"""The catalogues as a whole: finding products by their codes (Altegio's and the supplier's),
and bulk updates, each at near the fewest requests: a walk of the catalogue, or one per code."""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_altegio.exceptions import (
    AltegioNotFoundError,
    AltegioValidationError,
    InvalidRequestError,
)
from airflow_provider_altegio.models.altegio import (
    BulkUpdateReport,
    Product,
    ProductUpdate,
    ProductUpdateOutcome,
    product_differences,
)
from airflow_provider_altegio.values import is_blank, structure, whole_number

#: The largest page the goods listing takes: a walk of the whole catalogue in the fewest requests.
MAX_PAGE_SIZE = 1000

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.models.altacolor import AltacolorProductDetailed

log = logging.getLogger(__name__)


def find_products(
    hook: AltegioHook, codes: Iterable[tuple[str, str]], location_id: int | None = None
) -> dict[tuple[str, str], list[Product]]:
    """The products each ``(kind, code)`` names exactly (see :meth:`Product.identifiers`:
    ``good_id``, ``article``, ``barcode``, or ``code`` for either of the last two).

    Requests are kept near the fewest without knowing the catalogue's size: the catalogue is
    walked in pages of 1000 (the API's largest), keeping only the products named, for as long as
    the codes still to look up outnumber the pages read; the rest are then looked up a request
    each (``GET`` by id, or the API's ``term`` search, kept only where the match is exact). A
    catalogue that ends first costs its pages; one single code, one request; never more than
    twice the lookups.
    """
    location = hook.resolve_location_id(location_id)
    wanted = set(codes)
    found: dict[tuple[str, str], list[Product]] = {code: [] for code in wanted}
    to_look_up = set(wanted)
    walk = hook.iter_products(location, page_size=MAX_PAGE_SIZE)
    pages = 0
    while len(to_look_up) > max(pages, 1):
        page = list(itertools.islice(walk, MAX_PAGE_SIZE))  # the next page is asked only here
        pages += 1
        for product in page:
            for named in product.identifiers() & wanted:
                found[named].append(product)
        if len(page) < MAX_PAGE_SIZE:
            return found  # the whole catalogue was read
        # Ids are unique: one already found needs no lookup; an article or barcode may be shared.
        to_look_up = {
            (kind, code) for kind, code in to_look_up if kind != "good_id" or not found[(kind, code)]
        }
    for kind, code in to_look_up:
        if kind == "good_id":
            with contextlib.suppress(AltegioNotFoundError):  # no such product: none found
                found[(kind, code)] = [hook.get_product(int(code), location)]
        else:
            searched = hook.iter_products(location, term=code)  # few match: a page the API honours
            found[(kind, code)] = [p for p in searched if (kind, code) in p.identifiers()]
    return found


def supplier_details(hook: AltacolorHook, codes: Iterable[str | None]) -> list[AltacolorProductDetailed]:
    """The supplier's products whose product code is one of ``codes`` (an Altegio article, or a
    barcode), with their variants and prices: what a purchase order is priced from.

    The first page of the catalogue says how many pages it has: with fewer codes left than
    pages, each code is searched for (``product_code ==``, a request each); otherwise the
    catalogue is walked. Then only the products found are asked for their details, 100 a
    request. A short order costs about a request per line, a long one a walk.
    """
    from airflow_provider_altegio.models.altacolor import MAX_LIMIT, WHOLE_CATALOGUE

    wanted = {str(code).strip() for code in codes if code and str(code).strip()}
    if not wanted:
        return []
    first = hook.search_products([WHOLE_CATALOGUE], sort_by="product_id")
    found = [p for p in first.products if (p.product_code or "").strip() in wanted]
    rest = sorted(wanted - {(p.product_code or "").strip() for p in found})
    if rest and len(rest) < math.ceil(first.total / MAX_LIMIT):
        for code in rest:
            condition = {"field": "product_code", "condition": "==", "value": code}
            found += [p for p in hook.search_products(condition).products if p.product_code == code]
    elif rest:
        found = [p for p in hook.iter_catalogue() if (p.product_code or "").strip() in wanted]
    ids = sorted({p.product_id for p in found if p.product_id is not None})
    log.info("%d of %d codes are supplier products; asking their details", len(ids), len(wanted))
    return hook.get_products(ids)


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


def update_products(
    hook: AltegioHook,
    changes: Iterable[Mapping[str, Any]] | str,
    location_id: int | None = None,
    *,
    skip_unknown: bool = False,
) -> BulkUpdateReport:
    """Apply many product changes, each only where the product differs: resumable.

    Each change names one product by ``good_id``, ``article`` or ``barcode`` and gives the
    :class:`ProductUpdate` fields to set (``{"article": "SH-500", "actual_cost": 12.5}``). Every
    change is validated first; then the products are found (:func:`find_products`). A product
    that already holds the values is ``unchanged`` and costs no request, so running the same
    changes again after a failure redoes nothing that was done. A product the API refuses (4xx)
    is reported ``failed`` and the others go on.

    :raises InvalidRequestError: naming ``changes[i]...``: a field is invalid, a change names no
        product key or changes nothing, or names a product the location does not have (unless
        ``skip_unknown``) or several; before anything is written.
    :raises APIError: a failure no product can get past (network, server, a lost answer); what
        was done is in the log, and running again picks up from there.
    """
    items = structure(changes, "changes")
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InvalidRequestError("changes", "must be a list of product changes")
    planned = [_product_change(item, f"changes[{index}]") for index, item in enumerate(items)]
    location = hook.resolve_location_id(location_id)
    index = find_products(hook, {(key, value) for key, value, _ in planned}, location)
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
                hook.update_product(int(product.good_id or 0), fields, location)
                outcome.outcome = "updated"
            except (AltegioValidationError, AltegioNotFoundError) as error:
                outcome.outcome, outcome.error = "failed", str(error)
            log.info("%s (good %s): %s %s", name, product.good_id, outcome.outcome, fields)
        report.outcomes.append(outcome)
    report.outcomes.sort(key=lambda item: item.change)
    log.info("Bulk product update in location %s: %s", location, report.summary())
    return report
