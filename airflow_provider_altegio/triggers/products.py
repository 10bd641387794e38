"""Triggers that wait for products to change: behind the deferrable sensors, and for ``AssetWatcher``.

The triggers of one connection, listing and ``poke_interval`` in a triggerer share one poll
(Airflow's shared trigger streams). The poll depends on nothing else: every ``poke_interval`` it
lists the products changed in a look-back window (:func:`lookback`), however many triggers listen
and whatever their deadlines. Each trigger keeps what concerns it and ends at its own deadline.
Alone (``run()``: ``dag.test()``, no shared streams) a trigger runs the same poll for itself.
Events carry product ids and counts, never whole records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from airflow_provider_altegio.compat import HAS_SHARED_STREAMS, BaseEventTrigger, TriggerEvent
from airflow_provider_altegio.fanout import run_shared

JsonDict = dict[str, Any]

#: Floor of the pause between two polls, so that ``poke_interval=0`` cannot spin the event loop.
MIN_POLL_INTERVAL = 0.1
#: The look-back of a shared listing is at least this many seconds.
MIN_LOOKBACK = 300.0
#: What a trigger has seen ends this much before its last listing, in case the API's clock runs
#: behind ours.
CLOCK_MARGIN = timedelta(seconds=60)
#: Per API: a product's id field, and the field that says when it changed.
_FIELDS = {"altegio": ("good_id", "last_change_date"), "altacolor": ("product_id", "date_modified")}


class ProductChangesHook(Protocol):
    """What sensors and triggers ask of a hook; ``AltegioHook`` and ``AltacolorHook`` are both one.
    The listing's filters go as keyword arguments (see :attr:`ProductQuery.filters`)."""

    def changed_products(self, changed_after: datetime) -> Sequence[Any]: ...

    async def achanged_products(self, changed_after: datetime) -> Sequence[Any]: ...

    async def aresolve_location_id(self, location_id: int | None = None) -> int | None: ...

    async def aclose(self) -> None: ...


