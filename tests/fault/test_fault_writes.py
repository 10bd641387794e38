"""Writes under injected faults, at hook level: a create is never blindly sent twice.

``create_storage_operation`` is a POST that creates a document and moves stock. After each fault
the ledger (documents carrying the test's marker, the product's stock, and the POSTs the
sandbox received) shows exactly what happened: a retry only when the request certainly was not
applied (429, connection refused), otherwise one attempt and an :class:`AmbiguousWriteError`
that tells the caller to reconcile.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_altegio.exceptions import AltegioAPIError, AmbiguousWriteError, TransportError
from airflow_provider_altegio.hooks.altegio import AltegioHook

pytestmark = pytest.mark.integration

OPERATION = "/storage_operations/operation/*"


def marker() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


def test_clean_write_creates_one_document(ledger: Any, connect: Callable[..., AltegioHook]) -> None:
    mark, before = marker(), ledger.stock()
    result = connect().create_storage_operation(ledger.receipt(mark, amount=2), ledger.location)
    (document,) = ledger.documents(mark)
    assert document["id"] == result.document.id
    assert ledger.stock() == pytest.approx(before + 2)
    assert len(ledger.posts()) == 1


def test_429_on_a_create_is_retried_because_nothing_was_applied(
    ledger: Any, connect: Callable[..., AltegioHook], waits: list[float]
) -> None:
    mark, before = marker(), ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, status=429, retry_after=3, count=2)
    result = connect().create_storage_operation(ledger.receipt(mark), ledger.location)
    assert [p["status"] for p in ledger.posts()] == [429, 429, 200]
    assert waits == [3.0, 3.0]
    (document,) = ledger.documents(mark)
    assert document["id"] == result.document.id
    assert ledger.stock() == pytest.approx(before + 2)


def test_429_storm_on_a_create_fails_without_writing(
    ledger: Any, connect: Callable[..., AltegioHook], waits: list[float]
) -> None:
    mark, before = marker(), ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, status=429, count=None)
    with pytest.raises(AltegioAPIError) as caught:
        connect(rate_limit_wait=20).create_storage_operation(ledger.receipt(mark), ledger.location)
    assert not isinstance(caught.value, AmbiguousWriteError)  # definitely not applied
    assert caught.value.status_code == 429
    # A 429 is re-sent (it was refused, not applied) while the wait budget lasts, then no more.
    assert len(ledger.posts()) == len(waits) + 1 > 1
    assert sum(waits) <= 20
    assert ledger.documents(mark) == []
    assert ledger.stock() == pytest.approx(before)


# Faults after which the create may or may not have been applied: one POST, AmbiguousWriteError,
# and the ledger says whether the server applied it (which the operator must then find out).
AMBIGUOUS = [
    pytest.param({"status": 503}, 0, id="503"),
    pytest.param({"status": 500}, 0, id="500"),
    pytest.param({"status": 502, "body": "html"}, 0, id="html-502"),
    pytest.param({"drop": "before"}, 0, id="dropped-before-applying"),
    pytest.param({"drop": "after"}, 1, id="dropped-after-applying"),
    pytest.param({"body": "truncated"}, 1, id="truncated-after-applying"),
    pytest.param({"body": "malformed"}, 0, id="malformed-200"),
    pytest.param({"body": "no_envelope"}, 0, id="no-envelope-200"),
]


@pytest.mark.parametrize(("fault", "applied"), AMBIGUOUS)
def test_ambiguous_failure_of_a_create_is_never_resent(
    ledger: Any, connect: Callable[..., AltegioHook], waits: list[float], fault: dict[str, Any], applied: int
) -> None:
    mark, before = marker(), ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, count=1, **fault)
    with pytest.raises(AmbiguousWriteError) as caught:
        connect().create_storage_operation(ledger.receipt(mark, amount=2), ledger.location)
    error = caught.value
    assert error.method == "POST"
    assert "may have been applied" in str(error)
    assert ledger.sandbox.partner_token not in str(error)
    assert len(ledger.posts()) == 1, "the create was sent again after an ambiguous failure"
    assert waits == []
    assert len(ledger.documents(mark)) == applied
    assert ledger.stock() == pytest.approx(before + 2 * applied)


def test_create_timing_out_is_not_resent_and_lands_once(
    ledger: Any, connect: Callable[..., AltegioHook], waits: list[float]
) -> None:
    """The server is slow, the client gives up: one POST, and the server applies it once, later."""
    mark, before = marker(), ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, delay=1.0, count=1)
    with pytest.raises(AmbiguousWriteError) as caught:
        connect(timeout=0.3).create_storage_operation(ledger.receipt(mark, amount=2), ledger.location)
    assert "Timeout" in str(caught.value)
    assert len(ledger.posts()) == 1
    ledger.settle()
    assert len(ledger.documents(mark)) == 1
    assert ledger.stock() == pytest.approx(before + 2)


def test_success_false_on_a_create_is_a_definite_refusal(
    ledger: Any, connect: Callable[..., AltegioHook]
) -> None:
    mark, before = marker(), ledger.stock()
    ledger.sandbox.faults.add("POST", OPERATION, body="success_false", message="Storage is locked")
    with pytest.raises(AltegioAPIError) as caught:
        connect().create_storage_operation(ledger.receipt(mark), ledger.location)
    assert not isinstance(caught.value, AmbiguousWriteError)
    assert "Storage is locked" in str(caught.value)
    assert len(ledger.posts()) == 1
    assert ledger.documents(mark) == []
    assert ledger.stock() == pytest.approx(before)


def test_create_to_a_closed_port_is_retried_because_it_was_never_sent(
    ledger: Any, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused: the request never left, so retrying a create is safe."""
    import json

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    conn = ledger.sandbox.altegio_connection(max_retries=2, timeout=2, requests_per_second=0)
    conn["host"] = f"http://127.0.0.1:{port}/api/v1"
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_CLOSED", json.dumps(conn))
    with pytest.raises(TransportError) as caught:
        AltegioHook("altegio_closed").create_storage_operation(ledger.receipt(marker()), ledger.location)
    assert not isinstance(caught.value, AmbiguousWriteError)
    assert "ConnectError" in str(caught.value)
    assert len(waits) == 2
