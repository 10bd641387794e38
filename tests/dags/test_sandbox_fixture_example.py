"""The sandbox page's "in your own DAG tests" example works as a user would copy it: its
``conftest.py`` and test, with the write-off example DAG in a ``dags/`` folder, run as a project
of their own in a fresh pytest process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "docs" / "examples" / "user_project"

pytestmark = pytest.mark.integration


def test_the_documented_project_passes(tmp_path: Path) -> None:
    for name in ("conftest.py", "test_write_off.py"):
        shutil.copy(PROJECT / name, tmp_path / name)
    (tmp_path / "dags").mkdir()
    shutil.copy(REPO / "example_dags" / "altegio_write_off.py", tmp_path / "dags")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
