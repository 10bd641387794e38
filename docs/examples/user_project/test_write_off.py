"""A test of the write-off example DAG (dags/altegio_write_off.py) against the
sandbox."""

from __future__ import annotations

from typing import Any


def test_write_off_moves_stock(altegio_sandbox: Any) -> None:
    from airflow.settings import DAGS_FOLDER

    from airflow_provider_altegio.compat import DagBag
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    location, storage = (
        altegio_sandbox.location_id,
        3101,
    )  # the sandbox's first retail shelf
    # altegio_default points at the sandbox during the test.
    with AltegioHook() as hook:
        product = next(
            p
            for p in hook.iter_products(location)
            if p.amount_in(storage) >= 2
        )

    dag = DagBag(dag_folder=DAGS_FOLDER).dags["altegio_write_off"]
    lines = [{"barcode": product.barcode, "amount": 2, "reason": "broken"}]
    dag_run = dag.test(run_conf={"location_id": location, "lines": lines})

    assert dag_run.state == "success"
    (document,) = altegio_sandbox.state()[
        "documents"
    ]  # documents created since the reset
    assert document["comment"].startswith("Damage write-off: broken")
    assert (
        altegio_sandbox.stock(location, product.good_id, storage)
        == product.amount_in(storage) - 2
    )
