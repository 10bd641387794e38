"""The sandbox's HTTP application: Altegio v1 under ``/api/v1``, Altacolor under ``/api/json``.

Every Altegio endpoint is one small handler registered with :func:`_altegio`, which does what all
of them share, in the order the real API does it: token check (401), rate limit (429), location
access (404 unknown, 403 not yours), body parsing (400/422), the handler under the state lock, and
the ``{"success", "data", "meta"}`` envelope. Anything unexpected becomes a 500 in the same shape,
never a stack trace.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from airflow_provider_altegio.sandbox.altacolor import AltacolorError, error_answer
from airflow_provider_altegio.sandbox.control import control_routes
from airflow_provider_altegio.sandbox.dates import ascii_digits
from airflow_provider_altegio.sandbox.faults import (
    SHIFT_ROWS_SCOPE_KEY,
    FaultLayer,
    FaultRegistry,
    RequestLog,
)
from airflow_provider_altegio.sandbox.limits import SlidingWindowLimiter, retry_after_header
from airflow_provider_altegio.sandbox.seed import USER_ID, USER_NAME, USER_PHONE, LocationSeed
from airflow_provider_altegio.sandbox.validation import ApiError, BodyReader

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

    from airflow_provider_altegio.sandbox.state import SandboxState

log = logging.getLogger(__name__)

AUTH_NEEDED = "Authentication needed."
#: The official pages' 403 for a location the user token may not manage.
ACCESS_DENIED = "Access denied."


@dataclass
class Call:
    """What a handler gets: the request, its location (if any), query and parsed body."""

    request: Request
    state: SandboxState
    location: LocationSeed
    query: dict[str, str]
    body: Mapping[str, Any]

    def path_int(self, name: str) -> int:
        """An integer path parameter (the route's ``:int`` convertor guarantees the type)."""
        value: int = self.request.path_params[name]
        return value


@dataclass
class Reply:
    """A successful answer: ``data``, ``meta`` (``[]`` as the documents show) and the status."""

    data: Any
    meta: Any = field(default_factory=list)
    status: int = 200


Handler = Callable[[Call], Reply]


def envelope(
    success: bool, data: Any, meta: Any, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """The Altegio response envelope."""
    return JSONResponse({"success": success, "data": data, "meta": meta}, status_code=status, headers=headers)


def error_response(error: ApiError) -> Response:
    """An :class:`ApiError` in the documented error shape."""
    meta: dict[str, Any] = {"message": error.message}
    if error.errors:
        meta["errors"] = error.errors
    return envelope(False, None, meta, error.status, error.headers)


def parse_authorization(header: str) -> tuple[str | None, str | None]:
    """``Bearer <partner>, User <user>`` -> (partner, user); either may be None."""
    partner = user = None
    for part in header.split(","):
        scheme, _, value = part.strip().partition(" ")
        if scheme.lower() == "bearer":
            partner = value.strip() or None
        elif scheme.lower() == "user":
            user = value.strip() or None
    return partner, user


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def read_body(request: Request) -> Mapping[str, Any]:
    """JSON object body (or a urlencoded form); empty body -> ``{}``; else 400/422."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "Request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The given data was invalid.", {"body": ["The body must be a JSON object."]})
    return body


def page_rows(call: Call, rows: list[Any], page: int, count: int) -> list[Any]:
    """Page ``page`` of ``rows``; under a ``shift_rows`` fault each page boundary moves by that
    many rows (positive: rows repeated across a boundary, negative: rows skipped), as when rows
    are inserted or moved while a client walks a listing."""
    shift = int(call.request.scope.get(SHIFT_ROWS_SCOPE_KEY, 0))
    start = max(0, (page - 1) * (count - shift))
    return rows[start : start + count]


def paging(query: Mapping[str, str], default_count: int, max_count: int) -> tuple[int, int]:
    """``page`` (from 1) and ``count`` (1..max) from the query, 422 when out of range."""
    reader = BodyReader(query)
    page = reader.integer("page", minimum=1) or 1
    count = reader.integer("count", minimum=1) or default_count
    if count > max_count:
        reader.error("count", f"The count may not be greater than {max_count}.")
    reader.raise_if_any()
    return page, count


class AltegioApi:
    """Builds the ``/api/v1`` routes around one state, limiter and set of credentials."""

    def __init__(self, state: SandboxState, limiter: SlidingWindowLimiter) -> None:
        self.state = state
        self.limiter = limiter
        self.routes: list[BaseRoute] = []

    def add(
        self,
        path: str,
        method: str,
        handler: Handler,
        *,
        location: bool = True,
        user: bool = True,
        body: bool = False,
    ) -> None:
        """Register ``handler`` for ``method path`` with the shared checks."""

        async def endpoint(request: Request) -> Response:
            try:
                self._authorise(request, user=user)
                # Endpoints without a location in the path get the user's first one (unused by them).
                loc = self._location(request) if location else self.state.accessible_locations[0]
                data = await read_body(request) if body else {}
                with self.state.lock:
                    reply = handler(Call(request, self.state, loc, dict(request.query_params), data))
            except ApiError as error:
                return error_response(error)
            return envelope(True, reply.data, reply.meta, reply.status)

        endpoint.__name__ = getattr(handler, "__name__", "endpoint")
        self.routes.append(Route(path, endpoint, methods=[method]))

    def _authorise(self, request: Request, *, user: bool) -> None:
        options = self.state.options
        partner, user_token = parse_authorization(request.headers.get("authorization", ""))
        if not _same(partner, options.partner_token) or (user and not _same(user_token, options.user_token)):
            raise ApiError(401, AUTH_NEEDED)
        settings = self.state.settings
        wait = self.limiter.acquire(f"{partner}|{user_token or ''}", settings.rps, settings.rpm)
        if wait is not None:
            raise ApiError(429, "Too many requests.", headers={"Retry-After": retry_after_header(wait)})

    def _location(self, request: Request) -> LocationSeed:
        location = self.state.locations.get(request.path_params["location_id"])
        if location is None:
            raise ApiError(404, "Location not found")
        if not location.accessible:
            raise ApiError(403, ACCESS_DENIED)
        return location


# -- handlers ------------------------------------------------------------------------------


def auth(call: Call) -> Reply:
    """``POST /auth``: exchange login and password for the user token."""
    options = call.state.options
    reader = BodyReader(call.body)
    login = reader.text("login", required=True)
    password = reader.text("password", required=True)
    reader.raise_if_any()
    if not (_same(login, options.login) and _same(password, options.password)):
        raise ApiError(401, "Incorrect login or password.")
    data = {
        "id": USER_ID,
        "user_token": options.user_token,
        "name": USER_NAME,
        "phone": USER_PHONE,
        "login": options.login,
        "email": options.login,
        "avatar": "",
        "is_approved": True,
    }
    return Reply(data, status=201)


def companies(call: Call) -> Reply:
    """``GET /companies``: the chain's locations (``my=1``: only those the user may manage)."""
    _, user_token = parse_authorization(call.request.headers.get("authorization", ""))
    mine = call.query.get("my") in ("1", "true")
    if mine and not _same(user_token, call.state.options.user_token):
        raise ApiError(401, AUTH_NEEDED)
    locations = call.state.accessible_locations if mine else list(call.state.locations.values())
    return Reply([call.state.company_to_api(loc) for loc in locations], {"count": len(locations)})


def company(call: Call) -> Reply:
    """``GET /company/{location_id}``: one location, with its time zone."""
    return Reply(call.state.company_to_api(call.location))


def list_goods(call: Call) -> Reply:
    """``GET /goods/{location_id}``: a page of products matching the filters (no total)."""
    query = call.state.product_query(call.location, call.query)
    page, count = paging(call.query, 25, 1000)
    catalogue = call.state.catalogue(call.location)
    ids = page_rows(call, catalogue.find(query), page, count)
    return Reply([call.state.product_to_api(call.location, catalogue.require(good_id)) for good_id in ids])


def get_good(call: Call) -> Reply:
    """``GET /goods/{location_id}/{good_id}``: the product object (the official field list and a
    live client; only the rendered page's sample shows a list)."""
    product = call.state.catalogue(call.location).require(call.path_int("good_id"))
    return Reply(call.state.product_to_api(call.location, product))


def create_good(call: Call) -> Reply:
    """``POST /goods/{location_id}``: 201 with the new product."""
    product = call.state.create_product(call.location, call.body)
    return Reply(call.state.product_to_api(call.location, product), status=201)


def update_good(call: Call) -> Reply:
    """``PUT /goods/{location_id}/{good_id}``: the changed product object, as documented."""
    product = call.state.update_product(call.location, call.path_int("good_id"), call.body)
    return Reply(call.state.product_to_api(call.location, product))


def delete_good(call: Call) -> Reply:
    """``DELETE /goods/{location_id}/{good_id}``."""
    call.state.catalogue(call.location).delete(call.path_int("good_id"))
    return Reply(None)


def search_goods(call: Call) -> Reply:
    """``GET /goods/search/{location_id}``: categories first, then products, up to ``count``."""
    reader = BodyReader(call.query)
    term = reader.text("term") or reader.text("search_term")
    count = reader.integer("count") or reader.integer("max_count") or 25
    reader.raise_if_any()
    found = call.state.search_tree(call.location, term, min(count if count > 0 else 25, 100))
    return Reply(found, {"count": len(found)})


def category_node(call: Call) -> Reply:
    """``GET /goods/category_node/{location_id}/{category_id}``: a category and a page of children."""
    page, count = paging(call.query, 1000, 1000)
    return Reply(call.state.category_node(call.location, call.path_int("category_id"), page, count))


def list_categories(call: Call) -> Reply:
    """``GET /goods_categories/{location_id}[/{parent_id}]``: direct children of a parent (0: roots)."""
    parent = call.request.path_params.get("parent_id", 0)
    found = [c.to_api() for c in call.state.child_categories(call.location, parent)]
    return Reply(found, {"count": len(found)})


def categories_by_ids(call: Call) -> Reply:
    """``GET /goods_categories/multiple/{location_id}?ids[]=1&ids[]=2`` (also ``ids=1,2``)."""
    raw = call.request.query_params.getlist("ids[]") + call.request.query_params.getlist("ids")
    wanted = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    if not all(ascii_digits(part) for part in wanted):
        raise ApiError(422, "The given data was invalid.", {"ids": ["The ids must be integers."]})
    visible = {c.id: c for c in call.state.visible_categories(call.location)}
    found = [visible[int(i)].to_api() for i in dict.fromkeys(wanted) if int(i) in visible]
    return Reply(found, {"count": len(found)})


def create_category(call: Call) -> Reply:
    """``POST /goods_categories/{location_id}``."""
    return Reply(call.state.save_category(call.location, call.body).to_api())


def update_category(call: Call) -> Reply:
    """``PUT /goods_categories/{location_id}/{category_id}``."""
    return Reply(call.state.save_category(call.location, call.body, call.path_int("category_id")).to_api())


def delete_category(call: Call) -> Reply:
    """``DELETE /goods_categories/{location_id}/{category_id}`` (422 while not empty)."""
    call.state.delete_category(call.location, call.path_int("category_id"))
    return Reply(None)


def list_storages(call: Call) -> Reply:
    """``GET /storages/{location_id}``."""
    return Reply(
        [
            {
                "id": s.id,
                "title": s.title,
                "for_service": s.for_services,  # as the official example writes it
                "for_sale": s.for_sale,
                "comment": s.comment,
            }
            for s in call.location.storages
        ]
    )


def list_transactions(call: Call) -> Reply:
    """``GET /storages/transactions/{location_id}``: a page of transactions, oldest first."""
    page, count = paging(call.query, 20, 1000)
    found = page_rows(call, call.state.find_transactions(call.location, call.query), page, count)
    return Reply([call.state.transaction_to_api(tx) for tx in found])


def create_operation(call: Call) -> Reply:
    """``POST /storage_operations/operation/{location_id}``: document + transactions, stock moved."""
    return Reply(call.state.create_operation(call.location, call.body))


def create_document(call: Call) -> Reply:
    """``POST /storage_operations/documents/{location_id}``: an empty document (types 1, 3, 7)."""
    return Reply(call.state.create_document(call.location, call.body))


def add_transaction(call: Call) -> Reply:
    """``POST /storage_operations/goods_transactions/{location_id}``: one line of a document."""
    return Reply(call.state.add_transaction(call.location, call.body))


def get_document(call: Call) -> Reply:
    """``GET /storage_operations/documents/{location_id}/{document_id}``."""
    return Reply(call.state.document_to_api(call.state.document(call.path_int("document_id"), call.location)))


def delete_document(call: Call) -> Reply:
    """``DELETE /storage_operations/documents/{location_id}/{document_id}``: 202, as documented."""
    call.state.delete_document(call.location, call.path_int("document_id"))
    return Reply(None, status=202)


def document_transactions(call: Call) -> Reply:
    """``GET /storage_operations/documents/goods_transactions/{document_id}``."""
    document = call.state.document(call.path_int("document_id"))
    if not call.state.locations[document.location_id].accessible:
        raise ApiError(403, ACCESS_DENIED)
    found = [
        call.state.transaction_record_to_api(call.state.transactions[t]) for t in document.transaction_ids
    ]
    return Reply(found, {"count": len(found)})


def _altegio_routes(state: SandboxState, limiter: SlidingWindowLimiter) -> list[BaseRoute]:
    api = AltegioApi(state, limiter)
    api.add("/auth", "POST", auth, location=False, user=False, body=True)
    api.add("/companies", "GET", companies, location=False, user=False)
    api.add("/company/{location_id:int}", "GET", company)
    api.add("/goods/search/{location_id:int}", "GET", search_goods)
    api.add("/goods/category_node/{location_id:int}/{category_id:int}", "GET", category_node)
    api.add("/goods/{location_id:int}", "GET", list_goods)
    api.add("/goods/{location_id:int}", "POST", create_good, body=True)
    api.add("/goods/{location_id:int}/{good_id:int}", "GET", get_good)
    api.add("/goods/{location_id:int}/{good_id:int}", "PUT", update_good, body=True)
    api.add("/goods/{location_id:int}/{good_id:int}", "DELETE", delete_good)
    api.add("/goods_categories/multiple/{location_id:int}", "GET", categories_by_ids)
    api.add("/goods_categories/{location_id:int}", "GET", list_categories)
    api.add("/goods_categories/{location_id:int}/{parent_id:int}", "GET", list_categories)
    api.add("/company/{location_id:int}/goods_categories", "GET", list_categories)
    api.add("/company/{location_id:int}/goods_categories/{parent_id:int}", "GET", list_categories)
    api.add("/goods_categories/{location_id:int}", "POST", create_category, body=True)
    api.add("/goods_categories/{location_id:int}/{category_id:int}", "PUT", update_category, body=True)
    api.add("/goods_categories/{location_id:int}/{category_id:int}", "DELETE", delete_category)
    api.add("/storages/transactions/{location_id:int}", "GET", list_transactions)
    api.add("/storages/{location_id:int}", "GET", list_storages)
    api.add("/storage_operations/operation/{location_id:int}", "POST", create_operation, body=True)
    api.add("/storage_operations/documents/{location_id:int}", "POST", create_document, body=True)
    api.add("/storage_operations/goods_transactions/{location_id:int}", "POST", add_transaction, body=True)
    api.add(
        "/storage_operations/documents/goods_transactions/{document_id:int}",
        "GET",
        document_transactions,
        location=False,
    )
    api.add("/storage_operations/documents/{location_id:int}/{document_id:int}", "GET", get_document)
    api.add("/storage_operations/documents/{location_id:int}/{document_id:int}", "DELETE", delete_document)
    return api.routes


# -- Altacolor -----------------------------------------------------------------------------


def _altacolor_routes(state: SandboxState) -> list[BaseRoute]:
    async def params(request: Request) -> dict[str, str]:
        merged = dict(request.query_params)
        if request.method == "POST":
            raw = (await request.body()).decode("utf-8", "replace")
            merged.update(parse_qsl(raw, keep_blank_values=True))
        return merged

    def gate(values: Mapping[str, str]) -> None:
        options = state.options
        if not state.settings.altacolor_enabled:
            raise AltacolorError(31000)
        if not (
            _same(values.get("username"), options.altacolor_username)
            and _same(values.get("password"), options.altacolor_password)
        ):
            raise AltacolorError(30001)

    def endpoint(operation: Callable[[Mapping[str, str]], dict[str, Any]]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            values = await params(request)
            try:
                gate(values)
            except AltacolorError as error:
                return JSONResponse(error_answer(error))
            with state.lock:
                return JSONResponse(operation(values))

        return handle

    return [
        Route("/api/json/manage_products/find", endpoint(state.altacolor.find), methods=["GET", "POST"]),
        Route("/api/json/manage_products/get", endpoint(state.altacolor.get), methods=["GET", "POST"]),
    ]


# -- application ---------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: "Not found", 405: "Method not allowed"}.get(status, "Request failed")
    return envelope(False, None, {"message": message}, status)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("sandbox: unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(False, None, {"message": "Internal server error"}, 500)


def _without_trailing_slash(app: ASGIApp) -> ASGIApp:
    """Serve ``/company/1001/`` as ``/company/1001``: YCLIENTS' documents write some paths with a
    trailing slash and clients built from them send it (Starlette would answer a redirect)."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await app(scope, receive, send)

    return serve


@dataclass
class SandboxApp:
    """The ASGI application with the handles the control API and tests use."""

    state: SandboxState
    faults: FaultRegistry
    requests: RequestLog
    limiter: SlidingWindowLimiter
    asgi: FaultLayer

    def reset(self) -> None:
        """Seeded state, no faults, empty request log, fresh rate-limit windows."""
        self.state.reset()
        self.faults.reset()
        self.requests.clear()
        self.limiter.reset()


def create_app(state: SandboxState) -> SandboxApp:
    """Build the sandbox application around ``state``."""
    limiter = SlidingWindowLimiter()
    faults = FaultRegistry()
    requests = RequestLog()
    holder: dict[str, SandboxApp] = {}
    routes: list[BaseRoute] = [
        Mount("/api/v1", routes=_altegio_routes(state, limiter)),
        *_altacolor_routes(state),
        Mount("/_sandbox", routes=control_routes(lambda: holder["app"])),
    ]
    starlette = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app = SandboxApp(
        state, faults, requests, limiter, FaultLayer(_without_trailing_slash(starlette), faults, requests)
    )
    holder["app"] = app
    return app
