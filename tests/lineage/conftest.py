"""OpenLineage as a deployment runs it: Airflow's OpenLineage listener, configured with the
``file`` transport, emits every task's events while ``dag.test()`` runs a DAG; tests read the
events back from the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class Events(list[dict[str, Any]]):
    """The OpenLineage events one test emitted, in order, read back from the transport's file."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def read(self) -> Events:
        self[:] = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return self

    def of(self, task_id: str, event_type: str) -> list[dict[str, Any]]:
        """The events of one type (``START``, ``COMPLETE``...) of one task, by map index (only
        the start event names it; the others share its run id)."""
        task = [event for event in self if event["job"]["name"].endswith(f".{task_id}")]
        map_index = {
            event["run"]["runId"]: event["run"]["facets"].get("airflow_mappedTask", {}).get("mapIndex", -1)
            for event in task
            if event["eventType"] == "START"
        }
        found = [event for event in task if event["eventType"] == event_type]
        return sorted(found, key=lambda event: map_index[event["run"]["runId"]])


@pytest.fixture
def lineage_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Events]:
    """Airflow's own OpenLineage listener, writing to a file, registered for one test.

    Airflow loads plugin listeners once per process, so whether the OpenLineage plugin brought
    one depends on which test ran first (it brings none without a transport). Whatever it
    brought is replaced by one fresh listener, whose client reads this test's transport, and
    every OpenLineage listener is removed afterwards.
    """
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener

    from airflow_provider_altegio.compat import AIRFLOW_V_3_2_PLUS

    if AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.listener import get_listener_manager
    else:  # Airflow 3.1
        from airflow.listeners.listener import get_listener_manager

    events = Events(tmp_path / "openlineage.jsonl")
    transport = {"type": "file", "log_file_path": str(events.path), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "salon-chain")
    manager = get_listener_manager()

    def remove_listeners() -> None:
        for plugin in manager.pm.get_plugins():
            if isinstance(plugin, OpenLineageListener):
                manager.pm.unregister(plugin)

    remove_listeners()
    manager.add_listener(OpenLineageListener())
    try:
        yield events
    finally:
        remove_listeners()
