"""TLS certificates are verified unless the connection explicitly turns it off (``verify_ssl``).

A real HTTPS server on loopback with a self-signed certificate: a hook with default settings
must refuse it before sending anything, and only ``verify_ssl`` set to a false value lets it
through. An unreadable ``verify_ssl`` is an error, never a silent "off".
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError, TransportError
from airflow_provider_altegio.hooks.altacolor import AltacolorHook
from airflow_provider_altegio.hooks.altegio import AltegioHook

PARTNER = "tls-partner-token-secret"
USER = "tls-user-token-secret"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    """Answers every GET with an Altegio storages list and every POST with an Altacolor search."""

    served: list[str]

    def do_GET(self) -> None:
        self.served.append(self.path)
        storages = [{"id": 7, "title": "Main", "for_services": 0, "for_sale": 1, "comment": ""}]
        self._json({"success": True, "data": storages, "meta": []})

    def do_POST(self) -> None:
        self.served.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = {"code": 10001, "severity": "SUCCESS", "description": "Success"}
        self._json({"response_status": status, "products": [], "total": 0})

    def _json(self, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads ``served`` instead."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A refused handshake is the expected outcome here, not an error to print."""


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    served: list[str] = []
    handler = type("Handler", (_Handler,), {"served": served})
    server = _QuietServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _altegio(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> AltegioHook:
    extras = {"partner_token": PARTNER, "user_token": USER, "max_retries": 0, "timeout": 5, **extra}
    conn = {"conn_type": "altegio", "host": f"{url}/api/v1", "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_ALTEGIO_TLS", json.dumps(conn))
    return AltegioHook("altegio_tls")


def test_certificates_are_verified_by_default(
    https_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = https_server
    before = len(served)
    hook = _altegio(monkeypatch, url)
    with pytest.raises(TransportError) as caught:
        hook.list_storages(7)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) or "certificate" in str(caught.value).lower()
    assert len(served) == before, "a request went through an unverified TLS connection"
    assert PARTNER not in str(caught.value)


@pytest.mark.parametrize("flag", [True, "true", "1", "yes"])
def test_verify_ssl_true_still_verifies(
    https_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, flag: Any
) -> None:
    url, served = https_server
    before = len(served)
    with pytest.raises(TransportError):
        _altegio(monkeypatch, url, verify_ssl=flag).list_storages(7)
    assert len(served) == before


@pytest.mark.parametrize("flag", [False, "false", "False", "0", "no", "off"])
def test_verify_ssl_false_turns_verification_off(
    https_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, flag: Any
) -> None:
    url, served = https_server
    storages = _altegio(monkeypatch, url, verify_ssl=flag).list_storages(7)
    assert [s.id for s in storages] == [7]
    assert served[-1] == "/api/v1/storages/7"


@pytest.mark.parametrize("flag", ["maybe", "2", "disabled", 3])
def test_unreadable_verify_ssl_is_an_error_not_off(
    https_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, flag: Any
) -> None:
    url, served = https_server
    before = len(served)
    with pytest.raises(InvalidRequestError) as caught:
        _altegio(monkeypatch, url, verify_ssl=flag).list_storages(7)
    assert caught.value.field == "extra.verify_ssl"
    assert len(served) == before


def test_altacolor_verifies_certificates_too(
    https_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = https_server
    before = len(served)

    def hook(**extra: Any) -> AltacolorHook:
        conn = {
            "conn_type": "altacolor",
            "host": url,
            "login": "tls-api-user",
            "password": "tls-api-password-secret",
            "extra": {"max_retries": 0, "timeout": 5, **extra},
        }
        monkeypatch.setenv("AIRFLOW_CONN_ALTACOLOR_TLS", json.dumps(conn))
        return AltacolorHook("altacolor_tls")

    condition = [{"field": "product_id", "condition": ">", "value": "0"}]
    with pytest.raises(TransportError) as caught:
        hook().search_products(condition)
    assert len(served) == before
    assert "tls-api-password-secret" not in str(caught.value)
    assert hook(verify_ssl="false").search_products(condition).total == 0
    assert served[-1] == "/api/json/manage_products/find"
