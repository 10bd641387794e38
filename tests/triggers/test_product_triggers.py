"""Product-change triggers: serialisation, ``run()`` alone, and the shared poll driven as the
triggerer drives it (:mod:`triggerer`), counting requests at the sandbox's real limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk.module_loading import import_string
from triggerer import Listings, Triggerer

from airflow_provider_altegio.triggers.products import (
    _SHARED_HOOKS,
    AltacolorProductChangeTrigger,
    ProductChangeEventTrigger,
    ProductChangeTrigger,
    ProductQuery,
    _SharedHooks,
)

PAST = "2000-01-01T00:00:00+00:00"
POKE = 1.0


def _iso(seconds_from_now: float = 0.0) -> str:
    return (datetime.now(tz=timezone.utc) + timedelta(seconds=seconds_from_now)).isoformat()


# -- serialisation ---------------------------------------------------------------------------

#: kwargs as the triggers of earlier releases serialized them: a triggerer may still hold them.
EARLIER_KWARGS = [
    (
        ProductChangeTrigger,
        {
            "conn_id": "altegio_default",
            "poke_interval": 5.0,
            "product_ids": [1, 2],
            "location_id": 7,
            "category_id": 3,
            "term": "shampoo",
            "changed_after": PAST,
            "checked_at": PAST,
            "deadline": "2030-01-01T00:00:00+00:00",
        },
    ),
    (
        AltacolorProductChangeTrigger,
        {
            "conn_id": "altacolor_default",
            "poke_interval": 60.0,
            "product_ids": None,
            "conditions": [{"field": "supplier", "condition": "==", "value": "Wella"}],
            "changed_after": PAST,
            "checked_at": None,
            "deadline": None,
        },
    ),
    (
        ProductChangeEventTrigger,
        {
            "conn_id": "altegio_default",
            "poke_interval": 60.0,
            "product_ids": None,
            "location_id": None,
            "category_id": None,
            "term": None,
            "at_or_below_critical": True,
            "storage_id": 4,
        },
    ),
]


@pytest.mark.parametrize(("trigger_class", "kwargs"), EARLIER_KWARGS)
def test_serialized_kwargs_rebuild_the_same_trigger(trigger_class: Any, kwargs: dict[str, Any]) -> None:
    trigger = trigger_class(**kwargs)
    classpath, serialized = trigger.serialize()
    assert json.loads(json.dumps(serialized)) == serialized == kwargs  # the same plain JSON
    rebuilt = import_string(classpath)(**serialized)
    assert type(rebuilt) is trigger_class
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.query == trigger.query


def test_the_sensor_query_is_what_the_trigger_rebuilds() -> None:
    """One query, sensor to trigger: datetime in, datetime out, and the same listing."""
    query = ProductQuery.rebuild(
        "altegio", "c", {"location_id": 7, "category_id": None, "term": "x"}, datetime(2026, 1, 2, 3, 4), [5]
    )
    assert query.changed_after == datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    trigger = ProductChangeTrigger.waiting_for(query, 30, PAST, PAST)
    assert type(trigger) is ProductChangeTrigger
    assert trigger.query == query
    supplier = ProductQuery.rebuild("altacolor", "s", {"conditions": []}, PAST)
    assert type(ProductChangeTrigger.waiting_for(supplier, 30, PAST, PAST)) is AltacolorProductChangeTrigger
    with pytest.deprecated_call():
        from airflow_provider_altegio.triggers.products import ProductChangeTriggerBase
    assert isinstance(ProductChangeTrigger.waiting_for(supplier, 30, PAST, PAST), ProductChangeTriggerBase)


def test_the_filters_are_what_the_hooks_take() -> None:
    import inspect

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    for trigger, hook in [
        (ProductChangeTrigger(conn_id="c", location_id=7, changed_after=PAST), AltegioHook),
        (
            AltacolorProductChangeTrigger(conn_id="c", changed_after=PAST, conditions=[{"f": 1}]),
            AltacolorHook,
        ),
    ]:
        assert set(trigger.query.filters) < set(inspect.signature(hook.achanged_products).parameters)
        assert isinstance(trigger.query.new_hook(), hook)


def test_the_shared_poll_key_leaves_out_what_each_trigger_keeps() -> None:
    """Deadlines, dates and product ids are each trigger's own: they never split or steer a poll."""
    keys = {
        ProductChangeTrigger(
            conn_id="c", changed_after=_iso(-i), product_ids=[i], deadline=_iso(i), poke_interval=10
        ).shared_stream_key()
        for i in range(5)
    }
    keys.add(ProductChangeEventTrigger(conn_id="c", product_ids=[9], poke_interval=10).shared_stream_key())
    assert len(keys) == 1
    assert (
        ProductChangeTrigger(conn_id="c", changed_after=PAST, poke_interval=5).shared_stream_key() not in keys
    )


