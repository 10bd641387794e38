"""Sensor pieces that need no server: resuming from a trigger event."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_altegio.compat import AirflowSensorTimeout
from airflow_provider_altegio.exceptions import AltegioProviderError
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
