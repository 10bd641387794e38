"""One poll for the triggers of a process that share a stream, where Airflow does not share it.

Airflow 3.3's triggerer gives the triggers whose ``shared_stream_key()`` is equal one stream
(``SharedStreamManager``); before 3.3 it calls each trigger's ``run()``. :func:`run_shared` does
the same inside ``run()``, for the triggers of one event loop (a triggerer process runs all its
triggers on one loop): the first subscriber of a key opens the stream with the trigger class's
``open_shared_stream(kwargs)``, every subscriber receives each raw item from the moment it joined
through its own ``filter_shared_stream``, and the stream is closed when the last one leaves::

    async def run(self):
        async for event in run_shared(self):
            yield event
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

#: Raw items a subscriber may leave unread before it is failed (the triggerer's default).
MAX_QUEUE = 1024


class SharedStreamEnded(RuntimeError):
    """The shared stream stopped yielding; its subscribers cannot go on."""


class SubscriberOverflow(RuntimeError):
    """A subscriber left more than :data:`MAX_QUEUE` items unread."""


class _End:
    """The last item a subscriber receives: why its stream stopped."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Group:
    """One open stream and the queues of its subscribers."""

    def __init__(self, items: AsyncIterator[Any], max_queue: int, on_end: Callable[[], None]) -> None:
        self.queues: list[asyncio.Queue[Any]] = []
        self._max_queue = max_queue
        self._on_end = on_end
        self._task = asyncio.ensure_future(self._pump(items))

    def _broadcast(self, item: Any) -> None:
        for queue in self.queues:
            if isinstance(item, _End) or queue.qsize() < self._max_queue:
                queue.put_nowait(item)
            else:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(_End(SubscriberOverflow(f"more than {self._max_queue} items unread")))

    async def _pump(self, items: AsyncIterator[Any]) -> None:
        error: BaseException = SharedStreamEnded("the shared stream stopped yielding")
        try:
            async with contextlib.aclosing(items):  # type: ignore[type-var]
                async for item in items:
                    self._broadcast(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        self._on_end()  # later subscribers open a new stream
        self._broadcast(_End(error))

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class InProcessStreams:
    """Shared streams of one process, by key and event loop."""

    def __init__(self, max_queue: int = MAX_QUEUE) -> None:
        self._groups: dict[tuple[Hashable, int], _Group] = {}
        self._max_queue = max_queue

    async def subscribe(
        self, key: Hashable, open_stream: Callable[[], AsyncIterator[Any]]
    ) -> AsyncIterator[Any]:
        """The items of the stream under ``key`` from the first iteration on; ``open_stream``
        opens it when no subscriber has it open. Raises what the stream raised,
        :class:`SharedStreamEnded` when it stopped, or :class:`SubscriberOverflow`."""
        full_key = (key, id(asyncio.get_running_loop()))
        group = self._groups.get(full_key)
        if group is None:

            def forget() -> None:
                if self._groups.get(full_key) is group:
                    del self._groups[full_key]

            group = self._groups[full_key] = _Group(open_stream(), self._max_queue, forget)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        group.queues.append(queue)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _End):
                    raise item.error
                yield item
        finally:
            group.queues.remove(queue)
            if not group.queues:
                if self._groups.get(full_key) is group:
                    del self._groups[full_key]
                await group.stop()


#: The streams of this process.
STREAMS = InProcessStreams()


async def run_shared(trigger: Any, streams: InProcessStreams = STREAMS) -> AsyncIterator[Any]:
    """A trigger's events from the stream it shares with the triggers of the same
    ``shared_stream_key()`` in this process: what Airflow 3.3's triggerer does for it.

    :param trigger: a trigger with Airflow 3.3's shared-stream methods (``shared_stream_key``,
        the class method ``open_shared_stream(kwargs)`` and ``filter_shared_stream``).
    """
    kwargs = trigger.serialize()[1]
    stream = streams.subscribe(trigger.shared_stream_key(), lambda: type(trigger).open_shared_stream(kwargs))
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for event in trigger.filter_shared_stream(stream):
            yield event


__all__ = [
    "MAX_QUEUE",
    "STREAMS",
    "InProcessStreams",
    "SharedStreamEnded",
    "SubscriberOverflow",
    "run_shared",
]