def lookback(poke_interval: float) -> timedelta:
    """How far back each listing of a shared poll reaches: a trigger that joins within this time
    of its sensor's last check is covered by the listing alone."""
    return timedelta(seconds=max(MIN_LOOKBACK, 3 * poke_interval))


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ProductQuery:
    """Which product changes a sensor or a watcher waits for: one value from the sensor's poke to
    the trigger's poll. The sensor builds it once; a trigger carries it as its kwargs
    (:meth:`kwargs`) and rebuilds it; both ask the hook with it the same way (:meth:`changed`).

    :ivar api: ``"altegio"`` or ``"altacolor"``.
    :ivar conn_id: the Airflow connection.
    :ivar filters: the hook's ``changed_products`` keyword arguments that select the listing,
        JSON-safe: ``location_id`` (``None``: the connection's), ``category_id`` and ``term``; or
        Altacolor's ``conditions``.
    :ivar changed_after: changes after this moment count (``None`` for a watcher: from its start).
    :ivar product_ids: only these products count (``None``: any).
    """

    api: str
    conn_id: str
    filters: Mapping[str, Any]
    changed_after: datetime | None = None
    product_ids: tuple[int, ...] | None = None

    @classmethod
    def rebuild(
        cls,
        api: str,
        conn_id: str,
        filters: Mapping[str, Any],
        changed_after: datetime | str | None = None,
        product_ids: Iterable[int] | None = None,
    ) -> ProductQuery:
        """The query from its kwargs form (``changed_after`` may be ISO text)."""
        after = None if changed_after is None else _utc(changed_after)
        return cls(api, conn_id, dict(filters), after, None if product_ids is None else tuple(product_ids))

    def kwargs(self) -> JsonDict:
        """The JSON-safe kwargs of the triggers (conn_id, filters, product_ids, changed_after)."""
        kwargs = {"conn_id": self.conn_id, **self.filters}
        kwargs["product_ids"] = None if self.product_ids is None else list(self.product_ids)
        if self.changed_after is not None:
            kwargs["changed_after"] = self.changed_after.isoformat()
        return kwargs

    def new_hook(self) -> ProductChangesHook:
        """A hook of :attr:`conn_id` (its HTTP clients are created on first request)."""
        if self.api == "altacolor":
            from airflow_provider_altegio.hooks.altacolor import AltacolorHook

            return AltacolorHook(altacolor_conn_id=self.conn_id)
        from airflow_provider_altegio.hooks.altegio import AltegioHook

        return AltegioHook(altegio_conn_id=self.conn_id)

    def changed(self, hook: ProductChangesHook, after: datetime) -> Sequence[Any]:
        """The products of the listing changed after ``after``, whatever their id."""
        return hook.changed_products(after, **self.filters)

    async def achanged(self, hook: ProductChangesHook, after: datetime) -> Sequence[Any]:
        """Async twin of :meth:`changed`."""
        return await hook.achanged_products(after, **self.filters)

    async def alocated(self, hook: ProductChangesHook) -> ProductQuery:
        """This query with the connection's default location filled in: what the hook lists."""
        if self.filters.get("location_id", 0) is not None:
            return self
        location_id = await hook.aresolve_location_id(None)
        return replace(self, filters={**self.filters, "location_id": location_id})

    def changed_at(self, product: Any) -> datetime | None:
        """When ``product`` last changed, as the API says (``None``: it does not say, or says it
        without an offset, in the location's wall-clock time, which cannot be compared here)."""
        value = getattr(product, _FIELDS[self.api][1], None)
        return value if isinstance(value, datetime) and value.tzinfo is not None else None

    def matching(
        self,
        products: Iterable[Any],
        after: datetime,
        *,
        undated: bool = True,
        reported: dict[int, datetime] | None = None,
    ) -> list[int]:
        """Ids of the products of interest that changed after ``after``; a product that does not
        say when counts when ``undated`` (the listing says it changed in its window). A change
        already in ``reported`` (id: when) is left out; each one found is added to it."""
        wanted = None if self.product_ids is None else set(self.product_ids)
        reported = {} if reported is None else reported
        ids = []
        for product in products:
            product_id = getattr(product, _FIELDS[self.api][0])
            when = self.changed_at(product)
            if not (undated if when is None else when > after) or (
                wanted is not None and product_id not in wanted
            ):
                continue
            if when is None or reported.get(product_id) != when:
                ids.append(product_id)
            if when is not None:
                reported[product_id] = when
        return ids


