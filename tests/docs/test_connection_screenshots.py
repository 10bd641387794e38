"""The committed connection-form screenshots show the forms the code declares. Pixels are not
compared: each type's manifest (``<type>-form.json``, written by ``make e2e`` beside the
screenshots) holds the labels, help texts and placeholders the browser showed and the
screenshots' hashes. When a test here fails, run ``make screenshots`` and commit the result."""

from __future__ import annotations

import pytest
from connection_forms import SCREENSHOTS, declared_form, read_manifest, sha256

from airflow_provider_altegio.get_provider_info import get_provider_info

CONN_TYPES = [declared["connection-type"] for declared in get_provider_info()["connection-types"]]


@pytest.mark.parametrize("conn_type", CONN_TYPES)
def test_the_screenshots_show_the_form_the_code_declares(conn_type: str) -> None:
    shown = read_manifest(SCREENSHOTS, conn_type)["fields"]
    declared = declared_form(conn_type)
    stale = sorted(name for name in shown.keys() | declared.keys() if shown.get(name) != declared.get(name))
    assert not stale, f"stale screenshots of the {conn_type} form ({stale}): run make screenshots"


@pytest.mark.parametrize("conn_type", CONN_TYPES)
def test_the_manifest_is_of_the_committed_screenshots(conn_type: str) -> None:
    listed = read_manifest(SCREENSHOTS, conn_type)["screenshots"]
    assert {f"{conn_type}-form.png", f"{conn_type}-form-extra.png"} <= listed.keys()
    assert {name: sha256(SCREENSHOTS / name) for name in listed} == listed


def test_every_committed_screenshot_is_in_a_manifest() -> None:
    listed = {
        name for conn_type in CONN_TYPES for name in read_manifest(SCREENSHOTS, conn_type)["screenshots"]
    }
    assert {path.name for path in SCREENSHOTS.glob("*.png")} == listed
