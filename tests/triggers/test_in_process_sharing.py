"""The in-process sharing of streams (``fanout``) that gives triggers one poll per connection
and listing where Airflow's triggerer has no shared streams (before 3.3). With real triggers
against the sandbox: ``test_product_triggers.test_triggers_in_a_triggerer_share_one_poll``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_altegio.fanout import (
    InProcessStreams,
    SharedStreamEnded,
    SubscriberOverflow,
)


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


async def _subscriber(
    streams: InProcessStreams, source: Counter, count: int, key: str = "key"
) -> tuple[Any, asyncio.Future[list[Any]]]:
    """A subscriber of ``key`` (subscribed when this returns) and its next ``count`` items."""
    stream = streams.subscribe(key, source.stream)
    taking = asyncio.ensure_future(_take(stream, count))
    await asyncio.sleep(0.01)
    return stream, taking


async def _feed(source: Counter, *items: Any) -> None:
    for item in items:
        source.feed.put_nowait(item)
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_subscribers_of_a_key_share_one_stream_from_when_they_join() -> None:
    streams, source = InProcessStreams(), Counter()
    first, first_items = await _subscriber(streams, source, 2)
    await _feed(source, 1)
    second, second_items = await _subscriber(streams, source, 1)
    await _feed(source, 2)
    assert await first_items == [1, 2]
    assert await second_items == [2]  # a late subscriber sees what comes after it joined
    assert source.opened == 1
    await first.aclose()
    assert source.closed == 0  # one subscriber is left
    await second.aclose()
    assert source.closed == 1  # closed with its last subscriber


@pytest.mark.asyncio
async def test_other_keys_open_their_own_stream() -> None:
    streams, one, other = InProcessStreams(), Counter(), Counter()
    a, from_a = await _subscriber(streams, one, 1, key="a")
    b, from_b = await _subscriber(streams, other, 1, key="b")
    await _feed(one, "from a")
    await _feed(other, "from b")
    assert (await from_a, await from_b) == (["from a"], ["from b"])
    assert (one.opened, other.opened) == (1, 1)
    for stream in (a, b):
        await stream.aclose()


@pytest.mark.asyncio
async def test_an_error_of_the_stream_reaches_every_subscriber_and_the_next_one_reopens() -> None:
    streams, source = InProcessStreams(), Counter()
    takings = [(await _subscriber(streams, source, 1))[1] for _ in range(3)]
    await _feed(source, ValueError("listing failed"))
    results = await asyncio.gather(*takings, return_exceptions=True)
    assert [type(r) for r in results] == [ValueError] * 3
    again, fresh = await _subscriber(streams, source, 1)
    await _feed(source, "fresh")
    assert await fresh == ["fresh"]
    assert source.opened == 2
    await again.aclose()


@pytest.mark.asyncio
async def test_a_stream_that_stops_ends_its_subscribers_loudly() -> None:
    streams, source = InProcessStreams(), Counter()
    _, taking = await _subscriber(streams, source, 1)
    await _feed(source, StopAsyncIteration)
    with pytest.raises(SharedStreamEnded):
        await taking


@pytest.mark.asyncio
async def test_a_subscriber_that_falls_behind_fails_alone() -> None:
    streams, source = InProcessStreams(max_queue=2), Counter()
    slow, first_of_slow = await _subscriber(streams, source, 1)
    await _feed(source, 0)
    assert await first_of_slow == [0]
    fast, taking = await _subscriber(streams, source, 4)
    await _feed(source, 1, 2, 3, 4)
    assert await taking == [1, 2, 3, 4]  # the slow one does not hold the fast one back
    with pytest.raises(SubscriberOverflow):
        await _take(slow, 3)  # 1 and 2 were kept for it, 3 was one too many
    await fast.aclose()