class _SharedHooks:
    """Hooks shared by the triggers of one event loop, by (API, connection id); the hook and its
    connection pool are closed when the last user leaves."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, int], list[Any]] = {}  # [hook, users]

    @contextlib.asynccontextmanager
    async def use(self, key: tuple[str, str], factory: Callable[[], Any]) -> AsyncIterator[Any]:
        full_key = (*key, id(asyncio.get_running_loop()))
        entry = self._entries.setdefault(full_key, [None, 0])
        entry[0], entry[1] = entry[0] or factory(), entry[1] + 1
        try:
            yield entry[0]
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._entries[full_key]
                await entry[0].aclose()


_SHARED_HOOKS = _SharedHooks()


@dataclass(frozen=True)
class Poll:
    """One listing of a shared poll: the raw event every subscribed trigger receives.

    :ivar at: when it was asked (our clock).
    :ivar since: its ``changed_after`` (``at`` minus the look-back).
    :ivar filters: its filters as listed (the connection's default location filled in).
    :ivar products: the products changed since then, whatever their id.
    :ivar error: the listing failed (retries spent or a final API error).
    """

    at: datetime
    since: datetime
    filters: Mapping[str, Any] = field(default_factory=dict)
    products: Sequence[Any] = ()
    error: Exception | None = None


class _Seen(NamedTuple):
    """What one poll means to one trigger: its matching ids changed after ``after``; everything
    up to ``until`` has now been seen."""

    poll: Poll
    ids: list[int]
    after: datetime
    until: datetime


def _event(**payload: Any) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def _error_event(exc: Exception) -> TriggerEvent:
    return _event(status="error", error_type=type(exc).__name__, message=str(exc))


class ProductPollTrigger(BaseEventTrigger):
    """A trigger on the shared poll of one :class:`ProductQuery`, the base of the product
    triggers; each says in ``filter_shared_stream`` what a poll means to it."""

    def __init__(self, query: ProductQuery, poke_interval: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.query = query
        self.poke_interval = float(poke_interval)

    @property
    def conn_id(self) -> str:
        """The Airflow connection the query's products come from."""
        return self.query.conn_id

    def _kwargs(self) -> JsonDict:
        return {**self.query.kwargs(), "poke_interval": self.poke_interval}

    def serialize(self) -> tuple[str, JsonDict]:
        """Class path and JSON-safe kwargs that rebuild this trigger in the triggerer."""
        return f"{type(self).__module__}.{type(self).__qualname__}", self._kwargs()

    def shared_stream_key(self) -> Hashable:
        """Triggers of one API, connection, listing and interval share one poll."""
        query = self.query
        return (query.api, query.conn_id, self.poke_interval, json.dumps(query.filters, sort_keys=True))

    @classmethod
    async def open_shared_stream(cls, kwargs: JsonDict) -> AsyncIterator[Poll]:
        """The poll of a group, built from one member's kwargs but using only what the key holds:
        a listing every ``poke_interval`` until the last member leaves. A failed listing is sent
        as a :class:`Poll` with ``error``, and polling goes on."""
        trigger = cls(**kwargs)
        async with trigger._hook() as hook:
            async for poll in trigger._polls(hook):
                yield poll

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The same poll for this trigger: shared in-process with the triggers of its key before
        Airflow 3.3 (whose triggerer calls ``run()`` for every trigger), alone on 3.3 and newer,
        where ``run()`` serves ``dag.test()`` and the triggerer shares the stream itself."""
        if not HAS_SHARED_STREAMS:
            async with contextlib.aclosing(run_shared(self)) as events:  # type: ignore[type-var]
                async for event in events:
                    yield event
            return
        async with self._hook() as hook:
            async for event in self.filter_shared_stream(self._polls(hook)):
                yield event

    def _hook(self) -> contextlib.AbstractAsyncContextManager[ProductChangesHook]:
        return _SHARED_HOOKS.use((self.query.api, self.query.conn_id), self.query.new_hook)

    async def _polls(self, hook: ProductChangesHook) -> AsyncIterator[Poll]:
        """A listing every ``poke_interval``; holds nothing to release, so it may stop anywhere."""
        window = lookback(self.poke_interval)
        while True:
            at = _now()
            try:
                query = await self.query.alocated(hook)
                products = await query.achanged(hook, at - window)
            except Exception as exc:  # what reaches here was retried by the core already
                yield Poll(at, at - window, error=exc)
            else:
                yield Poll(at, at - window, query.filters, products)
            await asyncio.sleep(max(MIN_POLL_INTERVAL, self.poke_interval))

    async def _seen(
        self,
        polls: AsyncIterator[Poll],
        after: datetime,
        *,
        undated: bool,
        reported: dict[int, datetime],
        keep: Callable[[Sequence[Any]], Sequence[Any]] = lambda products: products,
    ) -> AsyncIterator[_Seen]:
        """What each poll means to this trigger, from ``after`` on. A poll whose window starts
        later than what the trigger has seen (it joined late) is made up by one listing of its
        own; after that each shared listing covers it. The API dates changes to the second, and
        may date them a little behind our clock, so what has been seen moves on with our clock
        less :data:`CLOCK_MARGIN`, and the changes already found within it are in ``reported``."""
        async for poll in polls:
            if poll.error is None and poll.since > after:
                try:
                    async with self._hook() as hook:
                        query = await self.query.alocated(hook)
                        poll = Poll(poll.at, after, query.filters, await query.achanged(hook, after))
                except Exception as exc:
                    poll = Poll(poll.at, after, error=exc)
            if poll.error is not None:
                yield _Seen(poll, [], after, after)
                continue
            ids = self.query.matching(keep(poll.products), after, undated=undated, reported=reported)
            until = max(after, poll.at - CLOCK_MARGIN)
            for product_id in [i for i, when in reported.items() if when <= until]:
                del reported[product_id]
            yield _Seen(poll, ids, after, until)
            after = until


class ProductChangeTrigger(ProductPollTrigger):
    """Wait until Altegio products of a location change (behind ``WaitForProductChangeSensor``).

    Fires once: ``{"status": "success", "product_ids": [...], "count": n, "polls": k}``;
    ``{"status": "timeout", "message"}`` at ``deadline``; or ``{"status": "error",
    "error_type", "message"}`` when a listing failed.

    :param conn_id: Airflow connection of type ``altegio``.
    :param location_id: the location (default: the connection's ``location_id``).
    :param changed_after: ISO date-time; products changed after it count.
    :param product_ids: only these ``good_id`` count.
    :param category_id: only products of this category.
    :param term: only products whose name, article or barcode match.
    :param poke_interval: seconds between polls.
    :param checked_at: ISO date-time of the sensor's own last check, which found nothing
        (default ``changed_after``).
    :param deadline: ISO date-time at which the wait ends with a timeout event (``None``: never).
    """

    def __init__(
        self,
        *,
        conn_id: str,
        changed_after: str,
        location_id: int | None = None,
        product_ids: list[int] | None = None,
        category_id: int | None = None,
        term: str | None = None,
        poke_interval: float = 60.0,
        checked_at: str | None = None,
        deadline: str | None = None,
    ) -> None:
        filters = {"location_id": location_id, "category_id": category_id, "term": term}
        query = ProductQuery.rebuild("altegio", conn_id, filters, changed_after, product_ids)
        self._wait(query, poke_interval, checked_at, deadline)

    def _wait(
        self, query: ProductQuery, poke_interval: float, checked_at: str | None, deadline: str | None
    ) -> None:
        super().__init__(query, poke_interval)
        self.checked_at = checked_at
        self.deadline = deadline

    @classmethod
    def waiting_for(
        cls, query: ProductQuery, poke_interval: float, checked_at: str, deadline: str
    ) -> ProductChangeTrigger:
        """The trigger of ``query``'s API that waits for it until ``deadline``."""
        trigger_class = AltacolorProductChangeTrigger if query.api == "altacolor" else ProductChangeTrigger
        return trigger_class(
            **query.kwargs(), poke_interval=poke_interval, checked_at=checked_at, deadline=deadline
        )

    def _kwargs(self) -> JsonDict:
        return {**super()._kwargs(), "checked_at": self.checked_at, "deadline": self.deadline}

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Fire on the first poll with a matching change, report a failed one, or time out at
        ``deadline`` (shared or alone, whenever the polls come)."""
        assert self.query.changed_after is not None  # the constructor requires it
        # Changes up to the sensor's own check were looked at already: nothing matched.
        checked_at = _utc(self.checked_at) if self.checked_at else self.query.changed_after
        after = max(self.query.changed_after, checked_at - CLOCK_MARGIN)
        seen = self._seen(shared_stream, after, undated=True, reported={})
        deadline = None if self.deadline is None else _utc(self.deadline)
        polls = 0
        while True:
            left = None if deadline is None else max(0.0, (deadline - _now()).total_seconds())
            try:
                poll, ids, _, _ = await asyncio.wait_for(anext(seen), left)
            except asyncio.TimeoutError:
                yield _event(
                    status="timeout",
                    message=f"No matching product changed before {self.deadline} ({polls} polls)",
                )
                return
            polls += 1
            if poll.error is not None:
                self.log.error("Poll %d failed: %s", polls, poll.error)
                yield _error_event(poll.error)
                return
            if ids:
                self.log.info("Poll %d: %d matching products changed", polls, len(ids))
                yield _event(status="success", product_ids=ids, count=len(ids), polls=polls)
                return
            self.log.debug("Poll %d: no matching change yet", polls)


class AltacolorProductChangeTrigger(ProductChangeTrigger):
    """Wait until Altacolor catalogue products change (behind ``AltacolorWaitForProductChangeSensor``);
    its events are :class:`ProductChangeTrigger`'s.

    :param conn_id: Airflow connection of type ``altacolor``.
    :param changed_after: ISO date-time; products modified after it count.
    :param conditions: further search conditions (JSON mappings, see ``SearchCondition``).
    :param product_ids: only these ``product_id`` count.
    :param poke_interval: seconds between polls.
    :param checked_at: ISO date-time of the sensor's last check.
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
        checked_at: str | None = None,
        deadline: str | None = None,
    ) -> None:
        filters = {"conditions": conditions}
        query = ProductQuery.rebuild("altacolor", conn_id, filters, changed_after, product_ids)
        self._wait(query, poke_interval, checked_at, deadline)


class ProductChangeEventTrigger(ProductPollTrigger):
    """Turn Altegio product changes into asset events: the trigger of an ``AssetWatcher``.

    Runs for as long as the watcher exists and yields one event per poll that finds matching
    changes: ``{"location_id", "product_ids": [...], "count": n, "changed_after": ISO}``, with
    the location polled. With ``at_or_below_critical``, only products whose stock (in
    ``storage_id``, or in all storages) is at or below their ``critical_amount`` count: a DAG
    starts when stock runs low. It shares its poll with the sensors of the same listing.

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

    #: the asset state key of what was reported (JSON: ``until`` and the changes ``reported``).
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
        filters = {"location_id": location_id, "category_id": category_id, "term": term}
        super().__init__(ProductQuery.rebuild("altegio", conn_id, filters, None, product_ids), poke_interval)
        self.at_or_below_critical = at_or_below_critical
        self.storage_id = storage_id

    def _kwargs(self) -> JsonDict:
        return {
            **super()._kwargs(),
            "at_or_below_critical": self.at_or_below_critical,
            "storage_id": self.storage_id,
        }

    def _low(self, products: Sequence[Any]) -> Sequence[Any]:
        storages = None if self.storage_id is None else [self.storage_id]
        return [p for p in products if p.is_low(storages)] if self.at_or_below_critical else products

    async def _watermark(self) -> tuple[datetime, dict[int, datetime]]:
        """Up to when changes were looked at, and those reported since; from now on without one."""
        with contextlib.suppress(Exception):  # no store, or several watched assets (no one accessor)
            value = str(await self.asset_state_store.aget(self.WATERMARK))  # type: ignore[union-attr]
            if value.startswith("{"):
                saved = json.loads(value)
                return _utc(saved["until"]), {int(i): _utc(when) for i, when in saved["reported"].items()}
            return _utc(value), {}  # as 0.1 kept it
        return _now(), {}

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """One event per poll that finds changes not reported yet; a failed listing is logged (an
        event trigger has no task to fail) and watching goes on."""
        since, reported = await self._watermark()
        async for poll, ids, after, until in self._seen(
            shared_stream, since, undated=False, reported=reported, keep=self._low
        ):
            if poll.error is not None:
                self.log.error("Poll failed: %s", poll.error)
            elif ids:
                location_id = poll.filters.get("location_id")
                yield _event(
                    location_id=location_id, product_ids=ids, count=len(ids), changed_after=after.isoformat()
                )
                saved = {
                    "until": until.isoformat(),
                    "reported": {i: w.isoformat() for i, w in reported.items()},
                }
                with contextlib.suppress(Exception):
                    await self.asset_state_store.aset(self.WATERMARK, json.dumps(saved))  # type: ignore[union-attr]


def __getattr__(name: str) -> Any:
    if name == "ProductChangeTriggerBase":  # deprecated in 0.2: one class is the sensors' trigger
        warnings.warn(f"{name} is deprecated: use ProductChangeTrigger", DeprecationWarning, stacklevel=2)
        return ProductChangeTrigger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AltacolorProductChangeTrigger",
    "Poll",
    "ProductChangeEventTrigger",
    "ProductChangeTrigger",
    "ProductChangesHook",
    "ProductPollTrigger",
    "ProductQuery",
]
