"""Product-change triggers: serialisation round trip, and ``run()`` under asyncio against the sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk.module_loading import import_string

from airflow_provider_altegio.compat import HAS_SHARED_STREAMS
from airflow_provider_altegio.fanout import InProcessStreams, run_shared
from airflow_provider_altegio.triggers.products import (
    _SHARED_HOOKS,
    AltacolorProductChangeTrigger,
    ProductChangeTrigger,
    _SharedHooks,
)

PAST = "2000-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "trigger",
    [
        ProductChangeTrigger(
            conn_id="altegio_default",
            location_id=7,
            changed_after=PAST,
            product_ids=[1, 2],
            category_id=3,
            term="shampoo",
            poke_interval=5,
            deadline="2030-01-01T00:00:00+00:00",
        ),
        AltacolorProductChangeTrigger(
            conn_id="altacolor_default",
            changed_after=PAST,
            conditions=[{"field": "supplier", "condition": "==", "value": "Wella"}],
        ),
    ],
)
def test_serialize_round_trip(trigger: Any) -> None:
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON only
    rebuilt = import_string(classpath)(**kwargs)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_the_query_is_what_the_hook_is_asked() -> None:
    import inspect

    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    for trigger, hook in [
        (ProductChangeTrigger(conn_id="c", location_id=7, changed_after=PAST), AltegioHook),
        (
            AltacolorProductChangeTrigger(conn_id="c", changed_after=PAST, conditions=[{"field": 1}]),
            AltacolorHook,
        ),
    ]:
        accepted = inspect.signature(hook.achanged_products).parameters
        assert {*trigger.listing, "changed_after", "product_ids"} <= set(accepted)
        assert trigger.changed_after == PAST


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
    assert event["status"] == "success"
    assert event["product_ids"] == [product.good_id]
    assert event["count"] == 1
    assert event["polls"] == 1
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
        location_id=location_id,
        changed_after=datetime.now(tz=timezone.utc).isoformat(),
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
async def test_run_ends_at_its_deadline(altegio_sandbox: Any) -> None:
    soon = (datetime.now(tz=timezone.utc) + timedelta(seconds=1)).isoformat()
    trigger = ProductChangeTrigger(
        conn_id="altegio_default",
        location_id=altegio_sandbox.location_ids[0],
        changed_after="2999-01-01T00:00:00+00:00",
        poke_interval=0.3,
        deadline=soon,
    )
    event = await _first_event(trigger)
    assert event["status"] == "timeout"
    assert soon in event["message"]


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


def _sharing(kind: str) -> tuple[Callable[[int, Any], AsyncIterator[Any]], Callable[[], Awaitable[None]]]:
    """``(events(index, trigger), stop())``: a trigger's events through Airflow's shared streams
    as the 3.3 triggerer subscribes it, or through the provider's in-process sharing as ``run()``
    uses it where the triggerer has none."""
    if kind == "in-process":
        streams = InProcessStreams()

        async def nothing_to_stop() -> None:
            assert streams._groups == {}  # the last trigger to leave closed the poll

        return (lambda index, trigger: run_shared(trigger, streams)), nothing_to_stop
    from airflow.triggers.shared_stream import SharedStreamManager

    manager = SharedStreamManager()

    async def events(index: int, trigger: Any) -> AsyncIterator[Any]:
        key = trigger.shared_stream_key()
        stream = manager.subscribe(trigger_id=index, trigger=trigger, key=key)
        try:
            async for event in trigger.filter_shared_stream(stream):
                yield event
        finally:
            await manager.unsubscribe(index, key)

    return events, manager.stop_all


@pytest.mark.integration
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "sharing",
    [
        pytest.param(
            "shared streams",
            marks=pytest.mark.skipif(not HAS_SHARED_STREAMS, reason="Airflow's shared streams are 3.3+"),
        ),
        "in-process",
    ],
)
async def test_triggers_in_a_triggerer_share_one_poll(altegio_sandbox: Any, sharing: str) -> None:
    """Forty triggers on one location, on one event loop as in a triggerer: subscribed through
    Airflow's own shared-stream manager as the 3.3 triggerer does, or through the provider's
    in-process sharing as their ``run()`` on 3.1 and 3.2. One listing per interval answers all of
    them, and a change fires exactly the triggers that watch the changed product."""
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
    events, stop = _sharing(sharing)
    fired: dict[int, dict[str, Any]] = {}

    async def watch(index: int, trigger: ProductChangeTrigger) -> None:
        async for event in events(index, trigger):
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
    await stop()
    await hook.aclose()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_trigger_that_joins_late_catches_up_alone(altegio_sandbox: Any) -> None:
    """A trigger whose sensor checked long before it joined (a triggerer restart) is not covered
    by the shared look-back window: it asks once for its own gap."""
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    product = (await hook.achanged_products(PAST, location_id))[0]
    an_hour_ago = (datetime.now(tz=timezone.utc) - timedelta(hours=1)).isoformat()
    await asyncio.to_thread(hook.update_product, product.good_id, {"comment": "while away"}, location_id)
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
