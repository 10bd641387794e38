"""Triggers behind the deferrable product-change sensors.

A trigger asks its hook's ``achanged_products`` every ``poke_interval`` seconds until a matching
change (``status: success``), a final error (``status: error``) or its deadline
(``status: timeout``). Triggers of one connection in one triggerer share one hook.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

JsonDict = dict[str, Any]

#: Floor of the pause between two polls, so that ``poke_interval=0`` cannot spin the event loop.
MIN_POLL_INTERVAL = 0.1


class _SharedHooks:
    """Hooks shared by the triggers of one event loop, by (trigger class, connection id).

    Reference-counted: the hook (and its connection pool) is closed when its last user leaves.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, int], tuple[Any, int]] = {}

    @contextlib.asynccontextmanager
    async def use(self, key: tuple[str, str], factory: Callable[[], Any]) -> AsyncIterator[Any]:
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
    """The poll loop both product-change triggers share.

    :param conn_id: the Airflow connection id.
    :param poke_interval: seconds between polls.
    :param deadline: ISO date-time at which the wait ends with a timeout event (``None``: never).
    :param query: the keyword arguments of the hook's ``achanged_products`` (JSON-safe).
    """

    def __init__(self, *, conn_id: str, poke_interval: float, deadline: str | None, query: JsonDict) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.poke_interval = float(poke_interval)
        self.deadline = deadline
        self.query = query

    def create_hook(self) -> AltegioHook | AltacolorHook:
        """A new hook for :attr:`conn_id` (its HTTP clients are created on first request)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, JsonDict]:
        """Class path and JSON-safe kwargs that rebuild this trigger in the triggerer."""
        kwargs = {"conn_id": self.conn_id, "poke_interval": self.poke_interval, "deadline": self.deadline}
        kwargs.update(self.query)
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def _seconds_left(self) -> float | None:
        if self.deadline is None:
            return None
        return (datetime.fromisoformat(self.deadline) - datetime.now(tz=timezone.utc)).total_seconds()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll every ``poke_interval`` seconds until a matching change, an error or the deadline."""
        polls = 0
        async with _SHARED_HOOKS.use((type(self).__qualname__, self.conn_id), self.create_hook) as hook:
            while True:
                polls += 1
                try:
                    products = await hook.achanged_products(**self.query)
                except Exception as exc:
                    # Transient failures were already retried by the core; what reaches here is
                    # final. Report it (no busy loop) and let execute_complete raise it.
                    self.log.error("Poll %d failed: %s", polls, exc)
                    yield TriggerEvent(  # type: ignore[no-untyped-call]
                        {"status": "error", "error_type": type(exc).__name__, "message": str(exc)}
                    )
                    return
                if products:
                    self.log.info("Poll %d: %d matching products changed", polls, len(products))
                    payload = [product.to_json_dict() for product in products]
                    yield TriggerEvent(  # type: ignore[no-untyped-call]
                        {"status": "success", "products": payload, "polls": polls}
                    )
                    return
                left = self._seconds_left()
                if left is not None and left <= 0:
                    message = f"No matching product changed before {self.deadline} ({polls} polls)"
                    yield TriggerEvent({"status": "timeout", "message": message})  # type: ignore[no-untyped-call]
                    return
                delay = max(MIN_POLL_INTERVAL, self.poke_interval)
                delay = delay if left is None else min(delay, left)
                self.log.info("Poll %d: no change yet; next poll in %.1fs", polls, delay)
                await asyncio.sleep(delay)


class ProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altegio products of a location change (behind ``WaitForProductChangeSensor``).

    :param conn_id: Airflow connection of type ``altegio``.
    :param location_id: the location (already resolved by the sensor).
    :param changed_after: ISO date-time; products changed after it count.
    :param product_ids: only these ``good_id`` count.
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param poke_interval: seconds between polls.
    :param deadline: ISO date-time of the sensor's timeout.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        location_id: int,
        changed_after: str,
        product_ids: list[int] | None = None,
        category_id: int | None = None,
        term: str | None = None,
        poke_interval: float = 60.0,
        deadline: str | None = None,
    ) -> None:
        query = {
            "location_id": location_id,
            "changed_after": changed_after,
            "product_ids": product_ids,
            "category_id": category_id,
            "term": term,
        }
        super().__init__(conn_id=conn_id, poke_interval=poke_interval, deadline=deadline, query=query)

    def create_hook(self) -> AltegioHook:
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.conn_id)


class AltacolorProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altacolor catalogue products change (behind ``AltacolorWaitForProductChangeSensor``).

    :param conn_id: Airflow connection of type ``altacolor``.
    :param changed_after: ISO date-time; products modified after it count.
    :param conditions: further search conditions (JSON mappings, see ``SearchCondition``).
    :param product_ids: only these ``product_id`` count.
    :param poke_interval: seconds between polls.
    :param deadline: ISO date-time of the sensor's timeout.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        changed_after: str,
        conditions: list[JsonDict] | None = None,
        product_ids: list[int] | None = None,
        poke_interval: float = 60.0,
        deadline: str | None = None,
    ) -> None:
        query = {"changed_after": changed_after, "conditions": conditions, "product_ids": product_ids}
        super().__init__(conn_id=conn_id, poke_interval=poke_interval, deadline=deadline, query=query)

    def create_hook(self) -> AltacolorHook:
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=self.conn_id)


__all__ = ["AltacolorProductChangeTrigger", "ProductChangeTrigger", "ProductChangeTriggerBase"]
