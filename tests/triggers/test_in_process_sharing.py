"""One poll per connection and listing in a triggerer process where Airflow does not share
streams (before 3.3, the triggerer calls each trigger's ``run()``): ``fanout.run_shared``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_altegio.fanout import (
    InProcessStreams,
    SharedStreamEnded,
    SubscriberOverflow,
    run_shared,
)
from airflow_provider_altegio.triggers.products import ProductChangeTrigger

PAST = "2000-01-01T00:00:00+00:00"


class Counter:
    """A stream that counts how often it was opened and closed, and yields 0, 1, 2... on demand."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.feed: asyncio.Queue[Any] = asyncio.Queue()

    async def stream(self) -> AsyncIterator[Any]:
        self.opened += 1
        try:
            while True:
                item = await self.feed.get()
                if isinstance(item, BaseException):
                    raise item
                if item is StopAsyncIteration:
                    return
                yield item
        finally:
            self.closed += 1


async def _take(stream: AsyncIterator[Any], count: int) -> list[Any]:
    return [await anext(stream) for _ in range(count)]


@pytest.mark.asyncio
async def test_subscribers_of_a_key_share_one_stream_from_when_they_join() -> None:
    streams, source = InProcessStreams(), Counter()
    first = streams.subscribe("key", source.stream)
    pending = asyncio.ensure_future(_take(first, 2))
    await asyncio.sleep(0)
    source.feed.put_nowait(1)
    await asyncio.sleep(0.01)
    second = streams.subscribe("key", source.stream)
    waiting = asyncio.ensure_future(_take(second, 1))
    await asyncio.sleep(0.01)
    source.feed.put_nowait(2)
    assert await pending == [1, 2]
    assert await waiting == [2]  # a late subscriber sees what comes after it joined
    assert source.opened == 1
    await first.aclose()  # type: ignore[attr-defined]
    assert source.closed == 0  # one subscriber is left
    await second.aclose()  # type: ignore[attr-defined]
    assert source.closed == 1  # closed with its last subscriber


@pytest.mark.asyncio
async def test_other_keys_open_their_own_stream() -> None:
    streams, one, other = InProcessStreams(), Counter(), Counter()
    a = streams.subscribe("a", one.stream)
    b = streams.subscribe("b", other.stream)
    taking = asyncio.gather(_take(a, 1), _take(b, 1))
    await asyncio.sleep(0.01)
    one.feed.put_nowait("from a")
    other.feed.put_nowait("from b")
    assert await taking == [["from a"], ["from b"]]
    assert (one.opened, other.opened) == (1, 1)
    for stream in (a, b):
        await stream.aclose()  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_an_error_of_the_stream_reaches_every_subscriber_and_the_next_one_reopens() -> None:
    streams, source = InProcessStreams(), Counter()
    subscribers = [streams.subscribe("key", source.stream) for _ in range(3)]
    taking = [asyncio.ensure_future(_take(s, 1)) for s in subscribers]
    await asyncio.sleep(0.01)
    source.feed.put_nowait(ValueError("listing failed"))
    results = await asyncio.gather(*taking, return_exceptions=True)
    assert [type(r) for r in results] == [ValueError] * 3
    again = streams.subscribe("key", source.stream)
    taking_again = asyncio.ensure_future(_take(again, 1))
    await asyncio.sleep(0.01)
    source.feed.put_nowait("fresh")
    assert await taking_again == ["fresh"]
    assert source.opened == 2
    await again.aclose()  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_a_stream_that_stops_ends_its_subscribers_loudly() -> None:
    streams, source = InProcessStreams(), Counter()
    stream = streams.subscribe("key", source.stream)
    taking = asyncio.ensure_future(_take(stream, 1))
    await asyncio.sleep(0.01)
    source.feed.put_nowait(StopAsyncIteration)
    with pytest.raises(SharedStreamEnded):
        await taking


@pytest.mark.asyncio
async def test_a_subscriber_that_falls_behind_fails_alone() -> None:
    streams, source = InProcessStreams(max_queue=2), Counter()
    slow = streams.subscribe("key", source.stream)
    assert await asyncio.gather(_take(slow, 1), source.feed.put(0)) == [[0], None]
    fast = streams.subscribe("key", source.stream)
    taking = asyncio.ensure_future(_take(fast, 4))
    await asyncio.sleep(0.01)
    for item in range(1, 5):
        source.feed.put_nowait(item)
        await asyncio.sleep(0.01)
    assert await taking == [1, 2, 3, 4]  # the slow one does not hold the fast one back
    with pytest.raises(SubscriberOverflow):
        await _take(slow, 3)  # 1 and 2 were kept for it, 3 was one too many
    await fast.aclose()  # type: ignore[attr-defined]


@pytest.mark.integration
@pytest.mark.asyncio
async def test_triggers_share_one_poll_in_process(altegio_sandbox: Any) -> None:
    """Forty triggers on one location, each run as a triggerer before 3.3 runs it (a task per
    trigger, on one event loop) through ``run_shared``: one listing per interval answers all of
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
    streams = InProcessStreams()
    fired: dict[int, dict[str, Any]] = {}

    async def run_trigger(index: int, trigger: ProductChangeTrigger) -> None:
        async for event in run_shared(trigger, streams):
            fired[index] = dict(event.payload)
            return

    altegio_sandbox.clear_requests()
    tasks = [asyncio.create_task(run_trigger(i, t)) for i, t in enumerate(triggers)]
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
    assert streams._groups == {}  # the last trigger to leave closed the poll
    await hook.aclose()
