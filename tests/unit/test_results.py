"""The list reads' XCom: items streamed with progress lines, into the XCom or a file."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_altegio import results


class _Item:
    def __init__(self, number: int) -> None:
        self.number = number

    def to_json_dict(self) -> dict[str, Any]:
        return {"n": self.number}


class _Lines(logging.Handler):
    """The progress lines, caught at the module's logger (Airflow may reset the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def progress() -> Any:
    logger = logging.getLogger(results.__name__)
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_progress_reports_pages_items_and_time(progress: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "PROGRESS_INTERVAL", 0.0)
    read = results.deliver(map(_Item, range(250)), "Altegio products", 100)
    assert read == {"count": 250, "items": [{"n": n} for n in range(250)], "path": None}
    assert progress.lines[-1].startswith("Read Altegio products: 3 pages, 250 items in ")
    assert any(line.startswith("Reading Altegio products: ") for line in progress.lines)


def test_progress_is_quiet_between_intervals(progress: Any, tmp_path: Any) -> None:
    read = results.deliver(map(_Item, range(1000)), "Altacolor products", 100, str(tmp_path / "p.jsonl"))
    assert read == {"count": 1000, "items": None, "path": f"file://{tmp_path / 'p.jsonl'}"}
    assert [item["n"] for item in results.read_items(read)] == list(range(1000))
    (line,) = progress.lines
    assert line.startswith("Read Altacolor products: 10 pages, 1000 items in ")
