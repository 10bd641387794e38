"""The package's metadata kept as the official providers keep theirs: one source of the version, a
changelog entry per release, Python versions and the httpx bound declared consistently, and a
Makefile whose help lists every target."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from importlib.metadata import metadata, version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import airflow_provider_altegio
from airflow_provider_altegio.get_provider_info import get_provider_info

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "airflow-provider-altegio"
CHANGELOG = (REPO / "CHANGELOG.md").read_text()
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pin(name: str) -> Version:
    """The version constraints.txt pins ``name`` to: what `make install` and CI install."""
    pins = dict(
        line.split("==", 1) for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line
    )
    return Version(pins[name])


def test_the_version_has_one_source(pyproject: dict[str, Any]) -> None:
    """hatch reads ``__version__``; Airflow reads the installed distribution's version."""
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "airflow_provider_altegio/__init__.py"
    assert "versions" not in get_provider_info()  # obsolete: Airflow takes the distribution's
    assert version(PACKAGE) == airflow_provider_altegio.__version__


def test_the_changelog_keeps_a_dated_entry_per_release() -> None:
    headings = re.findall(r"^## (.*)$", CHANGELOG, flags=re.M)
    assert headings[0] == "[Unreleased]"
    releases = [re.fullmatch(r"\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})", h) for h in headings[1:]]
    assert all(releases), headings
    versions = [Version(m.group(1)) for m in releases if m]
    dates = [date.fromisoformat(m.group(2)) for m in releases if m]
    assert str(versions[0]) == airflow_provider_altegio.__version__  # the version being released
    assert versions == sorted(versions, reverse=True)
    assert dates == sorted(dates, reverse=True)
    assert set(re.findall(r"^### (.*)$", CHANGELOG, flags=re.M)) <= SECTIONS
    linked = re.findall(r"^\[([^\]]+)\]: https://\S+$", CHANGELOG, flags=re.M)
    assert linked == ["Unreleased", *map(str, versions)]


def test_python_classifiers_agree_with_requires_python_and_airflow(pyproject: dict[str, Any]) -> None:
    """From the floor that requires-python declares to the newest Python the pinned Airflow
    declares; ruff and mypy check the code against the floor."""
    project = pyproject["project"]
    floor = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert floor, project["requires-python"]
    prefix = "Programming Language :: Python :: 3."
    declared = [int(c.removeprefix(prefix)) for c in project["classifiers"] if c.startswith(prefix)]
    airflow = [
        int(c.removeprefix(prefix))
        for c in metadata("apache-airflow-core").get_all("Classifier") or []
        if c.startswith(prefix)
    ]
    assert declared == list(range(int(floor.group(1)), max(airflow) + 1))
    assert sys.version_info[1] in declared  # the interpreter running this suite (CI: 3.11)
    assert pyproject["tool"]["ruff"]["target-version"] == f"py3{floor.group(1)}"
    assert pyproject["tool"]["mypy"]["python_version"] == f"3.{floor.group(1)}"
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # License-Expression


def test_httpx_is_bounded_below_its_next_minor_and_tested_at_the_bound(pyproject: dict[str, Any]) -> None:
    """httpx is pre-1.0: a minor release may break the HTTP core. The pin that the suite runs on
    is the newest minor the bound admits, so the bound is what is tested."""
    (httpx,) = [Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("httpx")]
    pinned = _pin("httpx")
    assert version("httpx") == str(pinned)
    next_minor = Version(f"{pinned.major}.{pinned.minor + 1}.0")
    assert httpx.specifier.contains(pinned)
    assert not httpx.specifier.contains(next_minor)
    assert not httpx.specifier.contains(f"{next_minor}rc1", prereleases=True)
    assert SpecifierSet(f"<{next_minor}") in [SpecifierSet(str(s)) for s in httpx.specifier]


def test_dev_tools_are_dependency_groups_not_extras(pyproject: dict[str, Any]) -> None:
    # Extras are what users install; the tools of contributors are groups.
    assert set(pyproject["project"]["optional-dependencies"]) == {
        "sandbox",
        "redis",
        "openlineage",
        "examples",
    }
    assert {"dev", "e2e"} <= set(pyproject["dependency-groups"])


def test_make_help_lists_every_target() -> None:
    makefile = (REPO / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)$", makefile, flags=re.M | re.S)
    assert phony
    targets = phony.group(1).replace("\\\n", " ").split()
    shown = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    listed = re.findall(r"^make (\S+) ", shown, flags=re.M)
    assert sorted(listed) == sorted(targets)
    assert {"lint", "format", "typecheck", "unit", "clean", "bench", "e2e", "test-compat"} <= set(listed)
