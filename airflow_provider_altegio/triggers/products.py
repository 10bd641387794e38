"""Triggers that watch products change: behind the deferrable sensors, and for ``AssetWatcher``.

Every trigger of one connection, listing and ``poke_interval`` in a triggerer shares one poll
(Airflow's shared trigger streams): one changed-products listing per interval answers all of
them, however many there are. Each listing covers a look-back window (:func:`lookback`), and
each trigger keeps from it what concerns it (its own ``changed_after`` and products). A trigger
run on its own (``dag.test()``, a triggerer without shared streams) runs the same poll alone.

Events carry product ids and counts, never whole records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_altegio.compat import BaseEventTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook
    from airflow_provider_altegio.models.altacolor import AltacolorProduct
    from airflow_provider_altegio.models.altegio import Product

    AnyProduct = Product | AltacolorProduct

JsonDict = dict[str, Any]

#: Floor of the pause between two polls, so that ``poke_interval=0`` cannot spin the event loop.
MIN_POLL_INTERVAL = 0.1
#: The look-back of a shared listing is at least this many seconds.
MIN_LOOKBACK = 300.0
#: A sensor's last check is taken this much earlier, in case the API's clock runs behind ours.
CLOCK_MARGIN = timedelta(seconds=60)


def lookback(poke_interval: float) -> timedelta:
    """How far back each listing of a shared poll reaches: a trigger that joins within this
    time of its sensor's last check is covered by the listing alone."""
    return timedelta(seconds=max(MIN_LOOKBACK, 3 * poke_interval))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


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


@dataclass(frozen=True)
class Poll:
    """One listing of a shared poll: the raw event every subscribed trigger receives.

    :ivar since: the listing's ``changed_after`` (the poll's start minus the look-back).
    :ivar products: the products changed since then, whatever their id.
    :ivar error: the listing failed (retries spent or a final API error).
    """

    since: datetime
    products: list[Any] = field(default_factory=list)
    error: Exception | None = None


