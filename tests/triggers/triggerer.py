"""Triggers driven as Airflow's triggerer drives them, for tests and benchmarks.

:meth:`Triggerer.run_trigger` mirrors ``TriggerRunner.run_trigger`` (``airflow/jobs/
triggerer_job_runner.py``): a ``BaseEventTrigger`` with a ``shared_stream_key()`` subscribes to
the runner's one ``SharedStreamManager`` and its events come from ``filter_shared_stream`` over
that subscription; any other trigger runs ``run()``; it unsubscribes in ``finally``, whether the
trigger finished, failed or was cancelled (a cleared task, a trigger timeout, a shutdown).
:class:`Listings` counts what the sandbox received, interval by interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import greenback
from airflow.triggers.base import BaseEventTrigger, BaseTrigger

from airflow_provider_altegio import fanout
from airflow_provider_altegio.compat import HAS_SHARED_STREAMS

if HAS_SHARED_STREAMS:
    from airflow.triggers.shared_stream import SharedStreamManager


@dataclass
class Fired:
    """An event a trigger yielded, and when (``time.monotonic()``)."""

    payload: dict[str, Any]
    at: float


@dataclass
class Triggerer:
    """One trigger runner: its shared-stream manager, its running triggers and their events."""

    #: Airflow's shared-stream manager (3.3+); before 3.3 the triggerer calls ``run()``.
    manager: Any = field(default_factory=lambda: SharedStreamManager() if HAS_SHARED_STREAMS else None)
    events: dict[int, list[Fired]] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, trigger: BaseTrigger) -> int:
        """Start ``trigger`` as the triggerer would pick it up; returns its trigger id."""
        trigger_id = next(self._ids)
        self.events[trigger_id] = []
        self.tasks[trigger_id] = asyncio.create_task(self.run_trigger(trigger_id, trigger))
        return trigger_id

    async def run_trigger(self, trigger_id: int, trigger: BaseTrigger) -> None:
        """``TriggerRunner.run_trigger``, less its logging, tracing and outbound event queue."""
        await greenback.ensure_portal()
        shared_key: Hashable | None = None
        try:
            if isinstance(trigger, BaseEventTrigger) and self.manager is not None:
                try:
                    shared_key = trigger.shared_stream_key()
                except Exception:
                    shared_key = None
            if shared_key is not None and isinstance(trigger, BaseEventTrigger):
                stream = self.manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=shared_key)
                event_stream = trigger.filter_shared_stream(stream)
            else:
                event_stream = trigger.run()
            async for event in event_stream:
                self.events[trigger_id].append(Fired(dict(event.payload), time.monotonic()))
        except Exception as exc:  # the triggerer fails the trigger; a test looks at it here
            self.errors[trigger_id] = exc
        finally:
            if shared_key is not None:
                await self.manager.unsubscribe(trigger_id, shared_key)
            with contextlib.suppress(Exception):
                await trigger.cleanup()

    def first(self, trigger_id: int) -> dict[str, Any] | None:
        """The first event of a trigger, or ``None`` yet."""
        fired = self.events[trigger_id]
        return fired[0].payload if fired else None

    async def cancel(self, *trigger_ids: int) -> None:
        """Cancel triggers as the triggerer does when their task is cleared or times out."""
        for trigger_id in trigger_ids:
            self.tasks[trigger_id].cancel()
        await asyncio.gather(*(self.tasks[i] for i in trigger_ids), return_exceptions=True)

    async def wait(self, *trigger_ids: int, timeout: float) -> None:
        """Wait until these triggers (default: all) have finished, at most ``timeout`` seconds."""
        tasks = [self.tasks[i] for i in trigger_ids or self.tasks]
        await asyncio.wait(tasks, timeout=timeout)

    async def until(self, condition: Callable[[], object], timeout: float) -> None:
        """Wait until ``condition()`` is true (an event came), at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def groups(self) -> int:
        """How many shared polls run (Airflow's, or the provider's in-process ones before 3.3)."""
        return len(self.manager._groups if self.manager is not None else fanout.STREAMS._groups)

    async def stop(self) -> None:
        """Shut down: cancel every trigger, then every poll (``TriggerRunner``'s cleanup)."""
        await self.cancel(*self.tasks)
        if self.manager is not None:
            await self.manager.stop_all()


@dataclass
class Listings:
    """Counts the requests a sandbox logs for ``path`` (and the 429s among every request)."""

    sandbox: Any
    path: str
    method: str = "GET"
    _seen: int = 0

    def __post_init__(self) -> None:
        self._seen = len(self.sandbox.requests(self.method, self.path))  # counts start now

    async def count(self) -> int:
        """Requests for ``path`` since the last call (``reset`` starts over)."""
        total = len(await asyncio.to_thread(self.sandbox.requests, self.method, self.path))
        new, self._seen = total - self._seen, total
        return new

    async def refused(self) -> int:
        """Every request the sandbox answered 429, whatever its path."""
        log = await asyncio.to_thread(self.sandbox.requests)
        return sum(1 for entry in log if entry.get("status") == 429)

    async def over(self, seconds: float) -> int:
        """Wait ``seconds`` and return how many requests came meanwhile."""
        await self.count()
        await asyncio.sleep(seconds)
        return await self.count()
