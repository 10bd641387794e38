"""The connection forms as the UI receives them (the api-server's hook metadata), on every Airflow
release: from the hooks' ``get_connection_form_widgets`` before 3.2, from the provider info's
``conn-fields`` from 3.2 on. Both come from one declaration."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_altegio.get_provider_info import get_provider_info


@pytest.fixture(scope="module")
def forms() -> dict[str, Any]:
    """What ``GET /ui/connections/hook_meta`` sends the connection form, by connection type."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    HookMetaService.hook_meta_data.cache_clear()
    return {meta.connection_type: meta for meta in HookMetaService.hook_meta_data()}


def _declared(conn_type: str) -> dict[str, Any]:
    (entry,) = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == conn_type]
    return entry  # type: ignore[no-any-return]


@pytest.mark.parametrize("conn_type", ["altegio", "altacolor"])
def test_every_declared_field_reaches_the_form(forms: dict[str, Any], conn_type: str) -> None:
    declared = _declared(conn_type)["conn-fields"]
    extra = forms[conn_type].extra_fields
    assert set(extra) == set(declared)
    for name, field in declared.items():
        schema = extra[name]["schema"]
        assert schema["title"] == field["label"], name
        assert extra[name]["description"] == field["description"], name
        assert "null" in schema["type"], name  # every extra may stay empty
        assert (schema.get("format") == "password") == (field["schema"].get("format") == "password"), name


def test_secrets_are_password_fields_and_ids_whole_numbers(forms: dict[str, Any]) -> None:
    extra = forms["altegio"].extra_fields
    assert extra["partner_token"]["schema"]["format"] == "password"
    assert extra["user_token"]["schema"]["format"] == "password"
    assert extra["location_id"]["schema"]["type"] == ["integer", "null"]
    assert extra["verify_ssl"]["schema"]["type"] == ["boolean", "null"]
    assert extra["verify_ssl"]["value"] is True


@pytest.mark.parametrize("conn_type", ["altegio", "altacolor"])
def test_standard_fields_are_relabelled_and_hidden_as_declared(forms: dict[str, Any], conn_type: str) -> None:
    behaviour = _declared(conn_type)["ui-field-behaviour"]
    standard = forms[conn_type].standard_fields
    assert standard.host.title == behaviour["relabeling"]["host"]
    assert standard.host.placeholder == behaviour["placeholders"]["host"]
    assert standard.login.title == behaviour["relabeling"]["login"]
    assert standard.url_schema.hidden is True
    assert standard.port.hidden is False


def test_the_hooks_build_the_form_from_the_same_declaration() -> None:
    """Before 3.2 Airflow asks the hook classes themselves; both connection types answer, from
    the provider info."""
    from airflow_provider_altegio.connection_forms import ui_field_behaviour
    from airflow_provider_altegio.hooks.altacolor import AltacolorHook
    from airflow_provider_altegio.hooks.altegio import AltegioHook

    for hook in (AltegioHook, AltacolorHook):
        assert "get_connection_form_widgets" in vars(hook)  # Airflow reads only the class's own
        assert "get_ui_field_behaviour" in vars(hook)
        declared = _declared(hook.conn_type)["ui-field-behaviour"]
        assert hook.get_ui_field_behaviour() == ui_field_behaviour(hook)
        assert hook.get_ui_field_behaviour()["hidden_fields"] == declared["hidden-fields"]