class ProductPollTrigger(BaseEventTrigger):
    """The poll every product trigger shares: which listing, how often, and what matches.

    :param conn_id: the Airflow connection id.
    :param poke_interval: seconds between polls.
    :param listing: the keyword arguments of the hook's ``achanged_products`` that select the
        listing (location, category, conditions...), without ``changed_after``/``product_ids``.
    :param product_ids: only these products count (``None``: any).
    """

    #: the hook's id field of a product, and the field with its change time.
    id_field: ClassVar[str]
    changed_field: ClassVar[str]
    #: whether a product that does not say when it changed counts (the listing says it changed
    #: in the window; a trigger that fires once may take it, one that fires on every poll not).
    undated_counts: ClassVar[bool] = True

    def __init__(
        self, *, conn_id: str, poke_interval: float, listing: JsonDict, product_ids: list[int] | None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.poke_interval = float(poke_interval)
        self.listing = listing
        self.product_ids = product_ids

    @classmethod
    def create_hook(cls, conn_id: str) -> AltegioHook | AltacolorHook:
        """A new hook for ``conn_id`` (its HTTP clients are created on first request)."""
        raise NotImplementedError

    def _kwargs(self) -> JsonDict:
        """The JSON-safe kwargs that rebuild this trigger (a subclass adds its own)."""
        return {
            "conn_id": self.conn_id,
            "poke_interval": self.poke_interval,
            "product_ids": self.product_ids,
            **self.listing,
        }

    def serialize(self) -> tuple[str, JsonDict]:
        """Class path and JSON-safe kwargs that rebuild this trigger in the triggerer."""
        return f"{type(self).__module__}.{type(self).__qualname__}", self._kwargs()

    # -- the shared poll ---------------------------------------------------------------------

    #: the poll's name in its shared-stream key (a class may share another class's poll).
    stream_name: ClassVar[str | None] = None

    def shared_stream_key(self) -> Hashable:
        """Triggers of one connection, listing and interval share one poll."""
        listing = json.dumps(self.listing, sort_keys=True, default=str)
        return (self.stream_name or type(self).__qualname__, self.conn_id, self.poke_interval, listing)

    @classmethod
    async def open_shared_stream(cls, kwargs: JsonDict) -> AsyncIterator[Poll]:
        """Poll every ``poke_interval`` for the products changed in the look-back window.

        A failed listing is broadcast as a :class:`Poll` with ``error`` (each trigger reports
        it), and polling goes on for triggers that join later.
        """
        trigger = cls(**kwargs)
        async with trigger._shared_hook() as hook:
            async for poll in trigger._polls(hook):
                yield poll

    def _seconds_left(self) -> float | None:
        """Seconds until this trigger's deadline (``None``: it has none)."""
        return None

    async def _polls(self, hook: Any) -> AsyncIterator[Poll]:
        """Poll every ``poke_interval``; alone, the last pause ends at this trigger's deadline.

        It holds nothing to release (the caller owns the hook), so it may be dropped anywhere.
        """
        window = lookback(self.poke_interval)
        while True:
            since = _now() - window
            try:
                listing = await self._listing(hook)
                products = await hook.achanged_products(changed_after=since.isoformat(), **listing)
            except Exception as exc:
                # Transient failures were already retried by the core; what reaches here is final.
                yield Poll(since, error=exc)
            else:
                yield Poll(since, products)
            left = self._seconds_left()
            pause = max(MIN_POLL_INTERVAL, self.poke_interval)
            await asyncio.sleep(pause if left is None else max(0.0, min(pause, left)))

    def _shared_hook(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """This connection's hook, shared by the triggers of this class in this event loop."""
        return _SHARED_HOOKS.use(
            (type(self).__qualname__, self.conn_id), lambda: self.create_hook(self.conn_id)
        )

    async def _listing(self, hook: Any) -> JsonDict:
        """The hook's listing arguments (a subclass may fill in defaults from the connection)."""
        return self.listing

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The same poll, for this trigger alone (``dag.test()``, no shared streams)."""
        async with self._shared_hook() as hook:
            async for event in self.filter_shared_stream(self._polls(hook)):
                yield event

    # -- what one trigger keeps ---------------------------------------------------------------

    def changed_at(self, product: AnyProduct) -> datetime | None:
        """When ``product`` last changed, as the API says (``None``: it does not say, or says it
        without an offset, in the location's wall-clock time, which cannot be compared here)."""
        value = getattr(product, self.changed_field, None)
        return value if isinstance(value, datetime) and value.tzinfo is not None else None

    def matching(self, products: Iterable[AnyProduct], after: datetime) -> list[int]:
        """Ids of the ``products`` of interest that changed after ``after``."""
        wanted = None if self.product_ids is None else set(self.product_ids)
        ids = []
        for product in products:
            product_id = getattr(product, self.id_field)
            when = self.changed_at(product)
            recent = self.undated_counts if when is None else when > after
            if recent and (wanted is None or product_id in wanted):
                ids.append(product_id)
        return ids

    async def catch_up(self, after: datetime) -> list[AnyProduct]:
        """The listing since ``after``, asked by this trigger alone: for a trigger that joined a
        poll whose window starts after the moment it must cover."""
        async with self._shared_hook() as hook:
            products: list[AnyProduct] = await hook.achanged_products(
                changed_after=after.isoformat(), **await self._listing(hook)
            )
            return products

    async def _covered(self, poll: Poll, after: datetime) -> list[int]:
        """Ids of matching products changed after ``after``, from ``poll`` or, when its window
        starts later than ``after``, from a catch-up listing."""
        products = poll.products if poll.since <= after else await self.catch_up(after)
        return self.matching(products, after)


def _event(**payload: Any) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def _error_event(exc: Exception) -> TriggerEvent:
    return _event(status="error", error_type=type(exc).__name__, message=str(exc))


class ProductChangeTriggerBase(ProductPollTrigger):
    """Fires once, when a matching product changed, behind a deferred sensor.

    Events: ``{"status": "success", "product_ids": [...], "count": n, "polls": k}``, ``{"status":
    "timeout", "message"}`` at ``deadline``, or ``{"status": "error", "error_type", "message"}``.

    :param changed_after: ISO date-time; products changed after it count.
    :param checked_at: ISO date-time of the sensor's own last check (nothing had changed then);
        default ``changed_after``.
    :param deadline: ISO date-time at which the wait ends with a timeout event (``None``: never).
    """

    def __init__(
        self,
        *,
        conn_id: str,
        poke_interval: float,
        listing: JsonDict,
        product_ids: list[int] | None,
        changed_after: str,
        checked_at: str | None,
        deadline: str | None,
    ) -> None:
        super().__init__(
            conn_id=conn_id, poke_interval=poke_interval, listing=listing, product_ids=product_ids
        )
        self.changed_after = changed_after
        self.checked_at = checked_at
        self.deadline = deadline

    def _kwargs(self) -> JsonDict:
        return {
            **super()._kwargs(),
            "changed_after": self.changed_after,
            "checked_at": self.checked_at,
            "deadline": self.deadline,
        }

    def _seconds_left(self) -> float | None:
        if self.deadline is None:
            return None
        return (datetime.fromisoformat(self.deadline) - _now()).total_seconds()

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Fire on the first poll with a matching change; time out at the first poll after
        ``deadline`` (alone, that poll comes at the deadline; shared, within one interval)."""
        changed_after = _utc(datetime.fromisoformat(self.changed_after))
        # Changes up to the sensor's own check were looked at already: nothing matched.
        checked_at = _utc(datetime.fromisoformat(self.checked_at or self.changed_after)) - CLOCK_MARGIN
        covered_from = max(changed_after, checked_at)
        polls = 0
        async for poll in shared_stream:
            polls += 1
            if poll.error is not None:
                self.log.error("Poll %d failed: %s", polls, poll.error)
                yield _error_event(poll.error)
                return
            try:
                ids = await self._covered(poll, covered_from)
            except Exception as exc:
                yield _error_event(exc)
                return
            if ids:
                self.log.info("Poll %d: %d matching products changed", polls, len(ids))
                yield _event(status="success", product_ids=ids, count=len(ids), polls=polls)
                return
            left = self._seconds_left()
            if left is not None and left <= 0:
                message = f"No matching product changed before {self.deadline} ({polls} polls)"
                yield _event(status="timeout", message=message)
                return
            self.log.debug("Poll %d: no matching change yet", polls)


class ProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altegio products of a location change (behind ``WaitForProductChangeSensor``).

    :param conn_id: Airflow connection of type ``altegio``.
    :param location_id: the location (already resolved by the sensor).
    :param changed_after: ISO date-time; products changed after it count.
    :param product_ids: only these ``good_id`` count.
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param poke_interval: seconds between polls.
    :param checked_at: ISO date-time of the sensor's last check.
    :param deadline: ISO date-time of the sensor's timeout.
    """

    id_field = "good_id"
    changed_field = "last_change_date"

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
        checked_at: str | None = None,
        deadline: str | None = None,
    ) -> None:
        listing = {"location_id": location_id, "category_id": category_id, "term": term}
        super().__init__(
            conn_id=conn_id,
            poke_interval=poke_interval,
            listing=listing,
            product_ids=product_ids,
            changed_after=changed_after,
            checked_at=checked_at,
            deadline=deadline,
        )

    @classmethod
    def create_hook(cls, conn_id: str) -> AltegioHook:
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=conn_id)


class AltacolorProductChangeTrigger(ProductChangeTriggerBase):
    """Wait until Altacolor catalogue products change (behind ``AltacolorWaitForProductChangeSensor``).

    :param conn_id: Airflow connection of type ``altacolor``.
    :param changed_after: ISO date-time; products modified after it count.
    :param conditions: further search conditions (JSON mappings, see ``SearchCondition``).
    :param product_ids: only these ``product_id`` count.
    :param poke_interval: seconds between polls.
    :param checked_at: ISO date-time of the sensor's last check.
    :param deadline: ISO date-time of the sensor's timeout.
    """

    id_field = "product_id"
    changed_field = "date_modified"

    def __init__(
        self,
        *,
        conn_id: str,
        changed_after: str,
        conditions: list[JsonDict] | None = None,
        product_ids: list[int] | None = None,
        poke_interval: float = 60.0,
        checked_at: str | None = None,
        deadline: str | None = None,
    ) -> None:
        super().__init__(
            conn_id=conn_id,
            poke_interval=poke_interval,
            listing={"conditions": conditions},
            product_ids=product_ids,
            changed_after=changed_after,
            checked_at=checked_at,
            deadline=deadline,
        )

    @classmethod
    def create_hook(cls, conn_id: str) -> AltacolorHook:
        from airflow_provider_altegio.hooks.altacolor import AltacolorHook

        return AltacolorHook(altacolor_conn_id=conn_id)


class ProductChangeEventTrigger(ProductPollTrigger):
    """Turn Altegio product changes into asset events: the trigger of an ``AssetWatcher``.

    Runs for as long as the watcher exists and yields one event per poll that finds matching
    changes: ``{"location_id", "product_ids": [...], "count": n, "changed_after": ISO}``. With
    ``at_or_below_critical``, only products whose stock (in ``storage_id``, or in all storages)
    is at or below their ``critical_amount`` count: a DAG starts when stock runs low.

    The moment up to which changes were reported is kept in the asset's state store when the
    triggerer offers one, so a triggerer restart neither repeats nor loses an event.

    :param conn_id: Airflow connection of type ``altegio``.
    :param location_id: the location to watch (default: the connection's ``location_id``).
    :param product_ids: only these ``good_id`` count.
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param at_or_below_critical: only products at or below their critical amount.
    :param storage_id: the storage whose stock ``at_or_below_critical`` looks at.
    :param poke_interval: seconds between polls.
    """

    id_field = "good_id"
    changed_field = "last_change_date"
    undated_counts = False
    # The same listing as the sensors' trigger: sensors and watchers share one poll.
    stream_name = "ProductChangeTrigger"
    #: the asset state key of the reported-up-to moment.
    WATERMARK = "altegio_products_changed_until"

    def __init__(
        self,
        *,
        conn_id: str,
        location_id: int | None = None,
        product_ids: list[int] | None = None,
        category_id: int | None = None,
        term: str | None = None,
        at_or_below_critical: bool = False,
        storage_id: int | None = None,
        poke_interval: float = 60.0,
    ) -> None:
        listing = {"location_id": location_id, "category_id": category_id, "term": term}
        super().__init__(
            conn_id=conn_id, poke_interval=poke_interval, listing=listing, product_ids=product_ids
        )
        self.at_or_below_critical = at_or_below_critical
        self.storage_id = storage_id

    @classmethod
    def create_hook(cls, conn_id: str) -> AltegioHook:
        return ProductChangeTrigger.create_hook(conn_id)

    async def _listing(self, hook: Any) -> JsonDict:
        await hook.aget_conn()  # the connection's default location, looked up without blocking
        return {**self.listing, "location_id": hook.resolve_location_id(self.listing["location_id"])}

    def _kwargs(self) -> JsonDict:
        return {
            **super()._kwargs(),
            "at_or_below_critical": self.at_or_below_critical,
            "storage_id": self.storage_id,
        }

    def matching(self, products: Iterable[Any], after: datetime) -> list[int]:
        storages = None if self.storage_id is None else [self.storage_id]
        return super().matching(
            [p for p in products if not self.at_or_below_critical or p.is_low(storages)], after
        )

    async def _watermark(self) -> datetime | None:
        store = self.asset_state_store
        if store is None:
            return None
        with contextlib.suppress(Exception):  # several watched assets: no single accessor
            value = await store.aget(self.WATERMARK)
            return _utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
        return None

    async def _keep_watermark(self, until: datetime) -> None:
        if self.asset_state_store is not None:
            with contextlib.suppress(Exception):
                await self.asset_state_store.aset(self.WATERMARK, until.isoformat())

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """One event per poll that finds changes since the last one reported."""
        after = await self._watermark() or _now()
        async for poll in shared_stream:
            if poll.error is not None:
                # An event trigger has no task to fail: report and keep watching.
                self.log.error("Poll failed: %s", poll.error)
                continue
            try:
                products = poll.products if poll.since <= after else await self.catch_up(after)
            except Exception as exc:
                self.log.error("Catch-up listing failed: %s", exc)
                continue
            ids = self.matching(products, after)
            latest = [when for p in products if (when := self.changed_at(p)) is not None and when > after]
            if ids:
                yield _event(
                    location_id=self.listing["location_id"],
                    product_ids=ids,
                    count=len(ids),
                    changed_after=after.isoformat(),
                )
            if latest:
                after = max(latest)
                await self._keep_watermark(after)


__all__ = [
    "AltacolorProductChangeTrigger",
    "Poll",
    "ProductChangeEventTrigger",
    "ProductChangeTrigger",
    "ProductChangeTriggerBase",
    "ProductPollTrigger",
]
