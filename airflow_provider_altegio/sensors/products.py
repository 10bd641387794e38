"""Sensors that wait for products to change, in Altegio or in the Altacolor supplier catalogue.

Both work in ``mode="poke"``, ``mode="reschedule"`` and deferred (``deferrable=True``, default
from ``[operators] default_deferrable``). Deferred, they first check once on the worker and
only defer when nothing changed yet; the trigger then polls with the async HTTP core and the
shared rate limiter (see :mod:`airflow_provider_altegio.triggers.products`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.configuration import conf

from airflow_provider_altegio.exceptions import AltegioProviderError
from airflow_provider_altegio.operators._common import (
    HookOwner,
    JsonDict,
    altacolor_conditions,
    coerce_datetime,
    coerce_int,
    coerce_int_list,
    is_blank,
    to_json,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_altegio.triggers.products import (
        AltacolorProductChangeTrigger,
        ProductChangeTrigger,
        ProductChangeTriggerBase,
    )


def _default_changed_after(context: Context) -> datetime:
    """The start of the run's data interval (or its logical date, or when it was due to run)."""
    for key in ("data_interval_start", "logical_date"):
        value = context.get(key)
        if isinstance(value, datetime):
            return value
    run_after = getattr(context.get("dag_run"), "run_after", None)
    return run_after if isinstance(run_after, datetime) else datetime.now(tz=timezone.utc)


class ProductChangeSensorBase(HookOwner, BaseSensorOperator):
    """What the two product-change sensors share: the date default, poking, deferral, results.

    Subclasses build their trigger (:meth:`build_trigger`), which also performs the synchronous
    pokes, so both modes run the same query. The pokes of one try share one hook, closed when
    ``execute`` ends (see :class:`HookOwner`).

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
        self._trigger: ProductChangeTriggerBase | None = None

    def build_trigger(self, common: JsonDict) -> ProductChangeTriggerBase:
        """The trigger for this sensor's query; ``common`` holds the base trigger kwargs."""
        raise NotImplementedError

    def trigger_for(self, context: Context) -> ProductChangeTriggerBase:
        """Validate the inputs (once per try) into the trigger that describes the query.

        :raises InvalidRequestError: a bad date, id or condition, or no location.
        """
        if self._trigger is None:
            changed_after = coerce_datetime(self.changed_after, "changed_after")
            common: JsonDict = {
                "changed_after": (changed_after or _default_changed_after(context)).isoformat(),
                "product_ids": coerce_int_list(self.product_ids, "product_ids"),
                "poke_interval": float(self.poke_interval),
            }
            self._trigger = self.build_trigger(common)
        return self._trigger

    def poke(self, context: Context) -> PokeReturnValue:
        """One poll: done when at least one matching product changed; XCom: those products."""
        trigger = self.trigger_for(context)
        products = trigger.poll(self.own_hook(trigger.create_hook))
        self.log.info("%d matching products changed after %s", len(products), trigger.changed_after)
        return PokeReturnValue(is_done=bool(products), xcom_value=products)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        self._defer(context)
        return None  # not reached: defer() raises TaskDeferred

    def _defer(self, context: Context) -> None:
        trigger = self.trigger_for(context)
        deadline = datetime.now(tz=timezone.utc) + timedelta(seconds=self.timeout)
        trigger.timeout_at = deadline.isoformat()
        self.log.info("Deferring: polling every %.0fs until %s", self.poke_interval, trigger.timeout_at)
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: JsonDict | None = None) -> list[JsonDict]:
        """Resume after the trigger fired: return the changed products or raise its error.

        :raises AirflowSensorTimeout: the trigger reached the sensor's ``timeout``.
        :raises AltegioProviderError: the trigger's poll failed; the message is the API's.
        """
        from airflow.sdk.exceptions import AirflowSensorTimeout

        event = event or {}
        status = event.get("status")
        if status == "success":
            products: list[JsonDict] = event.get("products") or []
            self.log.info(
                "%d matching products changed (after %s polls in the triggerer)",
                len(products),
                event.get("polls"),
            )
            return products
        if status == "timeout":
            raise AirflowSensorTimeout(event.get("message") or "Sensor timed out")
        raise AltegioProviderError(
            f"{event.get('error_type') or 'Error'} while waiting for product changes: "
            f"{event.get('message') or event!r}"
        )


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

    XCom: the changed products, a list of dicts with the API's field names.

    :raises InvalidRequestError: a bad date or id, or no location, before any request.
    :raises AirflowSensorTimeout: nothing changed within ``timeout``.
    :raises AltegioAPIError: a poll failed (deferred: ``AltegioProviderError`` with the API's
        message).
    """

    template_fields = ("location_id", "changed_after", "product_ids", "category_id", "term")

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
        self.altegio_conn_id = altegio_conn_id

    def build_trigger(self, common: JsonDict) -> ProductChangeTrigger:
        from airflow_provider_altegio.hooks.altegio import AltegioHook
        from airflow_provider_altegio.triggers.products import ProductChangeTrigger

        category_id = coerce_int(self.category_id, "category_id")
        hook = self.own_hook(lambda: AltegioHook(altegio_conn_id=self.altegio_conn_id))  # reused by the pokes
        location_id = hook.resolve_location_id(coerce_int(self.location_id, "location_id"))
        return ProductChangeTrigger(
            conn_id=self.altegio_conn_id,
            location_id=location_id,
            category_id=category_id,
            term=None if is_blank(self.term) else str(self.term).strip(),
            **common,
        )


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

    XCom: the changed products, a list of dicts with the API's field names.

    :raises InvalidRequestError: a bad date, id or condition, before any request.
    :raises AirflowSensorTimeout: nothing changed within ``timeout``.
    :raises AltacolorAPIError: a poll failed (deferred: ``AltegioProviderError`` with the API's
        message).
    """

    template_fields = ("changed_after", "product_ids", "conditions")

    def __init__(
        self,
        *,
        conditions: Any = None,
        altacolor_conn_id: str = "altacolor_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conditions = conditions
        self.altacolor_conn_id = altacolor_conn_id

    def build_trigger(self, common: JsonDict) -> AltacolorProductChangeTrigger:
        from airflow_provider_altegio.triggers.products import AltacolorProductChangeTrigger

        conditions = [] if is_blank(self.conditions) else self.conditions
        trigger = AltacolorProductChangeTrigger(
            conn_id=self.altacolor_conn_id,
            # Only "no conditions" means none: a falsy malformed value (0, {}) is validated, not dropped.
            conditions=to_json(altacolor_conditions(conditions, "conditions")) if conditions != [] else [],
            **common,
        )
        # Validate the full query (the date condition included) now, not in the triggerer.
        altacolor_conditions(trigger.search()[0][0], "conditions")
        return trigger


__all__ = [
    "AltacolorWaitForProductChangeSensor",
    "ProductChangeSensorBase",
    "WaitForProductChangeSensor",
]
