"""How to test your own DAG against the sandbox; the part between the markers is shown on the
documentation's sandbox page.

The ``altegio_sandbox`` fixture comes with the provider (a pytest plugin): a sandbox started
once per session and reset before each test, with ``altegio_default`` and ``altacolor_default``
pointing at it. ``dag.test()`` runs DAGs from the configured dags folder; a user's project sets
``AIRFLOW__CORE__DAGS_FOLDER`` before Airflow is imported, this suite points it at
``example_dags/`` for the one test below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture
def airflow_with_example_dags(airflow_db, monkeypatch):
    from airflow import settings

    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(DAGS))


# --8<-- [start:user-test]
@pytest.mark.integration
def test_write_off_moves_stock(altegio_sandbox, airflow_with_example_dags):
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_altegio.hooks.altegio import AltegioHook

    location, storage = altegio_sandbox.location_id, 3101  # the sandbox's first retail shelf
    with AltegioHook() as hook:
        product = next(p for p in hook.iter_products(location) if p.amount_in(storage) >= 2)

    dag = DagBag(dag_folder=str(DAGS / "altegio_write_off.py")).dags["altegio_write_off"]
    lines = [{"barcode": product.barcode, "amount": 2, "reason": "broken"}]
    dag_run = dag.test(run_conf={"location_id": location, "lines": lines})

    assert dag_run.state == "success"
    (document,) = altegio_sandbox.state()["documents"]  # documents created since the reset
    assert document["comment"].startswith("Stocktake write-off: broken")
    assert altegio_sandbox.stock(location, product.good_id, storage) == product.amount_in(storage) - 2


# --8<-- [end:user-test]
