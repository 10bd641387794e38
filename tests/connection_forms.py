"""The connection forms as the code declares them, and the manifests that record what the
committed screenshots of those forms show.

``make e2e`` reads each form's labels, help texts and placeholders from Airflow's UI in a real
browser, checks them against :func:`declared_form`, and writes them with the screenshots'
hashes to ``build/e2e/<type>-form.json``; ``make screenshots`` copies both into the docs. A unit
test compares the committed manifests with the code, so stale screenshots fail ``make test``
without a browser.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: The labels Airflow's form gives the standard fields that a provider does not relabel.
AIRFLOW_LABELS = {
    "host": "Host",
    "schema": "Schema",
    "login": "Login",
    "password": "Password",
    "port": "Port",
}
#: Where the committed screenshots and their manifests live.
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "images" / "connections"


def declared_form(conn_type: str) -> dict[str, dict[str, str | None]]:
    """Each field of the form that ``get_provider_info`` declares for ``conn_type``, by the
    name of its input (``element_<extra>`` for an extra field): label, help text, placeholder."""
    from airflow_provider_altegio.get_provider_info import get_provider_info

    (declared,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type]
    behaviour = declared["ui-field-behaviour"]
    fields: dict[str, dict[str, str | None]] = {
        name: {
            "label": behaviour["relabeling"].get(name, label),
            "help": None,
            "placeholder": behaviour["placeholders"].get(name),
        }
        for name, label in AIRFLOW_LABELS.items()
        if name not in behaviour["hidden-fields"]
    }
    for name, field in declared["conn-fields"].items():
        fields[f"element_{name}"] = {
            "label": field["label"],
            "help": field["description"],
            "placeholder": None,
        }
    return fields


def manifest_path(directory: Path, conn_type: str) -> Path:
    return directory / f"{conn_type}-form.json"


def write_manifest(directory: Path, conn_type: str, fields: dict[str, Any], screenshots: list[str]) -> Path:
    """Record what the screenshots of ``conn_type``'s form show, and which files they are."""
    path = manifest_path(directory, conn_type)
    manifest = {
        "fields": fields,
        "screenshots": {name: sha256(directory / name) for name in sorted(screenshots)},
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return path


def read_manifest(directory: Path, conn_type: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(manifest_path(directory, conn_type).read_text())
    return manifest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
