"""Triggers behind the deferrable product-change sensors.

A trigger polls the catalogue with the hook's async twin (``aiter_products``) on the shared HTTP
core, so it obeys the same rate limiter as every other request made with the same credentials,
and sleeps ``poke_interval`` between polls. It fires exactly one event:

* ``{"status": "success", "products": [...], "polls": n}`` when at least one matching product
  changed after ``changed_after``;
* ``{"status": "error", "error_type": ..., "message": ...}`` when a poll failed after the core
  spent its retries (the message is the API's, with no secret in it);
* ``{"status": "timeout", "message": ...}`` when ``timeout_at`` passed.

Its kwargs are plain JSON (ids, ISO dates, condition mappings). Triggers of one connection in
one triggerer event loop share one hook, hence one connection pool, which is closed when the
last of them finishes.

The same classes also do the synchronous polling of the sensors in poke and reschedule mode
(:meth:`ProductChangeTriggerBase.poll`), so the query is written once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from typing import TypeAlias

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    ProductHook: TypeAlias = "AltegioHook | AltacolorHook"

JsonDict = dict[str, Any]

#: Floor of the pause between two polls, so that ``poke_interval=0`` cannot spin the event loop.
MIN_POLL_INTERVAL = 0.1


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    from airflow_provider_altegio.models.common import parse_api_datetime

    return parse_api_datetime(value)


def _event(payload: JsonDict) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


class _SharedHooks:
    """Hooks shared by the triggers of one event loop, by (hook class, connection id).

    Reference-counted: the hook (and its connection pool) is closed when its last user leaves.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, int], tuple[Any, int]] = {}

    @contextlib.asynccontextmanager
    async def use(self, key: tuple[str, str], factory: Any) -> AsyncIterator[Any]:
        full_key = (*key, id(asyncio.get_running_loop()))
        hook, users = self._entries.get(full_key, (None, 0))
        if hook is None:
            hook = factory()
        self._entries[full_key] = (hook, users + 1)
        try:
            yield hook
        finally:
            hook, users = self._entries[full_key]
            if users <= 1:
                del self._entries[full_key]
                await hook.aclose()
            else:
                self._entries[full_key] = (hook, users - 1)


_SHARED_HOOKS = _SharedHooks()