@pytest.mark.asyncio
async def test_shared_hooks_one_per_connection_and_loop() -> None:
    closed: list[Any] = []

    class Hook:
        async def aclose(self) -> None:
            closed.append(self)

    shared = _SharedHooks()
    async with shared.use(("T", "c"), Hook) as first, shared.use(("T", "c"), Hook) as second:
        assert first is second
        async with shared.use(("T", "other"), Hook) as third:
            assert third is not first
        assert closed == [third]
    assert closed == [third, first]


@pytest.mark.asyncio
async def test_each_change_is_reported_once_even_two_in_one_second() -> None:
    """The API dates changes to the second: a change dated the same second as one already
    reported is still reported, and neither is reported again by the next polls."""
    from airflow_provider_altegio.triggers.products import Poll

    @dataclass
    class Product:
        good_id: int
        last_change_date: datetime

    stamp = (datetime.now(tz=timezone.utc) + timedelta(seconds=2)).replace(microsecond=0)
    first, second = Product(1, stamp), Product(2, stamp)
    listings = [
        [first],
        [first, second],
        [first, second],
        [first, second, Product(3, stamp - timedelta(hours=1))],
    ]

    async def polls() -> AsyncIterator[Poll]:
        for i, products in enumerate(listings):
            at = stamp + timedelta(seconds=i)
            yield Poll(at, at - timedelta(minutes=5), {"location_id": 7}, products)

    watcher = ProductChangeEventTrigger(conn_id="c", poke_interval=1)
    events = [event.payload async for event in watcher.filter_shared_stream(polls())]
    assert [(e["location_id"], e["product_ids"]) for e in events] == [(7, [1]), (7, [2])]


# -- alone: run() ----------------------------------------------------------------------------


