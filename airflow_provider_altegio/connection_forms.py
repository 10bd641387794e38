"""The connection forms for Airflow before 3.2, built from the ``conn-fields`` and
``ui-field-behaviour`` that :func:`~airflow_provider_altegio.get_provider_info.get_provider_info`
declares (from 3.2 on, Airflow reads those itself and never calls these).

Before 3.2 the UI asks each hook class for ``get_connection_form_widgets()`` (WTForms fields, of
four kinds: text, password, integer, boolean) and ``get_ui_field_behaviour()``. A hook takes both
as class methods::

    get_connection_form_widgets = classmethod(connection_form_widgets)
    get_ui_field_behaviour = classmethod(ui_field_behaviour)
"""

from __future__ import annotations

from typing import Any


def _declaration(hook: type[Any]) -> dict[str, Any]:
    from airflow_provider_altegio.get_provider_info import get_provider_info

    for entry in get_provider_info()["connection-types"]:
        if entry["connection-type"] == hook.conn_type:
            declaration: dict[str, Any] = entry
            return declaration
    raise LookupError(f"no connection type {hook.conn_type!r} in the provider info")


def connection_form_widgets(hook: type[Any]) -> dict[str, Any]:
    """The form's extra fields of ``hook``'s connection type, as WTForms fields.

    A ``number`` field becomes a text field (the form before 3.2 has none for decimals; the hook
    reads numbers written as text); every field may stay empty.
    """
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, PasswordField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, field in _declaration(hook).get("conn-fields", {}).items():
        schema = field["schema"]
        kinds = {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
        default = schema.get("default")
        common = {"description": field.get("description", ""), "validators": [Optional()]}
        label = lazy_gettext(field["label"])
        if schema.get("format") == "password":
            widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), **common)
        elif "boolean" in kinds:
            widgets[name] = BooleanField(label, default=default, **common)
        elif "integer" in kinds:
            widgets[name] = IntegerField(label, widget=BS3TextFieldWidget(), default=default, **common)
        else:
            text_default = None if default is None else str(default)
            widgets[name] = StringField(label, widget=BS3TextFieldWidget(), default=text_default, **common)
    return widgets


def ui_field_behaviour(hook: type[Any]) -> dict[str, Any]:
    """Which standard fields of ``hook``'s connection form are hidden, relabelled or hinted."""
    behaviour = _declaration(hook).get("ui-field-behaviour", {})
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


__all__ = ["connection_form_widgets", "ui_field_behaviour"]