class ProductChangeTriggerBase(BaseTrigger):
    """What the Altegio and Altacolor product-change triggers share: the loop, events, timeout.

    :param conn_id: the Airflow connection id.
    :param changed_after: ISO date-time; products changed after it count.
    :param product_ids: only these products count (``None``: any product).
    :param poke_interval: seconds between polls.
    :param timeout_at: ISO date-time after which a timeout event fires (``None``: never).

    Subclasses set :attr:`id_field`, build the hook (:meth:`create_hook`) and the query
    (:meth:`search`), and list their own kwargs in :meth:`query_kwargs`.
    """

    #: The product's id in the API's JSON (``good_id`` / ``product_id``).
    id_field: ClassVar[str]

    def __init__(
        self,
        *,
        conn_id: str,
        changed_after: str,
        product_ids: list[int] | None = None,
        poke_interval: float = 60.0,
        timeout_at: str | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.changed_after = changed_after
        self.product_ids = list(product_ids) if product_ids is not None else None
        self.poke_interval = float(poke_interval)
        self.timeout_at = timeout_at

    # -- to override ---------------------------------------------------------------------------

    def create_hook(self) -> ProductHook:
        """A new hook for :attr:`conn_id` (its HTTP clients are created on first request)."""
        raise NotImplementedError

    def search(self) -> tuple[tuple[Any, ...], JsonDict]:
        """Positional and keyword arguments of the hook's ``iter_products``/``aiter_products``."""
        raise NotImplementedError

    def query_kwargs(self) -> JsonDict:
        """The subclass's own constructor kwargs (JSON-safe)."""
        return {}

    # -- shared --------------------------------------------------------------------------------

    def serialize(self) -> tuple[str, JsonDict]:
        """Class path and JSON-safe kwargs that rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "changed_after": self.changed_after,
                "product_ids": self.product_ids,
                "poke_interval": self.poke_interval,
                "timeout_at": self.timeout_at,
                **self.query_kwargs(),
            },
        )

    @property
    def changed_after_dt(self) -> datetime:
        """``changed_after`` as an aware datetime."""
        value = _parse_iso(self.changed_after)
        assert value is not None  # required argument
        return value

    def keep(self, product: Any) -> bool:
        """Whether a changed product is one the caller waits for."""
        return self.product_ids is None or getattr(product, self.id_field, None) in self.product_ids

    def select(self, products: Iterable[Any]) -> list[JsonDict]:
        """The products to report, as JSON dicts."""
        return [product.to_json_dict() for product in products if self.keep(product)]

    def poll(self, hook: ProductHook) -> list[JsonDict]:
        """One synchronous poll (used by the sensors in poke and reschedule mode)."""
        args, kwargs = self.search()
        products: Iterator[Any] = hook.iter_products(*args, **kwargs)
        return self.select(products)

    async def apoll(self, hook: ProductHook) -> list[JsonDict]:
        """One asynchronous poll on the hook's async twin."""
        args, kwargs = self.search()
        return self.select([product async for product in hook.aiter_products(*args, **kwargs)])

    def _remaining(self) -> float | None:
        deadline = _parse_iso(self.timeout_at)
        if deadline is None:
            return None
        return (deadline - datetime.now(tz=timezone.utc)).total_seconds()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll every ``poke_interval`` seconds until a change, an error or the timeout."""
        polls = 0
        async with _SHARED_HOOKS.use((type(self).__qualname__, self.conn_id), self.create_hook) as hook:
            while True:
                polls += 1
                try:
                    products = await self.apoll(hook)
                except Exception as exc:
                    # Transient failures were already retried by the core; what reaches here is
                    # final. Report it (no busy loop) and let execute_complete raise it.
                    self.log.error("Poll %d failed: %s", polls, exc)
                    yield _event({"status": "error", "error_type": type(exc).__name__, "message": str(exc)})
                    return
                if products:
                    self.log.info("Poll %d: %d matching products changed", polls, len(products))
                    yield _event({"status": "success", "products": products, "polls": polls})
                    return
                remaining = self._remaining()
                if remaining is not None and remaining <= 0:
                    yield _event(
                        {
                            "status": "timeout",
                            "message": f"No product changed after {self.changed_after} "
                            f"before the sensor timed out at {self.timeout_at} ({polls} polls)",
                        }
                    )
                    return
                delay = max(MIN_POLL_INTERVAL, self.poke_interval)
                if remaining is not None:
                    delay = min(delay, remaining)
                self.log.info("Poll %d: no change yet; next poll in %.1fs", polls, delay)
                await asyncio.sleep(delay)


class ProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altegio products of a location change (behind ``WaitForProductChangeSensor``).

    Polls ``GET /goods/{location_id}`` with ``changed_after`` (plus ``term`` and
    ``category_id`` when given) and fires with the changed products.

    :param conn_id: Airflow connection of type ``altegio``.
    :param location_id: the location (already resolved by the sensor).
    :param changed_after: ISO date-time; products changed after it count.
    :param product_ids: only these ``good_id`` count.
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param poke_interval: seconds between polls.
    :param timeout_at: ISO date-time of the sensor's timeout.
    """

    id_field = "good_id"

    def __init__(
        self,
        *,
        location_id: int,
        category_id: int | None = None,
        term: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.location_id = location_id
        self.category_id = category_id
        self.term = term

    def query_kwargs(self) -> JsonDict:
        return {"location_id": self.location_id, "category_id": self.category_id, "term": self.term}

    def create_hook(self) -> AltegioHook:
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.conn_id)

    def search(self) -> tuple[tuple[Any, ...], JsonDict]:
        return (self.location_id,), {
            "term": self.term,
            "category_id": self.category_id,
            "changed_after": self.changed_after_dt,
        }


class AltacolorProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altacolor catalogue products change (behind ``AltacolorWaitForProductChangeSensor``).

    Searches with the condition ``date_modified > changed_after`` joined (AND) with the
    caller's ``conditions``, and fires with the changed products.

    :param conn_id: Airflow connection of type ``altacolor``.
    :param changed_after: ISO date-time; products modified after it count.
    :param conditions: further search conditions (JSON mappings, see ``SearchCondition``).
    :param product_ids: only these ``product_id`` count.
    :param poke_interval: seconds between polls.
    :param timeout_at: ISO date-time of the sensor's timeout.
    """

    id_field = "product_id"

    def __init__(self, *, conditions: list[JsonDict] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conditions = list(conditions or [])

    def query_kwargs(self) -> JsonDict:
        return {"conditions": self.conditions}

    def create_hook(self) -> AltacolorHook:
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=self.conn_id)

    def search(self) -> tuple[tuple[Any, ...], JsonDict]:
        changed = {"field": "date_modified", "condition": ">", "value": self.changed_after}
        return ([*self.conditions, changed],), {}


__all__ = ["AltacolorProductChangeTrigger", "ProductChangeTrigger", "ProductChangeTriggerBase"]
