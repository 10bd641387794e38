"""Sensors that wait for products to change, in Altegio or in the Altacolor supplier catalogue.

Both work in ``mode="poke"``, ``mode="reschedule"`` and deferred (``deferrable=True``, default
from ``[operators] default_deferrable``). The sensor builds its query once
(:class:`~airflow_provider_altegio.triggers.products.ProductQuery`); each poke asks the hook with
it, and deferred, after one check on the worker, the trigger asks with the same query. The
triggers of one connection and listing share one poll.

XCom (and the trigger's event) carry the ids and the count of the changed products, not their
records: read what you need of them downstream.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_altegio import exceptions
from airflow_provider_altegio.compat import conf
from airflow_provider_altegio.exceptions import AltegioProviderError, APIError
from airflow_provider_altegio.inputs import read_conditions, read_datetime, read_id_list, to_json
from airflow_provider_altegio.values import is_blank, optional_whole_number

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.operators.base import JsonDict
    from airflow_provider_altegio.triggers.products import (
        ProductChangeTrigger,
        ProductQuery,
    )


def _default_changed_after(context: Context) -> datetime:
    """The start of the run's data interval (or its logical date, or when it was due to run)."""
    for key in ("data_interval_start", "logical_date"):
        value = context.get(key)
        if isinstance(value, datetime):
            return value
    run_after = getattr(context.get("dag_run"), "run_after", None)
    return run_after if isinstance(run_after, datetime) else datetime.now(tz=timezone.utc)


