"""httpx logs every request URL at INFO, query string included; the Altacolor GET carries the
password there. Whatever logging setup prints httpx's lines, the secrets must not appear."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import respx

from airflow_provider_altegio.core.secrets import Secrets
from airflow_provider_altegio.hooks.altacolor import AltacolorHook

STORE = "https://one.store.example"
PASSWORD = "alta-log-secret-42"


@pytest.fixture
def httpx_lines() -> Iterator[io.StringIO]:
    """A plain stdlib handler on the httpx logger, as a worker's own logging config would add."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("httpx")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_altacolor_password_is_redacted_from_httpx_request_lines(
    monkeypatch: pytest.MonkeyPatch, httpx_lines: io.StringIO
) -> None:
    conn = {"conn_type": "altacolor", "host": STORE, "login": "api-user", "password": PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_LOGS", json.dumps(conn))
    body = {
        "response_status": {"code": 10001, "severity": "SUCCESS", "description": ""},
        "product": {"product_id": 7, "product_code": "A-7"},
    }
    with respx.mock() as mock:
        route = mock.get(f"{STORE}/api/json/manage_products/get").mock(
            return_value=httpx.Response(200, json=body)
        )
        AltacolorHook("altacolor_logs").get_product(7)
    assert PASSWORD in str(route.calls.last.request.url)  # the API really takes it in the query
    lines = httpx_lines.getvalue()
    assert "HTTP Request: GET" in lines
    assert PASSWORD not in lines
    assert "password=***" in lines


def test_masking_replaces_the_longest_secret_first_and_ignores_short_ones() -> None:
    secrets = Secrets("abc", "abcdef", "", "ab")
    assert secrets.redact("token abcdef and abc and ab") == "token *** and *** and ab"
    assert secrets.redact("a b/c") == "a b/c"


def test_url_encoded_forms_of_a_secret_are_masked_too() -> None:
    secrets = Secrets("p@ss word/+")
    assert secrets.redact("password=p%40ss+word%2F%2B and p%40ss%20word%2F%2B") == "password=*** and ***"


def test_other_httpx_records_keep_their_arguments(httpx_lines: io.StringIO) -> None:
    logging.getLogger("httpx").info("nothing %s", "here")
    assert httpx_lines.getvalue() == "nothing here\n"
