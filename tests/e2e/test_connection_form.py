"""The connection form in a real browser, as a person uses it: Admin > Connections > Add, each
of the provider's types, the fields filled and saved, then Test against the sandbox with good
and with bad credentials. Screenshots of each step go to build/e2e/, with a manifest of the
labels, help texts and placeholders the form showed (``<type>-form.json``), checked against
what the code declares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from connection_forms import declared_form, write_manifest

pytestmark = pytest.mark.e2e


@dataclass
class Case:
    """One connection type: what a person types into its form (what the form shows is what
    ``get_provider_info`` declares: ``declared_form``)."""

    type_name: str
    secrets: list[str]  # inputs that must be masked
    fill: dict[str, str] = field(default_factory=dict)


def _cases(sandbox: Any) -> dict[str, Case]:
    port = str(urlsplit(sandbox.base_url).port)
    return {
        "altegio": Case(
            type_name="Altegio",
            secrets=["password", "element_partner_token", "element_user_token"],
            fill={
                "host": "http://127.0.0.1/api/v1",  # the port goes in its own field
                "port": port,
                "element_partner_token": sandbox.partner_token,
                "element_user_token": sandbox.user_token,
                "element_location_id": str(sandbox.location_ids[0]),
            },
        ),
        "altacolor": Case(
            type_name="Altacolor",
            secrets=["password"],
            fill={
                "host": "http://127.0.0.1",
                "port": port,
                "login": sandbox.altacolor_username,
                "password": sandbox.altacolor_password,
            },
        ),
    }


BAD = {"altegio": {"element_user_token": "a-wrong-user-token"}, "altacolor": {"password": "a-wrong-password"}}
#: The fields Airflow's form has for every connection type.
AIRFLOW_FIELDS = {"connection_id", "description"}
#: Each field of the form by its input's name: label, help text and placeholder as shown.
READ_FORM = """dialog => Object.fromEntries(
  [...dialog.querySelectorAll("[data-scope=field][data-part=root]")].flatMap(root => {
    const input = root.querySelector("input[name], textarea[name]");
    const text = part => root.querySelector(`[data-scope=field][data-part=${part}]`)
      ?.textContent.trim() || null;
    return input ? [[input.name, {
      label: text("label"), help: text("helper-text"),
      placeholder: input.getAttribute("placeholder") || null,
    }]] : [];
  }))"""


def _add(
    page: Any, ui: str, conn_id: str, kind: str, case: Case, values: dict[str, str], shot: str | None
) -> dict[str, Any]:
    """Add a connection through the form; return the form's fields as it showed them."""
    page.goto(f"{ui}/connections")
    page.get_by_role("button", name="Add Connection").click()
    page.locator("input[name=connection_id]").fill(conn_id)
    page.get_by_role("combobox").click()
    page.keyboard.type(case.type_name)
    page.get_by_role("option", name=case.type_name, exact=True).click()
    dialog = page.get_by_role("dialog")
    declared = declared_form(kind)
    # The form is an accordion: the standard fields are open first, then the extra fields.
    for section, extra in (("Standard Fields", False), ("Extra Fields", True)):
        if extra:
            dialog.get_by_role("button", name=section, exact=True).click()
        labels = [f["label"] for name, f in declared.items() if name.startswith("element_") == extra]
        hidden = [label for label in labels if not dialog.get_by_text(label, exact=True).first.is_visible()]
        assert not hidden, f"{section}: {hidden} not shown"
        for name, value in values.items():
            if name.startswith("element_") == extra:
                dialog.locator(f"input[name={name}]").fill(value)
        for name in case.secrets:
            if name.startswith("element_") == extra:
                assert dialog.locator(f"input[name={name}]").get_attribute("type") == "password", name
        if shot:
            page.screenshot(path=shot.replace(".png", "-extra.png" if extra else ".png"), full_page=True)
    shown = {name: f for name, f in dialog.evaluate(READ_FORM).items() if name not in AIRFLOW_FIELDS}
    assert shown == declared
    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("row").filter(has_text=conn_id).wait_for()
    return shown


def _test(page: Any, ui: str, conn_id: str, shot: str) -> str:
    page.goto(f"{ui}/connections")
    page.get_by_role("row").filter(has_text=conn_id).get_by_role("button", name="Test Connection").click()
    toast = page.locator("[data-scope=toast][data-part=root]").first
    toast.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # the toast slides in
    toast.screenshot(path=shot)
    return str(toast.inner_text())


@pytest.mark.parametrize("kind", ["altegio", "altacolor"])
def test_add_save_and_test_a_connection(
    page: Any, airflow_ui: str, sandbox: Any, shots: Any, kind: str
) -> None:
    case = _cases(sandbox)[kind]
    shown = _add(page, airflow_ui, f"{kind}_e2e", kind, case, case.fill, str(shots / f"{kind}-form.png"))
    message = _test(page, airflow_ui, f"{kind}_e2e", str(shots / f"{kind}-test-ok.png"))
    assert "Test Connection Successful" in message, message
    assert "Connected" in message, message

    bad = {**case.fill, **BAD[kind]}
    _add(page, airflow_ui, f"{kind}_e2e_bad", kind, case, bad, None)
    message = _test(page, airflow_ui, f"{kind}_e2e_bad", str(shots / f"{kind}-test-failed.png"))
    assert "Test Connection Failed" in message, message
    assert re.search(r"Auth(entication)?Error|401|30001|31000", message), message
    for secret in BAD[kind].values():
        assert secret not in message

    # What these screenshots show, for the unit test that keeps the committed ones current.
    screenshots = [
        f"{kind}-form.png",
        f"{kind}-form-extra.png",
        f"{kind}-test-ok.png",
        f"{kind}-test-failed.png",
    ]
    write_manifest(shots, kind, shown, screenshots)
