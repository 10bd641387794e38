"""Fixtures of the fault suite: the sandbox with fault injection, fast connections, recorded waits.

Every test runs against the real sandbox over loopback (reset before each test). To keep the
suite fast without shrinking what is tested, the HTTP core's waits (backoff and ``Retry-After``)
are recorded instead of slept: the test sees exactly how long the provider would have waited,
and the retries themselves still go over the wire.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_altegio.core.http import HttpCore
from airflow_provider_altegio.hooks import base as hooks_base
from airflow_provider_altegio.hooks.altegio import AltegioHook

#: Short timeouts and few retries: a fault test never waits long for a timeout.
FAST = {"timeout": 5, "max_retries": 3, "requests_per_second": 0, "requests_per_minute": 0}


@pytest.fixture
def sandbox(altegio_sandbox: Any) -> Any:
    """The session sandbox, reset to its seeded state, faults cleared."""
    return altegio_sandbox


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds every hook built in this test would have slept (backoff, Retry-After, limiter)."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def asleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(hooks_base, "HttpCore", functools.partial(HttpCore, sleep=sleep, asleep=asleep))
    return recorded


@pytest.fixture
def connect(sandbox: Any, waits: list[float], monkeypatch: pytest.MonkeyPatch) -> Callable[..., AltegioHook]:
    """``connect(**extras)``: an AltegioHook on ``altegio_default`` pointing at the sandbox.

    The same connection is what operators in ``dag.test()`` runs use.
    """

    def make(**extra: Any) -> AltegioHook:
        conn = sandbox.altegio_connection(**{**FAST, **extra})
        monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_DEFAULT", json.dumps(conn))
        return AltegioHook()

    return make


class Ledger:
    """What the sandbox holds for one stocked product: documents by marker, stock, POSTs received."""

    def __init__(self, sandbox: Any, location: int, storage: int, good: int) -> None:
        self.sandbox, self.location, self.storage, self.good = sandbox, location, storage, good

    def receipt(self, comment: str, amount: float = 2) -> dict[str, Any]:
        """A receipt of ``amount`` of the product, as ``create_storage_operation`` takes it."""
        return {
            "type_id": "receipt",
            "storage_id": self.storage,
            "create_date": datetime.now(tz=timezone.utc),
            "transactions": [{"good_id": self.good, "amount": amount, "cost_per_unit": 3}],
            "comment": comment,
        }

    def documents(self, marker: str) -> list[dict[str, Any]]:
        """Documents created since the seed whose comment contains ``marker``."""
        return self.sandbox.state(location_id=self.location, comment=marker)["documents"]  # type: ignore[no-any-return]

    def stock(self) -> float:
        """The product's stock in the storage."""
        return float(self.sandbox.stock(self.location, self.good, self.storage))

    def settle(self, timeout: float = 20.0) -> None:
        """Wait (bounded) until the sandbox has finished every POST it received, even those whose
        client gave up, so the ledger shows their final effect."""
        deadline = time.monotonic() + timeout
        while any(p["status"] is None for p in self.posts()):
            assert time.monotonic() < deadline, "the sandbox is still processing a request"
            time.sleep(0.05)

    def posts(self) -> list[dict[str, Any]]:
        """The storage-operation POSTs that reached the sandbox (faulted or not)."""
        return self.sandbox.requests("POST", f"/storage_operations/operation/{self.location}")  # type: ignore[no-any-return]


@pytest.fixture
def ledger(sandbox: Any, connect: Callable[..., AltegioHook], waits: list[float]) -> Ledger:
    """A location, a storage and a product with at least 5 on hand there, and their ledger."""
    hook = connect()
    location = sandbox.location_id
    storage = hook.list_storages(location)[0].id
    product = next(p for p in hook.iter_products(location) if p.amount_in(storage) >= 5)
    hook.close()
    sandbox.clear_requests()
    waits.clear()  # only the test's own waits count
    return Ledger(sandbox, location, storage, product.good_id)
