"""The documentation pages say what the code does: templated fields listed on each operator and
sensor page match the class, every class has its page, the README keeps its two commands at the
top and shows the tested first DAG, and code on the pages fits the theme's width."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted((DOCS / "operators").glob("*.md")) + sorted((DOCS / "sensors").glob("*.md"))
ALL_PAGES = sorted(DOCS.rglob("*.md"))
#: Columns of code the theme shows without wrapping: measured in Chromium at 1280 px and wider,
#: an 80th character reaches the edge of the code block.
CODE_COLUMNS = 79
#: What may be wider, and wraps (docs/assets/stylesheets/code.css) instead of scrolling sideways:
#: program output as printed (``text`` blocks), and whole files included at the package's own
#: line length.
OUTPUT = "text"
WRAPPED_INCLUDES = ("example_dags/",)
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w-]*)")
SNIPPET = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<start>\d*))?(?::(?P<end>\d*))?"$')


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


def _code_blocks(page: Path) -> list[list[str]]:
    """The lines of each fenced code block on ``page`` but program output, as the reader sees
    them: the fence's indentation removed, snippets (``--8<-- "path"``) replaced by what they
    include."""
    blocks: list[list[str]] = []
    lines = iter(page.read_text().splitlines())
    for line in lines:
        fence = FENCE.match(line)
        if not fence:
            continue
        block: list[str] = []
        for inner in lines:
            if inner.strip() == fence.group("fence"):
                break
            block.extend(_included(inner[len(fence.group("indent")) :]))
        if fence.group("lang") != OUTPUT:
            blocks.append(block)
    return blocks


def _included(line: str) -> list[str]:
    snippet = SNIPPET.match(line.strip())
    if not snippet:
        return [line]
    if snippet.group("path").startswith(WRAPPED_INCLUDES):
        return []
    included = (ROOT / snippet.group("path")).read_text().splitlines()
    start, end = int(snippet.group("start") or 1), int(snippet.group("end") or len(included))
    return included[start - 1 : end]


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_code_blocks_fit_the_page(page: Path) -> None:
    too_wide = [line for block in _code_blocks(page) for line in block if len(line) > CODE_COLUMNS]
    assert not too_wide, "\n".join(too_wide)


def test_the_code_fence_reader_sees_blocks_and_snippets() -> None:
    blocks = _code_blocks(DOCS / "getting-started.md")
    assert ["pip install airflow-provider-altegio"] in blocks
    assert (DOCS / "examples" / "first_dag.py").read_text().splitlines() in blocks


def test_readme_shows_the_tested_first_dag() -> None:
    """The README's first DAG is docs/examples/first_dag.py, which the suite runs."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first DAG", 1)[1]
    shown = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert shown
    assert shown.group(1) == (DOCS / "examples" / "first_dag.py").read_text()
