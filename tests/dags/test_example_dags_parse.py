"""Every file in example_dags/ parses in a DagBag: no import errors, no warnings, and no
connection, variable or network access while parsing (the dag processor parses them every
few seconds, so any of that would hit the APIs and the metadata database constantly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
EXPECTED = {
    "altegio_restock",
    "altegio_write_off",
    "altegio_stocktake",
    "altacolor_catalogue_sync",
}


@pytest.fixture(scope="module")
def dagbag(parse_guarded: Any) -> Any:
    return parse_guarded(EXAMPLES)


def test_the_guard_catches_parse_time_access(tmp_path: Path, parse_guarded: Any) -> None:
    """A DAG file that asks its hook for the connection at top level is an import error here."""
    (tmp_path / "careless.py").write_text(
        "from airflow.sdk import dag\n"
        "from airflow_provider_altegio.hooks.altegio import AltegioHook\n"
        "LOCATION = AltegioHook().location_id\n"
        "@dag(schedule=None)\n"
        "def careless():\n"
        "    pass\n"
        "careless()\n"
    )
    bag = parse_guarded(tmp_path)
    assert "parse-time access" in str(bag.import_errors)


def test_every_example_file_imports_cleanly(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED
    parsed_files = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert parsed_files == {path.name for path in EXAMPLES.glob("*.py")}


def test_parsing_raises_no_warnings(dagbag: Any) -> None:
    assert [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in dagbag.caught_warnings
    ] == []


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_is_documented_and_tagged(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert "example" in dag.tags
    assert dag.description
    assert dag.start_date is not None


def test_receipts_and_write_offs_are_mapped_per_storage(dagbag: Any) -> None:
    """One document per storage: the create tasks are dynamically mapped over the grouping task."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    for dag_id, create, grouping in [
        ("altegio_restock", "create_receipt", "plan_receipts"),
        ("altegio_write_off", "create_write_off", "build_write_off_documents"),
        ("altegio_stocktake", "book_stocktake", "build_stocktake_documents"),
    ]:
        task = dagbag.dags[dag_id].get_task(create)
        assert isinstance(task, MappedOperator)
        assert task.operator_class.__name__ == "CreateStorageOperationOperator"
        assert grouping in task.upstream_task_ids


def test_restock_runs_on_schedule_and_when_stock_runs_low(dagbag: Any) -> None:
    """The restock listens to an asset whose watcher's event trigger reports low stock."""
    from airflow_provider_altegio.triggers.products import ProductChangeEventTrigger

    restock = dagbag.dags["altegio_restock"]
    assert type(restock.timetable).__name__ == "AssetOrTimeSchedule"
    asset = restock.timetable.asset_condition
    assert asset.name == "altegio_low_stock"
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, ProductChangeEventTrigger)
    assert watcher.trigger.at_or_below_critical is True
    assert watcher.trigger.conn_id == "altegio_default"


def test_restock_books_nothing_before_a_person_approved_and_confirmed_the_delivery(dagbag: Any) -> None:
    """Every path to a receipt goes through the approval and the delivery confirmation, both
    Airflow human-in-the-loop operators, each asked in rounds one at a time (a new request when
    an answer could not be used); the order is sent only after the approval."""
    from airflow.providers.standard.operators.hitl import HITLOperator
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    restock = dagbag.dags["altegio_restock"]
    for task_id, options in [
        ("approve_purchase_order", ["Approve", "Reject"]),
        ("confirm_delivery", ["Delivered", "Cancelled"]),
    ]:
        form = restock.get_task(task_id)
        assert isinstance(form, MappedOperator)
        assert issubclass(form.operator_class, HITLOperator)
        assert form.partial_kwargs["options"] == options
        assert form.partial_kwargs["max_active_tis_per_dagrun"] == 1
        # Nobody answering is never taken for an answer: no default option, and a time limit.
        assert form.partial_kwargs.get("defaults") is None
        assert form.partial_kwargs["response_timeout"] is not None
    upstream_of_receipt = restock.get_task("create_receipt").get_flat_relative_ids(upstream=True)
    assert {"approve_purchase_order", "confirm_delivery", "send_purchase_order"} <= upstream_of_receipt
    assert "approve_purchase_order" in restock.get_task("send_purchase_order").upstream_task_ids


def test_restock_runs_do_not_wait_for_each_other_but_draft_one_at_a_time(dagbag: Any) -> None:
    """A run waiting for its delivery does not hold back the next one; drafting (which counts
    what the other runs have on order) and the summary (which updates it) run one at a time."""
    restock = dagbag.dags["altegio_restock"]
    assert restock.max_active_runs > 1
    assert restock.get_task("draft_purchase_order").max_active_tis_per_dag == 1
    summary = restock.get_task("summarise_restock")
    assert summary.max_active_tis_per_dag == 1
    assert summary.trigger_rule == "none_failed"  # also after a rejection or a cancellation
