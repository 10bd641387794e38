"""Benchmark 3: import cost of the operators and sensors, and parse time of the example DAGs.

Each sample is a fresh interpreter (``python -c``, so nothing of the benchmark harness is
preloaded). The import figure is what importing the provider's operator and sensor modules adds
after ``import airflow.sdk`` in the same process. The parse figures come from Airflow's own
``DagBag.process_file`` in one fresh process per sample: a warm-up file, an empty DAG file, the
smallest TaskFlow DAG (Airflow's ``@dag``/``@task`` decorators import the standard provider's
PythonOperator on first use, a cost of Airflow that every TaskFlow DAG file pays), then the
example DAG, once with the provider's modules cold and once with them imported beforehand. The
figure is the difference, what the provider adds to parsing the file (target: the same 50 ms
budget as the import cost); the detail shows the example's parse time next to the empty file's.
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
PARSE_REPETITIONS = 3
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
taskflow = parse({taskflow!r})
if {preload!r}:
    for name in {modules!r}:
        __import__(name)
example = parse({example!r})
print(json.dumps({{"empty": empty, "taskflow": taskflow, "example": example}}))
"""

# The smallest TaskFlow DAG: what Airflow's own @dag/@task decorators cost any DAG file using them
# (they import the standard provider's PythonOperator and its dependencies on first use).
_TASKFLOW_DAG = """
from __future__ import annotations

from airflow.sdk import dag, task


@dag(schedule=None)
def bench_taskflow():
    @task
    def noop() -> None:
        pass

    noop()


bench_taskflow()
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
    taskflow = home / "bench_taskflow_dag.py"
    warmup.write_text(_EMPTY_DAG.format(dag_id="bench_warmup"))
    empty.write_text(_EMPTY_DAG.format(dag_id="bench_empty"))
    taskflow.write_text(_TASKFLOW_DAG)
    examples = _example_dags()
    if not examples:
        print("BENCH-NOTE no example DAG files yet in example_dags/", flush=True)
    for example in examples:
        samples: dict[bool, list[dict[str, object]]] = {False: [], True: []}
        for _ in range(PARSE_REPETITIONS):
            for preload in (False, True):  # interleaved: provider modules cold, then preloaded
                code = _PARSE_CHILD.format(
                    warmup=str(warmup),
                    empty=str(empty),
                    taskflow=str(taskflow),
                    example=str(example),
                    preload=preload,
                    modules=PROVIDER_MODULES,
                )
                samples[preload].append(_child(code, env))

        empty_ms, taskflow_ms, cold_ms, warm_ms = (
            _median_ms(samples[preload], key)
            for key, preload in (("empty", False), ("taskflow", False), ("example", False), ("example", True))
        )
        first_file_ms = taskflow_ms - empty_ms + cold_ms
        detail = (
            f"median of {PARSE_REPETITIONS} fresh processes each way, DagBag.process_file: empty DAG "
            f"file {empty_ms:.1f} ms; smallest TaskFlow DAG {taskflow_ms:.1f} ms (Airflow's @dag/@task "
            f"imports, paid by any TaskFlow file); {example.name} {cold_ms:.1f} ms after those "
            f"(about {first_file_ms:.0f} ms as the first file of a process), {warm_ms:.1f} ms with "
            "the provider's modules already imported: the difference is what the provider adds"
        )
        name = f"parse_{example.stem}_provider_share"
        emit(check(name, cold_ms - warm_ms, "ms", "<", IMPORT_BUDGET_MS, detail), results)


def _median_ms(samples: list[dict[str, object]], key: str) -> float:
    return median([float(s[key]) for s in samples]) * 1000  # type: ignore[arg-type]
