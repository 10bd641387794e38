"""Test doubles shared by the core and hook unit tests (imported as ``fakes``: pytest puts this
folder on ``sys.path`` when it imports a test module from it)."""

from __future__ import annotations


class SleepRecorder:
    """Stands in for ``time.sleep`` (call it) and ``asyncio.sleep`` (:meth:`asleep`): records the
    requested seconds and never sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)
