"""Error mapping and envelopes of the two dialects: typed errors, malformed bodies, no secrets."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from airflow_provider_altegio.core.dialects import AltacolorDialect, AltegioDialect, normalize_errors
from airflow_provider_altegio.core.types import RequestInfo, RequestSpec
from airflow_provider_altegio.exceptions import (
    AltacolorAPIError,
    AltacolorAuthError,
    AltacolorNotFoundError,
    AltacolorValidationError,
    AltegioAPIError,
    AltegioAuthError,
    AltegioNotFoundError,
    AltegioRateLimitError,
    AltegioValidationError,
    APIError,
    MalformedResponseError,
)

PARTNER = "partner-token-SECRET"
USER = "user-token-SECRET"
PASSWORD = "p@ss word/SECRET"
INFO = RequestInfo("GET", "https://api.example/api/v1/goods/1")


def altegio() -> AltegioDialect:
    return AltegioDialect(PARTNER, USER, password=PASSWORD)


def response(status: int, body: Any = None, *, content: bytes | None = None) -> httpx.Response:
    if content is not None:
        return httpx.Response(status, content=content)
    return httpx.Response(status, json=body)


def assert_no_secret(exc: BaseException) -> None:
    text = f"{exc} {exc!r} {getattr(exc, 'message', '')} {getattr(exc, 'errors', '')}"
    for secret in (PARTNER, USER, PASSWORD, "p%40ss", "p@ss+word"):
        assert secret not in text


# -- Altegio -----------------------------------------------------------------------------------


def test_altegio_success_returns_data_and_meta() -> None:
    body = {"success": True, "data": [{"good_id": 1}], "meta": {"count": 1}}
    assert altegio().parse(response(200, body), INFO) == ([{"good_id": 1}], {"count": 1})


def test_altegio_success_false_under_200_raises_with_message_and_errors() -> None:
    body = {
        "success": False,
        "data": None,
        "meta": {"message": "Bad input", "errors": {"title": ["required"]}},
    }
    with pytest.raises(AltegioAPIError) as info:
        altegio().parse(response(200, body), INFO)
    err = info.value
    assert type(err) is AltegioAPIError
    assert err.status_code == 200
    assert err.message == "Bad input"
    assert err.errors == {"title": ["required"]}
    assert str(err) == "GET https://api.example/api/v1/goods/1: HTTP 200: Bad input (title: required)"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AltegioAuthError),
        (403, AltegioAuthError),
        (404, AltegioNotFoundError),
        (422, AltegioValidationError),
        (429, AltegioRateLimitError),
        (400, AltegioValidationError),
        (500, AltegioAPIError),
    ],
)
def test_altegio_statuses_map_to_typed_errors(status: int, cls: type[AltegioAPIError]) -> None:
    body = {"success": False, "data": None, "meta": {"message": "Authentication needed."}}
    with pytest.raises(cls) as info:
        altegio().parse(response(status, body), INFO)
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.message == "Authentication needed."
    assert info.value.method == "GET"


def test_altegio_422_carries_meta_errors() -> None:
    body = {
        "success": False,
        "data": None,
        "meta": {
            "message": "Validation failed",
            "errors": {"storage_id": ["is required"], "amount": "must be > 0"},
        },
    }
    with pytest.raises(AltegioValidationError) as info:
        altegio().parse(response(422, body), INFO)
    assert info.value.errors == {"storage_id": ["is required"], "amount": ["must be > 0"]}
    assert "storage_id: is required" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        # As a production integration saw it: 400, meta.message, no success key.
        (
            400,
            {"meta": {"message": "Staff member required"}},
            AltegioValidationError,
            "Staff member required",
        ),
        # The form public SDKs handle: one error object under "errors", an empty meta.
        (
            404,
            {"errors": {"code": 404, "message": "Not found"}, "meta": {}},
            AltegioNotFoundError,
            "Not found",
        ),
        (401, {"errors": {"message": "Unauthorized"}, "meta": []}, AltegioAuthError, "Unauthorized"),
        # The same under HTTP 200: an error all the same.
        (200, {"errors": {"code": 400, "message": "Bad filter"}, "meta": {}}, AltegioAPIError, "Bad filter"),
        (
            422,
            {"success": False, "meta": {"message": "Invalid", "errors": {"count": ["too big"]}}},
            AltegioValidationError,
            "Invalid",
        ),
    ],
)
def test_altegio_error_bodies_in_every_known_form(
    status: int, body: dict[str, Any], cls: type[AltegioAPIError], message: str
) -> None:
    with pytest.raises(cls) as info:
        altegio().parse(response(status, body), INFO)
    assert info.value.message == message
    assert "code" not in info.value.errors  # one error object is a message, not field errors


def test_altegio_html_error_page_quotes_the_body() -> None:
    page = b"<html><body>" + b"x" * 500 + b"</body></html>"
    with pytest.raises(AltegioNotFoundError) as info:
        altegio().parse(response(404, content=page), INFO)
    assert "non-JSON error body: '<html><body>xxx" in info.value.message
    assert len(info.value.message) < 260  # only the first 200 bytes are quoted


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<html>Bad gateway</html>", "not JSON"),
        (b'{"success": true, "data": [{"good_id": 1}', "not JSON"),
        (b"[1, 2, 3]", "envelope"),
        (b'{"result": "ok"}', "envelope"),
        (b'"just a string"', "envelope"),
        (b"", "empty body"),
        (b"\xff\xfe\x00garbage", "not JSON"),
    ],
)
def test_altegio_malformed_success_bodies(content: bytes, problem: str) -> None:
    with pytest.raises(MalformedResponseError) as info:
        altegio().parse(response(200, content=content), INFO)
    err = info.value
    assert problem in err.message
    assert err.status_code == 200
    assert "HTTP 200" in str(err)
    assert "body starts with" in err.message


def test_altegio_malformed_quotes_first_200_bytes_only() -> None:
    content = b"A" * 199 + b"BCDEFG"
    with pytest.raises(MalformedResponseError) as info:
        altegio().parse(response(200, content=content), INFO)
    assert "A" * 199 + "B" in info.value.message
    assert "C" not in info.value.message


def test_altegio_empty_body_is_fine_for_delete_and_202() -> None:
    assert altegio().parse(response(202, content=b""), RequestInfo("DELETE", "u")) == (None, None)
    assert altegio().parse(response(204, content=b""), INFO) == (None, None)


def test_altegio_secrets_echoed_by_the_server_are_masked() -> None:
    body = {
        "success": False,
        "meta": {"message": f"token {PARTNER} or {USER} invalid", "errors": {PASSWORD: [f"bad {PASSWORD}"]}},
    }
    with pytest.raises(AltegioAuthError) as info:
        altegio().parse(response(401, body), INFO)
    assert_no_secret(info.value)
    assert "***" in info.value.message
    with pytest.raises(MalformedResponseError) as malformed:
        altegio().parse(response(200, content=f"<p>{USER}</p>".encode()), INFO)
    assert_no_secret(malformed.value)


def test_altegio_prepare_headers_and_user_token_swap() -> None:
    dialect = AltegioDialect(PARTNER)
    spec = dialect.prepare(RequestSpec("GET", "/x", headers={"X-Extra": "1"}))
    assert spec.headers == {
        "Accept": "application/vnd.api.v2+json",
        "Authorization": f"Bearer {PARTNER}",
        "X-Extra": "1",
    }
    assert not dialect.has_user_token
    auth = dialect.set_user_token("fresh-user-token")
    assert auth == f"Bearer {PARTNER}, User fresh-user-token"
    assert dialect.prepare(RequestSpec("GET", "/x")).headers["Authorization"] == auth
    assert dialect.redact(f"a {auth} b") == "a *** b"
    assert "fresh-user-token" not in repr(dialect)


def test_errors_normalization_shapes() -> None:
    assert normalize_errors({"a": ["x", "y"], "b": "z", "c": {"d": ["w"]}, "e": None}) == {
        "a": ["x", "y"],
        "b": ["z"],
        "c.d": ["w"],
    }
    assert normalize_errors([{"field": "a", "message": "x"}, "loose"]) == {"a": ["x"], "": ["loose"]}
    assert normalize_errors("plain") == {"": ["plain"]}
    assert normalize_errors(None) == {}
    assert normalize_errors([]) == {}


def test_api_errors_pickle_round_trip() -> None:
    err = AltegioValidationError("bad", errors={"a": ["b"]}, status_code=422, method="POST", url="u")
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert type(copy) is AltegioValidationError
    assert (copy.errors, copy.status_code, str(copy)) == ({"a": ["b"]}, 422, str(err))


# -- Altacolor ---------------------------------------------------------------------------------


def altacolor() -> AltacolorDialect:
    return AltacolorDialect("api-user", PASSWORD)


def status(code: int, severity: str, description: str = "") -> dict[str, Any]:
    return {"response_status": {"code": code, "severity": severity, "description": description}}


def test_altacolor_success_returns_the_body() -> None:
    body = {**status(10001, "SUCCESS"), "products": [], "total": 0}
    assert altacolor().parse(response(200, body), INFO) == (body, body["response_status"])


@pytest.mark.parametrize(
    ("code", "severity", "cls"),
    [
        (30001, "ERROR", AltacolorAuthError),
        (31000, "ERROR", AltacolorAuthError),
        (40004, "WARNING", AltacolorNotFoundError),
        (50002, "ERROR", AltacolorValidationError),
        (50003, "ERROR", AltacolorValidationError),
        (50004, "error", AltacolorValidationError),
        (50005, "ERROR", AltacolorValidationError),
    ],
)
def test_altacolor_response_status_maps_to_typed_errors(
    code: int, severity: str, cls: type[APIError]
) -> None:
    with pytest.raises(cls) as info:
        altacolor().parse(response(200, status(code, severity, "Described")), INFO)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, AltacolorAPIError)
    assert (err.code, err.severity, err.description) == (code, severity.upper(), "Described")
    # The API's code and what it means; not "HTTP 200", a status that said nothing went wrong.
    assert f"Altacolor {code} (" in str(err)
    assert str(err).split(f"Altacolor {code} (", 1)[1].split("): ", 1)[1].startswith("Described")
    assert "HTTP 200" not in str(err)
    assert ("login (API username) and password" in str(err)) is (cls is AltacolorAuthError)


def test_altacolor_40004_with_partial_results_is_not_an_error() -> None:
    body = {**status(40004, "WARNING", "Product ID Not Found"), "products": [{"product_id": 1}]}
    assert altacolor().parse(response(200, body), INFO).data["products"] == [{"product_id": 1}]
    with pytest.raises(AltacolorNotFoundError):
        altacolor().parse(response(200, {**status(40004, "WARNING"), "products": []}), INFO)


def test_altacolor_the_code_decides_not_the_severity() -> None:
    """Anything but 10001 is an error, whatever ``severity`` says (DecoNetwork's own schema leaves
    it optional); the code may come as text."""
    ok_body = {**status(10001, "SUCCESS"), "products": []}
    ok_body["response_status"]["code"] = "10001"
    assert altacolor().parse(response(200, ok_body), INFO).data["products"] == []
    with pytest.raises(AltacolorAPIError, match="10002"):
        altacolor().parse(response(200, {**status(10002, "WARNING"), "products": []}), INFO)
    with pytest.raises(AltacolorValidationError) as info:
        altacolor().parse(response(200, {"response_status": {"code": 50003}}), INFO)  # no severity at all
    assert info.value.code == 50003
    assert str(info.value).endswith("Altacolor 50003 (invalid condition): invalid condition")  # not "None"


@pytest.mark.parametrize(
    ("code", "content", "cls", "problem"),
    [
        (200, b"<html>maintenance</html>", MalformedResponseError, "not JSON"),
        (200, b'{"products": []}', MalformedResponseError, "response_status"),
        (200, b'{"response_status": {"code": 10001', MalformedResponseError, "not JSON"),
        (502, b"<html>bad gateway</html>", AltacolorAPIError, "HTTP 502"),
        (401, b"Unauthorized", AltacolorAuthError, "HTTP 401"),
    ],
)
def test_altacolor_malformed_or_http_errors(
    code: int, content: bytes, cls: type[APIError], problem: str
) -> None:
    with pytest.raises(cls) as info:
        altacolor().parse(response(code, content=content), INFO)
    assert problem in str(info.value)
    assert info.value.status_code == code


def test_altacolor_credentials_in_query_on_get_and_form_on_post() -> None:
    dialect = altacolor()
    get = dialect.prepare(RequestSpec("GET", "/get", params={"id": 5}))
    assert list(get.params or []) == [("id", 5), ("username", "api-user"), ("password", PASSWORD)]
    post = dialect.prepare(RequestSpec("POST", "/find", data={"field": "1"}))
    assert post.data == {"field": "1", "username": "api-user", "password": PASSWORD}


def test_altacolor_password_masked_in_every_encoding() -> None:
    dialect = altacolor()
    for form in (PASSWORD, "p%40ss%20word%2FSECRET", "p%40ss+word%2FSECRET"):
        assert dialect.redact(f"x {form} y") == "x *** y"
    description = f"Authentication failed for {PASSWORD}"
    with pytest.raises(AltacolorAuthError) as info:
        dialect.parse(response(200, status(30001, "ERROR", description)), INFO)
    assert_no_secret(info.value)


def test_a_refused_login_names_both_credentials_and_where_each_is_set() -> None:
    """The API answers a wrong partner token and a wrong user token alike: the error lists both."""
    body = {"success": False, "data": None, "meta": {"message": "Authentication needed."}}
    with pytest.raises(AltegioAuthError) as info:
        altegio().parse(response(401, body), INFO)
    assert info.value.message == "Authentication needed."  # the API's words, kept as they came
    text = str(info.value)
    assert "partner_token extra" in text
    assert "user_token extra" in text
    assert "login and password" in text


def test_a_location_the_user_may_not_manage_is_named() -> None:
    body = {"success": False, "data": None, "meta": {"message": "Access denied."}}
    refused = RequestInfo("GET", "https://api.example/api/v1/storages/1003")
    with pytest.raises(AltegioAuthError) as info:
        altegio().parse(response(403, body), refused)
    assert str(info.value).startswith(f"GET {refused.url}: HTTP 403: Access denied.")
    assert "the user may not manage location 1003" in str(info.value)
    assert "GET /companies?my=1" in str(info.value)
