"""Benchmark 3: import cost of the operators and sensors, and parse time of the example DAGs.

Each sample is a fresh interpreter (``python -c``, so nothing of the benchmark harness is
preloaded). The import figure is what importing the provider's operator and sensor modules adds
after ``import airflow.sdk`` in the same process; the parse figure is what Airflow's own
``DagBag.process_file`` spends on each example DAG file next to an empty DAG file, both parsed in
the same fresh process after a warm-up parse of another empty file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks._common import REPO_ROOT, Result, check, emit, median

IMPORT_REPETITIONS = 15
PARSE_REPETITIONS = 5
IMPORT_BUDGET_MS = 50.0

PROVIDER_MODULES = (
    "airflow_provider_altegio.operators.products",
    "airflow_provider_altegio.operators.storage",
    "airflow_provider_altegio.sensors.products",
)

_IMPORT_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
before = set(sys.modules)
for name in {modules!r}:
    __import__(name)
t2 = time.perf_counter()
new = sorted(set(sys.modules) - before)
print(json.dumps({{"sdk": t1 - t0, "provider": t2 - t1, "new": new}}))
"""

_PARSE_CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
bag = DagBag(collect_dags=False)
def parse(path):
    start = time.perf_counter()
    found = bag.process_file(path, only_if_updated=False, safe_mode=False)
    elapsed = time.perf_counter() - start
    if not found or bag.import_errors:
        raise SystemExit(f"{{path}}: no DAG parsed: {{bag.import_errors}}")
    return elapsed
parse({warmup!r})
empty = parse({empty!r})
example = parse({example!r})
print(json.dumps({{"empty": empty, "example": example}}))
"""

_EMPTY_DAG = """
from __future__ import annotations

from airflow.sdk import DAG

with DAG("{dag_id}", schedule=None):
    pass
"""


def _child(code: str, env: dict[str, str]) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child failed:\n{completed.stderr[-4000:]}")
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _example_dags() -> list[Path]:
    folder = REPO_ROOT / "example_dags"
    return sorted(
        path
        for path in folder.glob("*.py")
        if not path.name.startswith("_") and ("DAG" in path.read_text() or "@dag" in path.read_text())
    )


def run(results: list[Result]) -> None:
    with tempfile.TemporaryDirectory(prefix="altegio-bench-") as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": home,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
        _import_cost(results, env)
        _parse_times(results, env, Path(home))


def _import_cost(results: list[Result], env: dict[str, str]) -> None:
    code = _IMPORT_CHILD.format(modules=PROVIDER_MODULES)
    _child(code, env)  # warm-up: byte-code compiled, config file written
    samples = [_child(code, env) for _ in range(IMPORT_REPETITIONS)]
    provider_ms = median([float(s["provider"]) for s in samples]) * 1000  # type: ignore[arg-type]
    sdk_ms = median([float(s["sdk"]) for s in samples]) * 1000  # type: ignore[arg-type]
    new = [str(name) for name in samples[-1]["new"]]  # type: ignore[attr-defined]
    foreign = [name for name in new if not name.startswith("airflow_provider_altegio")]
    detail = (
        f"median of {IMPORT_REPETITIONS} fresh interpreters: `import airflow.sdk` {sdk_ms:.0f} ms, then "
        f"the operator and sensor modules {provider_ms:.1f} ms; modules they add: {len(new)} "
        f"({len(new) - len(foreign)} of the provider; others: {', '.join(foreign[:12]) or 'none'})"
    )
    emit(check("import_operators_sensors", provider_ms, "ms", "<", IMPORT_BUDGET_MS, detail), results)


def _parse_times(results: list[Result], env: dict[str, str], home: Path) -> None:
    warmup, empty = home / "bench_warmup_dag.py", home / "bench_empty_dag.py"
    warmup.write_text(_EMPTY_DAG.format(dag_id="bench_warmup"))
    empty.write_text(_EMPTY_DAG.format(dag_id="bench_empty"))
    examples = _example_dags()
    if not examples:
        print("BENCH-NOTE no example DAG files yet in example_dags/", flush=True)
    for example in examples:
        code = _PARSE_CHILD.format(warmup=str(warmup), empty=str(empty), example=str(example))
        samples = [_child(code, env) for _ in range(PARSE_REPETITIONS)]
        empty_ms = median([float(s["empty"]) for s in samples]) * 1000  # type: ignore[arg-type]
        example_ms = median([float(s["example"]) for s in samples]) * 1000  # type: ignore[arg-type]
        detail = (
            f"median of {PARSE_REPETITIONS} fresh processes, DagBag.process_file: {example.name} "
            f"{example_ms:.1f} ms, empty DAG file {empty_ms:.1f} ms"
        )
        emit(
            check(
                f"parse_{example.stem}_over_empty", example_ms - empty_ms, "ms", "<", IMPORT_BUDGET_MS, detail
            ),
            results,
        )
