"""Sensor pieces that need no server: resuming from a trigger event, progress lines."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_altegio.compat import AirflowSensorTimeout
from airflow_provider_altegio.exceptions import AltegioProviderError
from airflow_provider_altegio.operators._common import Progress
from airflow_provider_altegio.sensors.products import (
    AltacolorWaitForProductChangeSensor,
    WaitForProductChangeSensor,
)


@pytest.mark.parametrize("sensor_class", [WaitForProductChangeSensor, AltacolorWaitForProductChangeSensor])
def test_execute_complete(sensor_class: Any) -> None:
    sensor = sensor_class(task_id="wait")
    event = {"status": "success", "product_ids": [1, 2], "count": 2, "polls": 3}
    assert sensor.execute_complete({}, event) == {"product_ids": [1, 2], "count": 2}
    with pytest.raises(AirflowSensorTimeout, match="No matching product changed"):
        sensor.execute_complete({}, {"status": "timeout", "message": "No matching product changed before X"})
    error = {
        "status": "error",
        "error_type": "AltegioNotFoundError",
        "message": "GET http://sandbox/api/v1/goods/9: HTTP 404: Location not found",
    }
    with pytest.raises(AltegioProviderError, match=r"AltegioNotFoundError .*HTTP 404: Location not found"):
        sensor.execute_complete({}, error)


def test_sensor_defaults() -> None:
    sensor = WaitForProductChangeSensor(task_id="wait", deferrable=True)
    assert sensor.deferrable is True
    assert set(sensor.template_fields) == {
        "location_id",
        "changed_after",
        "product_ids",
        "category_id",
        "term",
    }
    assert set(AltacolorWaitForProductChangeSensor.template_fields) == {
        "changed_after",
        "product_ids",
        "conditions",
    }


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def test_progress_reports_pages_items_and_time() -> None:
    log = _Log()
    progress = Progress(log, "Altegio products", page_size=100, interval=0.0)
    assert sum(1 for _ in progress.track(range(250))) == 250
    progress.done()
    assert log.lines[-1].startswith("Read Altegio products: 3 pages, 250 items in ")
    assert any(line.startswith("Reading Altegio products: ") for line in log.lines)


def test_progress_is_quiet_between_intervals() -> None:
    log = _Log()
    progress = Progress(log, "Altacolor products", page_size=100, interval=3600)
    list(progress.track(range(1000)))
    progress.done()
    assert len(log.lines) == 1
    assert log.lines[0].startswith("Read Altacolor products: 10 pages, 1000 items in ")


def test_a_trigger_error_no_retry_can_fix_fails_the_task_at_once() -> None:
    from airflow_provider_altegio.compat import AirflowFailException
    from airflow_provider_altegio.exceptions import AltegioNotFoundError, TransportError

    sensor = WaitForProductChangeSensor(task_id="wait")
    not_found = {
        "status": "error",
        "error_type": "AltegioNotFoundError",
        "message": "HTTP 404: Location not found",
    }
    with pytest.raises(AltegioNotFoundError) as raised:
        sensor.execute_complete({}, not_found)
    assert isinstance(raised.value, AirflowFailException)
    network = {"status": "error", "error_type": "TransportError", "message": "ConnectError: refused"}
    with pytest.raises(TransportError) as raised_again:
        sensor.execute_complete({}, network)
    assert not isinstance(raised_again.value, AirflowFailException)  # worth a retry
