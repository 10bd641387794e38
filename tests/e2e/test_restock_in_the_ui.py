"""The restock's approval and delivery forms in Airflow's UI, as a store manager fills them.

The session's api-server, with one user, ``store_manager`` (the browser carries their token);
a restock run started as ``airflow dags test`` on the same metadata database, against the
sandbox; the manager answers in headless Chromium from *Required actions*. A bad answer is
refused with a message the manager sees: an emptied quantity before it can be sent, a fraction
of a bottle by asking again with the problem at the top; the good answer goes on, and receipts
are booked only once the delivery is confirmed. Screenshots of each step go to
build/e2e/restock/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
RECEIPT = 3


@pytest.fixture
def restock_run(
    airflow_api: Any, altegio_sandbox: Any, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``airflow dags test altegio_restock`` for the first location, on the api-server's metadata
    database, running until the forms are answered; and the file its output goes to."""
    conf = {"location_ids": altegio_sandbox.location_ids[:1], "work_dir": tmp_path.as_uri()}
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags")}
    airflow = Path(sys.executable).with_name("airflow")
    output = tmp_path / "restock.log"
    with output.open("w") as log:
        run = subprocess.Popen(
            [airflow, "dags", "test", "altegio_restock", "-c", json.dumps(conf)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield run, output
        finally:
            run.kill()  # a run the test left waiting for an answer
            run.wait()


def sign_in(page: Any, api: Any) -> None:
    """The browser as ``store_manager``: their token in the cookie Airflow's UI reads."""
    token = api.client.headers["Authorization"].removeprefix("Bearer ")
    host = urlsplit(api.url).hostname
    page.context.add_cookies([{"name": "_token", "value": token, "domain": host, "path": "/"}])


def open_request(page: Any, url: str, subject: str, timeout: float = 240) -> None:
    """Open the pending required action whose subject contains ``subject``, waiting for it."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(f"{url}/required_actions")
        row = page.get_by_role("row").filter(has_text=subject).filter(has_text="Required")
        try:
            row.first.wait_for(timeout=5_000)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
    row.first.get_by_role("link", name=subject).click()
    page.locator("input[name^=element_line_]").first.wait_for()


def replace_json(page: Any, field: str, text: str) -> None:
    """Put ``text`` in a JSON editor field instead of what is there, as a person pastes it
    (typed key by key, the editor would close each bracket and quote itself)."""
    editor = page.locator(f"#element_{field} .view-lines")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text(text)
    shown = editor.inner_text().replace("\u00a0", " ")
    assert json.loads(shown) == json.loads(text), shown


def field_row(page: Any, name: str) -> Any:
    """The form row (label, input, help, error) of field ``name``."""
    named = page.locator(f"[name=element_{name}], #element_{name}")
    return page.locator("[data-scope=field][data-part=root]").filter(has=named)


def number(page: Any, name: str) -> Any:
    """The input of number field ``name``."""
    return page.locator(f"input[name=element_{name}]")


def receipts(sandbox: Any) -> list[dict[str, Any]]:
    return [d for d in sandbox.state()["documents"] if d["type_id"] == RECEIPT]


def test_a_store_manager_approves_and_confirms_the_delivery_in_the_ui(
    page: Any, airflow_api: Any, altegio_sandbox: Any, restock_run: Any, shots: Path
) -> None:
    shots = shots / "restock"
    shots.mkdir(exist_ok=True)
    url, sandbox, (run, output) = airflow_api.url, altegio_sandbox, restock_run
    sign_in(page, airflow_api)

    # The approval: one number field per line, labelled with its product.
    open_request(page, url, "Approve purchase order")
    run_id = page.url.split("/runs/")[1].split("/")[0]
    first = field_row(page, "line_1")
    label = first.locator("[data-part=label]").first.inner_text()
    assert label.startswith("1. "), label
    drafted = number(page, "line_1").input_value()
    assert drafted.isdigit()
    page.screenshot(path=str(shots / "1-approval.png"))

    # An emptied quantity is refused before it can be sent: the field says why, and neither
    # button can be pressed.
    number(page, "line_1").fill("")
    number(page, "line_2").click()
    assert first.get_by_text("This field is required").is_visible()
    assert page.get_by_role("button", name="Approve").is_disabled()
    first.screenshot(path=str(shots / "2-approval-quantity-required.png"))

    # Half a bottle passes the browser; the answer is not lost: the same approval is asked
    # again as a new request, the problem at its top.
    number(page, "line_1").fill("10.5")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("response successful").wait_for()
    open_request(page, url, "(asked again)")
    warning = page.get_by_text("Your last answer was not accepted")
    assert warning.is_visible()
    assert page.get_by_text("must be a whole number, got 10.5").is_visible()
    assert number(page, "line_1").input_value() == drafted  # 10.5 is not kept
    page.screenshot(path=str(shots / "3-approval-asked-again.png"))
    number(page, "line_1").fill("7")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("response successful").wait_for()

    # Sent, not delivered: nothing is booked while the delivery is awaited.
    open_request(page, url, "Confirm the delivery")
    assert receipts(sandbox) == []
    # Optional fields are optional: both buttons work without a delivery note.
    assert field_row(page, "line_1").locator("label[data-required]").count() == 1
    for optional in ("delivery_note", "extra_items"):
        assert field_row(page, optional).locator("label[data-required]").count() == 0, optional
    assert page.get_by_role("button", name="Delivered").is_enabled()
    assert page.get_by_role("button", name="Cancelled").is_enabled()
    page.get_by_role("button", name="Delivered").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "4-delivery.png"))

    # "Delivered but not ordered" takes objects: a plain code is refused in the form.
    replace_json(page, "extra_items", '["ALT-SAMPLE"]')
    extra = field_row(page, "extra_items")
    extra.get_by_text("All elements in the array must be objects").wait_for()
    assert page.get_by_role("button", name="Delivered").is_disabled()
    extra.screenshot(path=str(shots / "5-delivery-extra-items-refused.png"))
    replace_json(page, "extra_items", '[{"code": "ALT-SAMPLE", "amount": 1}]')
    number(page, "line_2").fill("0")  # line 2 did not come
    page.locator("input[name=element_delivery_note]").fill("DN-2026-77")
    page.get_by_role("button", name="Delivered").click()
    page.get_by_text("response successful").wait_for()

    assert run.wait(timeout=300) == 0, output.read_text()[-3000:]
    sent = airflow_api.xcom("altegio_restock", run_id, "send_purchase_order")
    assert sent["lines"][0]["quantity"] == 7
    booked = {
        t["good"]["id"]: t["amount"]
        for document in receipts(sandbox)
        for t in sandbox.state(document_id=document["id"])["transactions"]
    }
    assert booked == {line["good_id"]: line["quantity"] for line in sent["lines"] if line["line"] != 2}
    summary = airflow_api.xcom("altegio_restock", run_id, "summarise_restock")
    assert (summary["outcome"], summary["short_lines"], summary["extra_items"]) == ("delivered", [2], 1)
    page.goto(f"{url}/dags/altegio_restock/runs/{run_id}")
    page.wait_for_timeout(2_000)
    page.screenshot(path=str(shots / "6-run.png"))
