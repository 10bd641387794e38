"""Provider metadata that Airflow's ProvidersManager reads through the entry point.

A plain dict; it imports only the defaults of ``core.config``, so provider discovery stays
cheap. The connection forms are declared here (``conn-fields`` / ``ui-field-behaviour``, Airflow
3.2+) instead of on the hooks, so the UI can render them without importing the hook modules.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_altegio.core.config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT_WAIT,
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_TIMEOUT,
)

_INTEGRATION_ALTEGIO = "Altegio"
_INTEGRATION_ALTACOLOR = "Altacolor"
_PKG = "airflow_provider_altegio"
# The port field stays visible: Airflow 3.3's Test button refuses a connection stored without a
# port (it sends port 0; apache/airflow#73298 fixes that after 3.3.2).
_PORT_LABEL = "Port (optional; fill it for the Test button)"


def _field(label: str, description: str, kind: str = "number", **schema: Any) -> dict[str, Any]:
    """An optional extra field of a connection form; ``kind`` is its JSON schema type."""
    return {"label": label, "description": description, "schema": {"type": [kind, "null"], **schema}}


def _transport_fields() -> dict[str, Any]:
    """The optional extras every connection type reads (see ``core.config``), with its defaults."""
    return {
        "timeout": _field("Timeout (seconds)", "Per-request timeout.", default=DEFAULT_TIMEOUT),
        "max_retries": _field(
            "Max retries",
            "Retries on 502, 503, 504 and network errors (429s are waited out instead).",
            kind="integer",
            default=DEFAULT_MAX_RETRIES,
            minimum=0,
        ),
        "requests_per_second": _field(
            "Requests per second",
            "Client-side limit (the platform allows 5); 0 turns it off.",
            default=DEFAULT_REQUESTS_PER_SECOND,
        ),
        "requests_per_minute": _field(
            "Requests per minute",
            "Client-side limit (the platform allows 200); 0 turns it off.",
            default=DEFAULT_REQUESTS_PER_MINUTE,
        ),
        "rate_limit_store": _field(
            "Shared rate budget",
            "Where every process using these credentials keeps the budget: empty for a file on "
            "this machine (enough for LocalExecutor and one Celery worker), a directory path, "
            "redis://host:6379/0 across machines, or 'memory' for this process only.",
            kind="string",
        ),
        "rate_limit_wait": _field(
            "Rate limit wait (seconds)",
            "How long one request may wait out 429 answers before the task fails.",
            default=DEFAULT_RATE_LIMIT_WAIT,
        ),
        "verify_ssl": _field(
            "Verify TLS certificates",
            "Turn off only for a test server with a self-signed certificate.",
            kind="boolean",
            default=True,
        ),
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider description validated against ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-altegio",
        "name": "Altegio",
        "description": (
            "Altegio (YCLIENTS) inventory: product catalogue, categories, storages and storage "
            "operations, plus the Altacolor supplier Product Management API."
        ),
        "integrations": [
            {
                "integration-name": _INTEGRATION_ALTEGIO,
                "external-doc-url": "https://developer.alteg.io/",
                "how-to-guide": [],
                "tags": ["service"],
            },
            {
                "integration-name": _INTEGRATION_ALTACOLOR,
                "external-doc-url": "https://www.altacolor.com/",
                "how-to-guide": [],
                "tags": ["service"],
            },
        ],
        "hooks": [
            {"integration-name": _INTEGRATION_ALTEGIO, "python-modules": [f"{_PKG}.hooks.altegio"]},
            {"integration-name": _INTEGRATION_ALTACOLOR, "python-modules": [f"{_PKG}.hooks.altacolor"]},
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION_ALTEGIO,
                "python-modules": [f"{_PKG}.operators.products", f"{_PKG}.operators.storage"],
            },
            {"integration-name": _INTEGRATION_ALTACOLOR, "python-modules": [f"{_PKG}.operators.products"]},
        ],
        "sensors": [
            {"integration-name": _INTEGRATION_ALTEGIO, "python-modules": [f"{_PKG}.sensors.products"]},
            {"integration-name": _INTEGRATION_ALTACOLOR, "python-modules": [f"{_PKG}.sensors.products"]},
        ],
        "triggers": [
            {"integration-name": _INTEGRATION_ALTEGIO, "python-modules": [f"{_PKG}.triggers.products"]},
            {"integration-name": _INTEGRATION_ALTACOLOR, "python-modules": [f"{_PKG}.triggers.products"]},
        ],
        "connection-types": [
            {
                "connection-type": "altegio",
                "hook-class-name": f"{_PKG}.hooks.altegio.AltegioHook",
                "hook-name": "Altegio",
                "conn-fields": {
                    "partner_token": _field(
                        "Partner token",
                        "Required: the partner (developer) token from the Altegio marketplace.",
                        kind="string",
                        format="password",
                    ),
                    "user_token": _field(
                        "User token",
                        "User token. Leave empty to obtain one with the login and password "
                        "through POST /auth.",
                        kind="string",
                        format="password",
                    ),
                    "location_id": _field(
                        "Default location ID",
                        "Location (company) ID, e.g. 123456, used when an operator is given none.",
                        kind="integer",
                    ),
                    "master_id": _field(
                        "Default team member ID",
                        "Staff member storage operations are booked by when an operator names "
                        "none; the API refuses an operation without one.",
                        kind="integer",
                    ),
                    **_transport_fields(),
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "extra"],
                    "relabeling": {
                        "host": "API base URL",
                        "port": _PORT_LABEL,
                        "login": "User login (for /auth)",
                        "password": "User password (for /auth)",
                    },
                    # Airflow's form shows placeholders for these standard fields only; the
                    # extra fields carry their hints in their descriptions.
                    "placeholders": {
                        "host": "https://api.alteg.io/api/v1",
                        "port": "443",
                        "login": "only when no user token is set",
                        "password": "only when no user token is set",
                    },
                },
            },
            {
                "connection-type": "altacolor",
                "hook-class-name": f"{_PKG}.hooks.altacolor.AltacolorHook",
                "hook-name": "Altacolor",
                "conn-fields": {
                    **_transport_fields(),
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "extra"],
                    "relabeling": {
                        "host": "Store base URL",
                        "port": _PORT_LABEL,
                        "login": "API username",
                        "password": "API password",
                    },
                    "placeholders": {
                        "host": "https://one.altacolor.com",
                        "port": "443",
                        "login": "API username",
                        "password": "API password",
                    },
                },
            },
        ],
    }
