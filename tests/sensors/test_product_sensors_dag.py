"""Product-change sensors inside real DAGs (``dag.test()``) against the sandbox, in poke,
reschedule and deferrable mode (``dag.test()`` runs the trigger in line)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_altegio.sensors.products import (
    AltacolorWaitForProductChangeSensor,
    WaitForProductChangeSensor,
)

pytestmark = pytest.mark.integration

PAST = "2000-01-01T00:00:00+00:00"


def _ti(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti


@pytest.fixture
def product(altegio_sandbox: Any) -> dict[str, Any]:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    hook = AltegioHook()
    location_id = altegio_sandbox.location_ids[0]
    first = next(iter(hook.iter_products(location_id, page_size=5)))
    return {"hook": hook, "location_id": location_id, "good_id": first.good_id}


@pytest.fixture
def later() -> Iterator[Callable[[float, Callable[[], Any]], None]]:
    """Run a change on a timer thread while the DAG waits (joined at the end of the test)."""
    timers: list[threading.Timer] = []

    def schedule(delay: float, action: Callable[[], Any]) -> None:
        timer = threading.Timer(delay, action)
        timer.start()
        timers.append(timer)

    yield schedule
    for timer in timers:
        timer.join()


def _wait_for(
    product: dict[str, Any], task_id: str, sensor: type[Any] = WaitForProductChangeSensor, **kwargs: Any
) -> Any:
    """A sensor (in the current DAG) waiting for a change of the ``product`` fixture's product."""
    kwargs.setdefault("product_ids", [product["good_id"]])
    return sensor(task_id=task_id, location_id=product["location_id"], **kwargs)


def _touch(product: dict[str, Any], comment: str) -> Callable[[], Any]:
    return lambda: product["hook"].update_product(
        product["good_id"], {"comment": comment}, product["location_id"]
    )


def test_poke_mode_returns_changed_products(product: dict[str, Any], run_dag: Any, xcom: Any) -> None:
    with DAG("sensor_poke", schedule=None) as dag:
        _wait_for(product, "wait", changed_after=PAST, poke_interval=1, mode="poke", deferrable=False)
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    changed = xcom(dag_run, "wait")
    assert changed == {"product_ids": [product["good_id"]], "count": 1}  # ids, not whole records


def test_reschedule_mode_waits_for_a_change(
    product: dict[str, Any], run_dag: Any, xcom: Any, later: Any
) -> None:
    later(2.0, _touch(product, "rescheduled"))
    with DAG("sensor_reschedule", schedule=None) as dag:
        _wait_for(
            product,
            "wait",
            product_ids=str(product["good_id"]),
            poke_interval=1,
            timeout=120,
            mode="reschedule",
            deferrable=False,
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "wait") == {"product_ids": [product["good_id"]], "count": 1}
    assert product["hook"].get_product(product["good_id"], product["location_id"]).comment == "rescheduled"


def test_deferrable_waits_in_the_trigger(
    product: dict[str, Any],
    run_dag: Any,
    xcom: Any,
    later: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    class ChangeOnceDeferred(WaitForProductChangeSensor):
        """Makes the change only once the sensor decided to defer, so the trigger must see it."""

        def trigger(self, query: Any, checked_at: str, deadline: str) -> Any:
            later(2.0, _touch(product, "deferred"))
            return super().trigger(query, checked_at, deadline)

    caplog.set_level("INFO")
    with DAG("sensor_deferrable", schedule=None) as dag:
        _wait_for(
            product, "wait_for_change", ChangeOnceDeferred, poke_interval=1, timeout=120, deferrable=True
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "wait_for_change") == {"product_ids": [product["good_id"]], "count": 1}
    assert product["hook"].get_product(product["good_id"], product["location_id"]).comment == "deferred"
    output = capfd.readouterr()
    log = "\n".join([output.out, output.err, caplog.text])
    assert "running trigger in line" in log
    assert "Deferring: polling every 1s" in log
    assert "changed (after" in log  # execute_complete ran


def test_deferrable_times_out(product: dict[str, Any], run_dag: Any) -> None:
    with DAG("sensor_deferrable_timeout", schedule=None) as dag:
        for task_id, soft_fail in (("wait", False), ("wait_soft", True)):
            _wait_for(product, task_id, poke_interval=0.5, timeout=2, soft_fail=soft_fail, deferrable=True)
    dag_run = run_dag(dag)
    assert _ti(dag_run, "wait").state == "failed"
    assert _ti(dag_run, "wait_soft").state == "skipped"


def test_the_deadline_is_the_triggers_alone(product: dict[str, Any]) -> None:
    """One deadline: the trigger's (Airflow gets no second one through ``defer(timeout=...)``)."""
    from airflow_provider_altegio.compat import TaskDeferred

    future = "2999-01-01T00:00:00+00:00"
    sensor = _wait_for(product, "wait", changed_after=future, poke_interval=0.5, timeout=7, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert deferred.value.timeout is None
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["changed_after"] == future
    left = datetime.fromisoformat(kwargs["deadline"]) - datetime.now(tz=timezone.utc)
    assert timedelta(seconds=0) < left <= timedelta(seconds=7)


def test_invalid_input_fails_before_any_request(
    product: dict[str, Any], run_dag: Any, altegio_sandbox: Any
) -> None:
    with DAG("sensor_invalid", schedule=None) as dag:
        _wait_for(product, "bad_date", product_ids=None, changed_after="not a date", deferrable=True)
        _wait_for(product, "bad_ids", product_ids="1,x")
    dag_run = run_dag(dag)
    assert _ti(dag_run, "bad_date").state == "failed"
    assert _ti(dag_run, "bad_ids").state == "failed"


def test_altacolor_sensor_poke_and_deferrable(
    altegio_sandbox: Any, run_dag: Any, xcom: Any, later: Any
) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    supplier_product = next(
        itertools.islice(AltacolorHook().iter_products([{"field": 4, "condition": 4, "string": "0"}]), 1)
    )
    product_id = supplier_product.product_id
    later(2.5, lambda: altegio_sandbox.change_supplier_product(product_id, product_name="Renamed"))
    with DAG("altacolor_sensor", schedule=None) as dag:
        AltacolorWaitForProductChangeSensor(
            task_id="any_change_since_2000",
            changed_after=PAST,
            conditions={"field": "product_id", "condition": "==", "value": product_id},
            mode="poke",
            deferrable=False,
        )
        AltacolorWaitForProductChangeSensor(
            task_id="wait_deferred",
            product_ids=[product_id],
            poke_interval=1,
            timeout=120,
            deferrable=True,
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "any_change_since_2000") == {"product_ids": [product_id], "count": 1}
    assert xcom(dag_run, "wait_deferred") == {"product_ids": [product_id], "count": 1}
    assert AltacolorHook().get_product(product_id).product_name == "Renamed"