async def _first_event(trigger: Any) -> dict[str, Any]:
    generator = trigger.run()
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=60)
    finally:
        await generator.aclose()
    return dict(event.payload)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_run_reports_changed_products(altegio_sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    location_id = altegio_sandbox.location_ids[0]
    product = (await AltegioHook().achanged_products(PAST, location_id))[0]
    trigger = ProductChangeTrigger(
        conn_id="altegio_default",
        location_id=location_id,
        changed_after=PAST,
        product_ids=[product.good_id],
        poke_interval=0.2,
    )
    event = await _first_event(trigger)
    assert event == {"status": "success", "product_ids": [product.good_id], "count": 1, "polls": 1}
    assert not _SHARED_HOOKS._entries  # the pool is released with the last trigger


@pytest.mark.integration
@pytest.mark.asyncio
async def test_run_sees_a_change_made_while_waiting(altegio_sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    product = (await hook.achanged_products(PAST, location_id))[0]
    trigger = ProductChangeTrigger(
        conn_id="altegio_default",
        changed_after=_iso(),  # the connection's default location
        product_ids=[product.good_id],
        poke_interval=0.5,
    )

    async def change_later() -> None:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(hook.update_product, product.good_id, {"comment": "touched"}, location_id)

    changer = asyncio.create_task(change_later())
    event = await _first_event(trigger)
    await changer
    assert event["status"] == "success", event
    assert event["polls"] >= 2  # it waited between polls
    assert event["product_ids"] == [product.good_id]


@pytest.mark.integration
@pytest.mark.asyncio
async def test_run_ends_at_its_deadline_between_polls(altegio_sandbox: Any) -> None:
    soon = _iso(1)
    trigger = ProductChangeTrigger(
        conn_id="altegio_default",
        location_id=altegio_sandbox.location_ids[0],
        changed_after="2999-01-01T00:00:00+00:00",
        poke_interval=3600,  # the deadline comes long before a second poll would
        deadline=soon,
    )
    event = await _first_event(trigger)
    assert event == {"status": "timeout", "message": f"No matching product changed before {soon} (1 polls)"}


@pytest.mark.integration
@pytest.mark.asyncio
async def test_run_reports_api_errors_as_events(altegio_sandbox: Any) -> None:
    trigger = ProductChangeTrigger(
        conn_id="altegio_default", location_id=999_999_999, changed_after=PAST, poke_interval=0.1
    )
    event = await _first_event(trigger)
    assert event["status"] == "error"
    assert event["error_type"].startswith("Altegio")
    assert "sandbox-partner-token" not in event["message"]


@pytest.mark.integration
@pytest.mark.asyncio
async def test_altacolor_run_reports_modified_products(altegio_sandbox: Any) -> None:
    trigger = AltacolorProductChangeTrigger(
        conn_id="altacolor_default", changed_after=PAST, poke_interval=0.1
    )
    event = await _first_event(trigger)
    assert event["status"] == "success", event
    assert event["count"] == len(event["product_ids"]) > 0
    assert set(event) == {"status", "product_ids", "count", "polls"}  # ids, never whole records


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_trigger_that_joins_late_catches_up_alone(altegio_sandbox: Any) -> None:
    """A trigger whose sensor checked long before it joined (a triggerer restart) is not covered
    by the shared look-back window: it asks once for its own gap, and sees what changed there."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    product = (await hook.achanged_products(PAST, location_id))[0]
    await asyncio.to_thread(hook.update_product, product.good_id, {"comment": "while away"}, location_id)
    an_hour_ago = _iso(-3600)
    trigger = ProductChangeTrigger(
        conn_id="altegio_default",
        location_id=location_id,
        changed_after=an_hour_ago,
        checked_at=an_hour_ago,
        product_ids=[product.good_id],
        poke_interval=0.2,
    )
    event = await _first_event(trigger)
    await hook.aclose()
    assert event["product_ids"] == [product.good_id]


# -- shared: through Airflow's SharedStreamManager, at the platform's limits -----------------


@pytest.fixture
def limited(altegio_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox at the platform's 5/s and 200/min, the connection's budget the same."""
    altegio_sandbox.configure(rps=5, rpm=200)
    conn = altegio_sandbox.altegio_connection(requests_per_second=5, requests_per_minute=200)
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(conn))
    return altegio_sandbox


@pytest.fixture
def shop(limited: Any) -> dict[str, Any]:
    """A location, two of its products, a hook to change them and a counter of its listings."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = limited.location_ids[0]
    first, second = hook.changed_products(PAST, location_id)[:2]
    listings = Listings(limited, f"/api/v1/goods/{location_id}")
    return {
        "hook": hook,
        "location_id": location_id,
        "ids": [first.good_id, second.good_id],
        "listings": listings,
    }


def _sensor(shop: dict[str, Any], **kwargs: Any) -> ProductChangeTrigger:
    now = _iso()
    options = {
        "changed_after": now,
        "checked_at": now,
        "poke_interval": POKE,
        "product_ids": [shop["ids"][0]],
    }
    return ProductChangeTrigger(conn_id="altegio_default", **{**options, **kwargs})


async def _touch(shop: dict[str, Any], index: int = 0) -> None:
    good_id = shop["ids"][index]
    await asyncio.to_thread(shop["hook"].update_product, good_id, {"comment": _iso()}, shop["location_id"])


async def _touch_for_watcher(shop: dict[str, Any], index: int) -> None:
    """Change a product in a later second than the one a watcher just started in: the API says
    when a product changed to the second, and the watcher counts what changed after its start."""
    await asyncio.sleep(1.1)
    await _touch(shop, index)


async def _fired_after_change(runner: Triggerer, shop: dict[str, Any], ids: list[int], index: int = 0) -> int:
    """Change a product; wait for ``ids`` to finish; return the listings that took (at most two:
    the one in flight, and the next)."""
    listings = shop["listings"]
    await listings.count()
    await _touch(shop, index)
    await runner.wait(*ids, timeout=10 * POKE)
    return await listings.count()


def _status(runner: Triggerer, ids: list[int]) -> set[Any]:
    return {(runner.first(i) or {}).get("status") for i in ids}


@pytest.mark.integration
@pytest.mark.asyncio
async def test_the_first_to_expire_subscribing_first_does_not_steer_the_poll(shop: dict[str, Any]) -> None:
    """The group's poll is built from its first member; that member's deadline passing first
    must leave the pace at one listing per interval for everyone else (it used to poll flat out)."""
    runner, listings = Triggerer(), shop["listings"]
    await listings.count()
    short = runner.add(_sensor(shop, deadline=_iso(1.5 * POKE)))
    others = [runner.add(_sensor(shop, deadline=_iso(600) if i % 2 else None)) for i in range(20)]
    await runner.wait(short, timeout=10 * POKE)
    assert (runner.first(short) or {}).get("status") == "timeout"
    assert runner.groups() == 1
    before = await listings.count()
    after = await listings.over(4 * POKE)
    assert before <= 3  # at 0 and 1 interval
    assert 1 <= after <= 5  # one per interval, the poll going on
    assert await _fired_after_change(runner, shop, others) <= 2
    assert _status(runner, others) == {"success"}
    assert await listings.refused() == 0
    await runner.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_joining_late_and_leaving_early(shop: dict[str, Any]) -> None:
    runner, listings = Triggerer(), shop["listings"]
    first = runner.add(_sensor(shop))
    await asyncio.sleep(2 * POKE)
    late = [runner.add(_sensor(shop, product_ids=None)) for _ in range(5)]
    await asyncio.sleep(0.1)
    await runner.cancel(first)  # its task was cleared: the poll it started serves the others
    assert runner.groups() == 1
    assert await listings.over(3 * POKE) <= 4
    assert await _fired_after_change(runner, shop, late, index=1) <= 2
    assert _status(runner, late) == {"success"}
    assert runner.first(first) is None
    assert await listings.refused() == 0
    await runner.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_the_last_to_leave_stops_the_poll(shop: dict[str, Any]) -> None:
    runner, listings = Triggerer(), shop["listings"]
    ids = [runner.add(_sensor(shop, deadline=_iso(POKE * (1 + i % 2)))) for i in range(6)]
    await runner.wait(*ids, timeout=10 * POKE)
    assert _status(runner, ids) == {"timeout"}
    assert runner.groups() == 0
    assert await listings.over(3 * POKE) == 0
    await runner.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_failed_listing_is_one_request_for_every_subscriber(
    shop: dict[str, Any], limited: Any
) -> None:
    """The sensors' triggers report the failure (their tasks fail or retry); a watcher on the same
    poll logs it and keeps watching."""
    limited.faults.add("GET", f"/goods/{shop['location_id']}", status=404, message="Location is gone")
    runner, listings = Triggerer(), shop["listings"]
    sensors = [runner.add(_sensor(shop, location_id=None)) for _ in range(5)]
    watcher = runner.add(ProductChangeEventTrigger(conn_id="altegio_default", poke_interval=POKE))
    await runner.wait(*sensors, timeout=10 * POKE)
    assert {(e["status"], e["error_type"]) for e in map(runner.first, sensors)} == {  # type: ignore[index]
        ("error", "AltegioNotFoundError")
    }
    assert await listings.count() == 1
    await _touch_for_watcher(shop, index=1)
    await runner.until(lambda: runner.first(watcher), timeout=10 * POKE)
    assert runner.first(watcher)["product_ids"] == [shop["ids"][1]]  # type: ignore[index]
    assert runner.groups() == 1
    await runner.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_watcher_and_sensors_share_one_poll(shop: dict[str, Any]) -> None:
    """Both rely on the connection's default location: one key, one listing per interval, and
    the watcher's event names the location that was polled."""
    runner, listings = Triggerer(), shop["listings"]
    await listings.count()
    watcher = runner.add(ProductChangeEventTrigger(conn_id="altegio_default", poke_interval=POKE))
    sensors = [runner.add(_sensor(shop, location_id=None)) for _ in range(10)]
    await asyncio.sleep(0.2)  # all subscribed
    assert runner.groups() == 1
    assert await listings.over(3 * POKE) <= 4
    assert await _fired_after_change(runner, shop, sensors) <= 2
    assert _status(runner, sensors) == {"success"}
    event = runner.first(watcher)
    assert event is not None
    assert event["location_id"] == shop["location_id"]
    assert event["product_ids"] == [shop["ids"][0]]
    assert await listings.refused() == 0
    await runner.stop()


class _StateStore:
    """The asset state store a triggerer gives a watcher (one asset), kept across restarts."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def aget(self, key: str) -> str | None:
        return self.values.get(key)

    async def aset(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_triggerer_restart(shop: dict[str, Any]) -> None:
    """The watcher neither repeats nor loses a change across a restart (its watermark); a sensor
    that waited through it catches up once on its own, then rides the shared poll."""
    store, listings = _StateStore(), shop["listings"]
    watcher = ProductChangeEventTrigger(conn_id="altegio_default", poke_interval=POKE)
    watcher.asset_state_store = store  # type: ignore[assignment]
    runner = Triggerer()
    before = runner.add(watcher)
    await _touch_for_watcher(shop, index=0)
    await runner.until(lambda: runner.events[before], timeout=10 * POKE)
    assert [e.payload["product_ids"] for e in runner.events[before]] == [[shop["ids"][0]]]
    await runner.stop()
    assert watcher.WATERMARK in store.values

    await _touch(shop, index=1)  # while the triggerer is down
    classpath, kwargs = watcher.serialize()
    rebuilt = import_string(classpath)(**kwargs)
    rebuilt.asset_state_store = store
    an_hour_ago = _iso(-3600)
    runner = Triggerer()
    after = runner.add(rebuilt)
    sensor = runner.add(_sensor(shop, changed_after=an_hour_ago, checked_at=an_hour_ago, product_ids=[-1]))
    made = await listings.over(4 * POKE)
    assert [e.payload["product_ids"] for e in runner.events[after]] == [[shop["ids"][1]]]
    assert made <= 5 + 2  # one per interval, plus one catch-up each for the watcher and the sensor
    assert runner.first(sensor) is None
    assert await listings.refused() == 0
    await runner.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_triggers_of_one_process_share_one_poll_without_shared_streams(altegio_sandbox: Any) -> None:
    """Before Airflow 3.3 the triggerer calls each trigger's ``run()``: forty triggers of one
    location, on one event loop, still make one listing per interval (the provider's in-process
    sharing), and a change fires exactly the triggers that watch the changed product."""
    from airflow_provider_altegio.fanout import InProcessStreams, run_shared
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    first, second = (await hook.achanged_products(PAST, location_id))[:2]
    now = datetime.now(tz=timezone.utc).isoformat()
    triggers = [
        ProductChangeTrigger(
            conn_id="altegio_default",
            location_id=location_id,
            changed_after=now,
            checked_at=now,
            product_ids=[first.good_id if i % 2 else second.good_id],
            poke_interval=0.5,
        )
        for i in range(40)
    ]
    assert len({t.shared_stream_key() for t in triggers}) == 1
    streams = InProcessStreams()
    fired: dict[int, dict[str, Any]] = {}

    async def watch(index: int, trigger: ProductChangeTrigger) -> None:
        async for event in run_shared(trigger, streams):
            fired[index] = dict(event.payload)
            return

    altegio_sandbox.clear_requests()
    tasks = [asyncio.create_task(watch(i, t)) for i, t in enumerate(triggers)]
    await asyncio.sleep(1.6)  # about four polls of nothing
    listings = len(altegio_sandbox.requests(method="GET", path=f"/api/v1/goods/{location_id}"))
    assert 2 <= listings <= 5  # per interval, not per trigger
    await asyncio.to_thread(hook.update_product, first.good_id, {"comment": "shared"}, location_id)
    await asyncio.sleep(1.6)
    assert sorted(fired) == [i for i in range(40) if i % 2]  # exactly the watchers of `first`
    assert all(event["product_ids"] == [first.good_id] for event in fired.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hook.aclose()
