"""The inputs the example DAGs document (their docstrings, shown in Airflow's UI, and their docs
pages) name products that exist in the default sandbox, and each one runs to success."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "altegio_write_off": ("altegio_write_off.py", "write-off.md"),
    "altegio_stocktake": ("altegio_stocktake.py", "stocktake.md"),
}
#: The param that takes the lines typed in the trigger form.
TYPED = {"altegio_write_off": "lines", "altegio_stocktake": "counts"}


def kind(block: str) -> str:
    """``csv`` (a file with a header row), ``json`` (a run's conf) or ``typed`` (lines as typed
    in the trigger form: a code, then a number)."""
    if block.startswith("code,"):
        return "csv"
    return "json" if block.startswith("{") else "typed"


def _docstring_blocks(text: str) -> list[str]:
    """The literal blocks of a reStructuredText docstring (after a line ending in ``::``);
    a blank line inside one splits it, as the examples put a JSON object and its CSV apart."""
    blocks, current, inside = [], [], False
    for line in [*text.splitlines(), ""]:
        if line.rstrip().endswith("::"):
            inside = True
            continue
        if inside and line.startswith("    "):
            current.append(line[4:])
            continue
        if current:
            blocks.append("\n".join(current))
            current = []
        if line.strip() and not line.startswith("    "):
            inside = False
    return blocks


def _markdown_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```(?:json|text)\n(.*?)```", text, flags=re.S)]


def documented_inputs() -> list[tuple[str, str, str]]:
    """``(dag_id, where, block)`` for every JSON or CSV input an example documents."""
    from airflow_provider_altegio.compat import DagBag

    found = []
    for dag_id, (filename, page) in EXAMPLES.items():
        dag = DagBag(dag_folder=str(ROOT / "example_dags" / filename)).dags[dag_id]
        sources = {
            filename: _docstring_blocks(dag.doc_md),
            page: _markdown_blocks((ROOT / "docs" / "example-dags" / page).read_text()),
        }
        for where, blocks in sources.items():
            for block in blocks:
                typed = bool(re.match(r"^\S+, *[0-9]", block))
                if block.startswith("code,") or typed or (block.startswith("{") and "csv_path" not in block):
                    found.append((dag_id, where, block))
    return found


INPUTS = documented_inputs()


def test_every_example_documents_typed_json_and_csv_input() -> None:
    kinds = {(dag_id, where, kind(block)) for dag_id, where, block in INPUTS}
    for dag_id, (filename, page) in EXAMPLES.items():
        for where in (filename, page):
            assert {(dag_id, where, k) for k in ("typed", "json", "csv")} <= kinds, (dag_id, where)


@pytest.mark.parametrize(
    ("dag_id", "where", "block"),
    # The stocktake asks for approval (human in the loop).
    [pytest.param(*i, marks=[pytest.mark.hitl] if i[0] == "altegio_stocktake" else []) for i in INPUTS],
    ids=[f"{where}-{kind(block)}" for _, where, block in INPUTS],
)
def test_documented_input_runs_against_the_default_sandbox(
    dag_id: str, where: str, block: str, altegio_sandbox: Any, run_dag: Any, airflow_api: Any, tmp_path: Path
) -> None:
    from airflow_provider_altegio.compat import DagBag
    from airflow_provider_altegio.sandbox.airflow_api import answering

    if kind(block) == "csv":
        sheet = tmp_path / "sheet.csv"
        sheet.write_text(block + "\n")
        conf: dict[str, Any] = {"location_id": 1001, "csv_path": str(sheet)}
    elif kind(block) == "typed":
        conf = {"location_id": 1001, TYPED[dag_id]: block}
    else:
        conf = json.loads(block)
    dag = DagBag(dag_folder=str(ROOT / "example_dags" / EXAMPLES[dag_id][0])).dags[dag_id]
    with answering(airflow_api, lambda api, request: (["Approve"], {})):
        dag_run = run_dag(dag, run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    assert altegio_sandbox.state()["documents"], "the documented input booked something"
