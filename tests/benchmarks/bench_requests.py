"""Requests per job: every example DAG (the demo's restock and stocktake, then a write-off and a
dry-run catalogue sync) at 60 and at 2,000 products per location, each run's requests per API
next to the fewest its work allows (``scripts/demo.py``'s ``least_requests`` and
``other_examples``). At the platform's limit every request is 0.3 s of the account's minute."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks._common import REPO_ROOT, Result, check, emit

SIZES = (60, 2000)
#: Requests a job may make beyond the fewest its work allows (a probe, a time-zone lookup...).
SLACK = 4


def run(results: list[Result]) -> None:
    for products in SIZES:
        with tempfile.TemporaryDirectory() as scratch:
            figures_path = Path(scratch) / "requests.json"
            subprocess.run(
                [
                    sys.executable,
                    "scripts/demo.py",
                    "--products",
                    str(products),
                    "--requests-json",
                    str(figures_path),
                ],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
                timeout=1200,
            )
            figures = json.loads(figures_path.read_text())
        for job, made in figures["made"].items():
            least = figures["least"][job]
            over = sum(made.values()) - sum(least.values())
            detail = ", ".join(f"{made[api]} {api} (fewest {least[api]})" for api in made)
            emit(
                check(f"requests_{job}_p{products}", over, "requests over the fewest", "<=", SLACK, detail),
                results,
            )
