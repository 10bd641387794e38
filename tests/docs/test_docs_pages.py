"""The documentation pages say what the code does: templated fields listed on each operator and
sensor page match the class, every class has its page, and the README keeps its two commands
at the top."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted((DOCS / "operators").glob("*.md")) + sorted((DOCS / "sensors").glob("*.md"))


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no '## {title}' section"
    return match.group(1)


def _documented_class(text: str) -> type:
    dotted = re.search(r"^::: (airflow_provider_altegio\.[\w.]+)$", text, flags=re.M).group(1)
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_templated_fields_match_the_class(page: Path) -> None:
    text = page.read_text()
    cls = _documented_class(text)
    listed = re.findall(r"`(\w+)`", _section(text, "Templated fields").strip().split("\n\n")[0])
    assert listed == list(cls.template_fields)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_has_a_tested_example_and_the_sections_users_look_for(page: Path) -> None:
    text = page.read_text()
    for title in ("Example", "Templated fields", "XCom", "Errors"):
        _section(text, title)
    (example,) = re.findall(r'--8<-- "(docs/examples/[\w.]+)"', text)
    assert (ROOT / example).is_file()


def test_every_operator_and_sensor_has_a_page() -> None:
    from airflow_provider_altegio.operators import products, storage
    from airflow_provider_altegio.sensors import products as sensors

    documented = {_documented_class(page.read_text()).__name__ for page in PAGES}
    public = {name for module in (products, storage, sensors) for name in module.__all__}
    assert documented == public - {"ProductChangeSensorBase"}


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:8])
    assert "make demo" in head
    assert "make test" in head