class ProductChangeSensorBase(BaseSensorOperator):
    """What the two product-change sensors share: the query, poking, deferral, results.

    A subclass names its API and connection and the filters of its listing (:meth:`filters`).

    :param changed_after: products changed after this moment count (datetime or ISO string).
        Default: the start of the run's data interval. Templated.
    :param product_ids: only these products count. Templated.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: tuple[str, ...] = ("changed_after", "product_ids")
    ui_color = "#e8eef4"

    def __init__(
        self,
        *,
        changed_after: Any = None,
        product_ids: Any = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.changed_after = changed_after
        self.product_ids = product_ids
        self.deferrable = deferrable
        self._query: ProductQuery | None = None
        self._checked_at: datetime | None = None

    hook: AltegioHook | AltacolorHook
    #: the API (``"altegio"``, ``"altacolor"``) and the connection id its products come from.
    api: str
    conn_id: str

    def filters(self) -> JsonDict:
        """The listing's filters, validated (see ``ProductQuery.filters``).

        :raises InvalidRequestError: a bad id or condition.
        """
        raise NotImplementedError

    def query(self, context: Context) -> ProductQuery:
        """The query of this try, built and validated once.

        :raises InvalidRequestError: a bad date, id or condition.
        """
        if self._query is None:
            from airflow_provider_altegio.triggers.products import ProductQuery

            changed_after = read_datetime(self.changed_after, "changed_after")
            self._query = ProductQuery.rebuild(
                self.api,
                self.conn_id,
                self.filters(),
                changed_after or _default_changed_after(context),
                read_id_list(self.product_ids, "product_ids"),
            )
        return self._query

    def poke(self, context: Context) -> PokeReturnValue:
        """One check: done when at least one matching product changed.

        XCom: ``{"product_ids": [...], "count": n}``.
        """
        query = self.query(context)
        assert query.changed_after is not None
        self._checked_at = datetime.now(tz=timezone.utc)
        ids = query.matching(query.changed(self.hook, query.changed_after), query.changed_after)
        self.log.info("%d matching products changed after %s", len(ids), query.changed_after.isoformat())
        return PokeReturnValue(is_done=bool(ids), xcom_value={"product_ids": ids, "count": len(ids)})

    def trigger(self, query: ProductQuery, checked_at: str, deadline: str) -> ProductChangeTrigger:
        """The trigger that waits for ``query`` from ``checked_at`` (the last check, ISO) until
        ``deadline`` (ISO)."""
        from airflow_provider_altegio.triggers.products import ProductChangeTrigger

        return ProductChangeTrigger.waiting_for(query, self.poke_interval, checked_at, deadline)

    def execute(self, context: Context) -> Any:
        with self.hook:
            if not self.deferrable:
                return super().execute(context)
            first = self.poke(context)
            if first.is_done:
                return first.xcom_value
        deadline = datetime.now(tz=timezone.utc) + timedelta(seconds=self.timeout)
        self.log.info("Deferring: polling every %.0fs until %s", self.poke_interval, deadline.isoformat())
        checked_at = (self._checked_at or datetime.now(tz=timezone.utc)).isoformat()
        # The trigger keeps the one deadline (dag.test() would not enforce a deferral timeout).
        self.defer(
            trigger=self.trigger(self.query(context), checked_at, deadline.isoformat()),
            method_name="execute_complete",
        )
        return None  # not reached: defer() raises TaskDeferred

    def execute_complete(self, context: Context, event: JsonDict | None = None) -> JsonDict:
        """Resume after the trigger fired: return the changed products' ids and count, or raise
        its error.

        :raises AirflowSensorTimeout: the deadline passed (``soft_fail`` skips instead).
        :raises AltegioProviderError: the trigger's poll failed; the message is the API's.
        """
        from airflow_provider_altegio.compat import AirflowSensorTimeout

        event = event or {}
        if event.get("status") == "success":
            ids: list[int] = event.get("product_ids") or []
            self.log.info("%d matching products changed (after %s polls)", len(ids), event.get("polls"))
            return {"product_ids": ids, "count": len(ids)}
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(event.get("message") or "Sensor timed out")
        error_type = str(event.get("error_type") or "Error")
        message = f"{error_type} while waiting for product changes: {event.get('message') or event!r}"
        # The trigger's error class survives the trip, so that one no retry can fix (a 401, a
        # 404) still fails the task at once.
        error_class = getattr(exceptions, error_type, None)
        if isinstance(error_class, type) and issubclass(error_class, APIError):
            raise error_class(message)
        raise AltegioProviderError(message)


class WaitForProductChangeSensor(ProductChangeSensorBase):
    """Wait until at least one matching Altegio product changed after ``changed_after``.

    Polls ``GET /goods/{location_id}`` with ``changed_after`` (and ``term``/``category_id``);
    ``product_ids`` narrows the result to those ``good_id``.

    :param location_id: location id; defaults to the connection's ``location_id`` extra.
    :param changed_after: products changed after this moment count (datetime or ISO string).
        Default: the start of the run's data interval.
    :param product_ids: only these products (list of ``good_id``, or comma-separated text).
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param altegio_conn_id: Airflow connection of type ``altegio``.

    Plus the usual sensor arguments: ``poke_interval``, ``timeout``, ``mode``, ``soft_fail``...

    Templated fields: ``location_id``, ``changed_after``, ``product_ids``, ``category_id``,
    ``term``.

    XCom: ``{"product_ids": [good_id, ...], "count": n}`` of the changed products.

    :raises InvalidRequestError: a bad date or id, or no location, before any request.
    :raises AirflowSensorTimeout: nothing changed within ``timeout``.
    :raises AltegioAPIError: a poll failed (deferred: ``AltegioProviderError`` with the API's
        message).
    """

    template_fields = ("location_id", "changed_after", "product_ids", "category_id", "term")
    api = "altegio"

    def __init__(
        self,
        *,
        location_id: int | str | None = None,
        category_id: int | str | None = None,
        term: str | None = None,
        altegio_conn_id: str = "altegio_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.location_id = location_id
        self.category_id = category_id
        self.term = term
        self.altegio_conn_id = self.conn_id = altegio_conn_id

    @cached_property
    def hook(self) -> AltegioHook:  # type: ignore[override]
        """The Altegio hook of ``altegio_conn_id``."""
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.altegio_conn_id)

    def filters(self) -> JsonDict:
        return {
            # The connection's default location stays None: the hook reads it, and sensors and
            # watchers that rely on it share one poll.
            "location_id": optional_whole_number(self.location_id, "location_id"),
            "category_id": optional_whole_number(self.category_id, "category_id"),
            "term": None if is_blank(self.term) else str(self.term).strip(),
        }


class AltacolorWaitForProductChangeSensor(ProductChangeSensorBase):
    """Wait until at least one Altacolor catalogue product was modified after ``changed_after``.

    Searches with ``date_modified > changed_after`` (the Date Modified condition) joined with
    the optional ``conditions``; ``product_ids`` narrows the result to those ``product_id``.

    :param changed_after: products modified after this moment count (datetime or ISO string).
        Default: the start of the run's data interval.
    :param conditions: further conditions (people's or raw form, see
        ``AltacolorSearchProductsOperator``), e.g. ``{"field": "supplier", "condition": "==",
        "value": "Wella"}``.
    :param product_ids: only these products (``product_id``).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param altacolor_conn_id: Airflow connection of type ``altacolor``.

    Templated fields: ``changed_after``, ``product_ids``, ``conditions``.

    XCom: ``{"product_ids": [product_id, ...], "count": n}`` of the changed products.

    :raises InvalidRequestError: a bad date, id or condition, before any request.
    :raises AirflowSensorTimeout: nothing changed within ``timeout``.
    :raises AltacolorAPIError: a poll failed (deferred: ``AltegioProviderError`` with the API's
        message).
    """

    template_fields = ("changed_after", "product_ids", "conditions")
    api = "altacolor"

    def __init__(
        self, *, conditions: Any = None, altacolor_conn_id: str = "altacolor_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.conditions = conditions
        self.altacolor_conn_id = self.conn_id = altacolor_conn_id

    @cached_property
    def hook(self) -> AltacolorHook:  # type: ignore[override]
        """The Altacolor hook of ``altacolor_conn_id``."""
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=self.altacolor_conn_id)

    def filters(self) -> JsonDict:
        # Only "no conditions" means none: a falsy malformed value (0, {}) is validated, not dropped.
        given = [] if is_blank(self.conditions) else self.conditions
        return {"conditions": to_json(read_conditions(given, "conditions")) if given != [] else []}


__all__ = [
    "AltacolorWaitForProductChangeSensor",
    "ProductChangeSensorBase",
    "WaitForProductChangeSensor",
]
