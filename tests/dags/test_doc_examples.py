"""The DAGs shown in the documentation (docs/examples/) parse cleanly and run to success against
the sandbox, so the examples on the pages cannot rot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DOC_EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
FILES = sorted(path.name for path in DOC_EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def doc_dagbag(parse_guarded: Any) -> Any:
    return parse_guarded(DOC_EXAMPLES)


def test_doc_examples_parse_cleanly(doc_dagbag: Any) -> None:
    assert doc_dagbag.import_errors == {}
    assert sorted(Path(dag.fileloc).name for dag in doc_dagbag.dags.values()) == FILES
    assert [str(w.message) for w in doc_dagbag.caught_warnings] == []


def _change_a_shampoo(sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    with AltegioHook() as hook:
        product = next(iter(hook.iter_products(1001, category_id=111)))
        hook.update_product(product.good_id, {"cost": 19.5}, 1001)


def _change_a_supplier_product(sandbox: Any) -> None:
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook

    with AltacolorHook() as hook:
        (product,) = hook.search_products(
            [{"field": "supplier", "condition": "==", "value": "Lumina Pro"}], limit=1
        ).products
    sandbox.change_supplier_product(product.product_id, price=12.5)


#: What must be true in the sandbox before an example can succeed (sensors need a change).
SETUP: dict[str, Callable[[Any], None]] = {
    "wait_for_product_change.py": _change_a_shampoo,
    "altacolor_wait_for_product_change.py": _change_a_supplier_product,
}


@pytest.mark.integration
@pytest.mark.parametrize("filename", FILES)
def test_doc_example_runs_against_the_sandbox(
    filename: str, doc_dagbag: Any, altegio_sandbox: Any, run_dag: Any
) -> None:
    SETUP.get(filename, lambda sandbox: None)(altegio_sandbox)
    (dag,) = [dag for dag in doc_dagbag.dags.values() if Path(dag.fileloc).name == filename]
    dag_run = run_dag(dag)
    states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    assert set(states.values()) == {"success"}, states
