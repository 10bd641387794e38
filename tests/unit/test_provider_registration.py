"""Airflow sees the provider: both connection types, their hooks, form widgets and field behaviours,
and the provider info validates against Airflow's own schema."""

from __future__ import annotations

import json
from importlib import resources
from importlib.metadata import entry_points
from typing import Any

import jsonschema
import pytest

from airflow_provider_altegio.get_provider_info import get_provider_info

PACKAGE = "airflow-provider-altegio"


@pytest.fixture(scope="module")
def providers_manager() -> Any:
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_provider_info_validates_against_airflow_schema() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == PACKAGE


def test_entry_point_points_at_get_provider_info() -> None:
    points = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_")
    ]
    assert [ep.value for ep in points] == ["airflow_provider_altegio.get_provider_info:get_provider_info"]
    assert points[0].load() is get_provider_info


def test_providers_manager_reads_the_version_from_the_distribution(providers_manager: Any) -> None:
    from airflow_provider_altegio import __version__

    assert providers_manager.providers[PACKAGE].version == __version__


@pytest.mark.parametrize(
    ("conn_type", "class_name", "conn_attr", "default_conn", "hook_name"),
    [
        (
            "altegio",
            "airflow_provider_altegio.hooks.altegio.AltegioHook",
            "altegio_conn_id",
            "altegio_default",
            "Altegio",
        ),
        (
            "altacolor",
            "airflow_provider_altegio.hooks.altacolor.AltacolorHook",
            "altacolor_conn_id",
            "altacolor_default",
            "Altacolor",
        ),
    ],
)
def test_providers_manager_sees_the_connection_types(
    providers_manager: Any, conn_type: str, class_name: str, conn_attr: str, default_conn: str, hook_name: str
) -> None:
    from airflow._shared.module_loading import import_string
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert PACKAGE in providers_manager.providers
    # The server-side manager lists the connection type (the UI's connection-type menu) ...
    assert conn_type in providers_manager.field_behaviours
    assert any(name.startswith(f"extra__{conn_type}__") for name in providers_manager.connection_form_widgets)
    # ... and the task runtime resolves it to the hook class (ProvidersManager.hooks is deprecated in 3.x).
    info = ProvidersManagerTaskRuntime().hooks[conn_type]
    assert info is not None
    assert info.hook_class_name == class_name
    assert info.connection_id_attribute_name == conn_attr
    assert info.package_name == PACKAGE
    assert info.hook_name == hook_name
    assert info.connection_testable is True
    hook_class = import_string(class_name)
    assert hook_class.conn_type == conn_type
    assert hook_class.conn_name_attr == conn_attr
    assert hook_class.default_conn_name == default_conn
    assert hook_class.hook_name == hook_name
    assert callable(hook_class.test_connection)


def test_altegio_widgets_and_behaviour(providers_manager: Any) -> None:
    widgets = {
        name.removeprefix("extra__altegio__"): widget
        for name, widget in providers_manager.connection_form_widgets.items()
        if name.startswith("extra__altegio__")
    }
    assert set(widgets) == {
        "partner_token",
        "user_token",
        "location_id",
        "master_id",
        "timeout",
        "max_retries",
        "requests_per_second",
        "requests_per_minute",
        "rate_limit_store",
        "rate_limit_wait",
        "verify_ssl",
    }
    assert widgets["partner_token"].is_sensitive is True
    assert widgets["user_token"].is_sensitive is True
    assert widgets["location_id"].is_sensitive is False
    assert widgets["partner_token"].field["schema"]["title"] == "Partner token"
    assert widgets["verify_ssl"].field["schema"]["default"] is True
    behaviour = providers_manager.field_behaviours["altegio"]
    # The port stays visible: Airflow 3.3's Test button needs a stored port (see get_provider_info).
    assert set(behaviour["hidden_fields"]) == {"schema", "extra"}
    assert behaviour["relabeling"]["host"] == "API base URL"
    assert behaviour["placeholders"]["host"] == "https://api.alteg.io/api/v1"
    # Only standard fields get placeholders: Airflow's form shows none for extra fields.
    assert set(behaviour["placeholders"]) == {"host", "port", "login", "password"}


def test_altacolor_widgets_and_behaviour(providers_manager: Any) -> None:
    names = {n for n in providers_manager.connection_form_widgets if n.startswith("extra__altacolor__")}
    assert {"extra__altacolor__timeout", "extra__altacolor__verify_ssl"} <= names
    behaviour = providers_manager.field_behaviours["altacolor"]
    assert behaviour["relabeling"] == {
        "host": "Store base URL",
        "port": "Port (optional; fill it for the Test button)",
        "login": "API username",
        "password": "API password",
    }
