"""The control API under ``/_sandbox`` (outside ``/api``, no auth): faults, reset, state, config.

* ``GET  /_sandbox/health``                      -> ``{"status": "ok"}``
* ``GET  /_sandbox/info``                        -> locations, storages, catalogue size
* ``POST /_sandbox/faults``                      -> add one rule (object) or several (list)
* ``GET  /_sandbox/faults`` / ``DELETE`` (all) / ``DELETE /_sandbox/faults/{id}``
* ``POST /_sandbox/reset``                       -> seeded state, no faults, empty request log
* ``GET  /_sandbox/state``                       -> documents, transactions, stock of changed
  products; filters ``location_id``, ``good_id`` (repeat or comma list), ``document_id``,
  ``comment`` (substring), ``include_seeded=1``
* ``GET/POST /_sandbox/config``                  -> ``rps``, ``rpm``, ``allow_negative_stock``,
  ``altacolor_enabled`` at run time (reset restores the startup values)
* ``GET  /_sandbox/requests`` / ``DELETE``       -> the API request log (``method``, ``path`` filters)
* ``POST /_sandbox/altacolor/products/{id}``     -> change a supplier product; moves ``date_modified``
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from airflow_provider_altegio.sandbox.dates import ascii_digits

if TYPE_CHECKING:
    from starlette.requests import Request

    from airflow_provider_altegio.sandbox.app import SandboxApp

AppGetter = Callable[[], "SandboxApp"]
_CONFIG_TYPES: dict[str, type] = {
    "rps": float,
    "rpm": float,
    "allow_negative_stock": bool,
    "altacolor_enabled": bool,
}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _valid_setting(name: str, value: Any) -> bool:
    kind = _CONFIG_TYPES.get(name)
    if kind is bool:
        return isinstance(value, bool)
    return kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _ints(values: list[str], name: str) -> list[int]:
    parts = [p.strip() for v in values for p in v.split(",") if p.strip()]
    if not all(ascii_digits(p, signed=True) for p in parts):
        raise ValueError(f"{name}: must be integers")
    return [int(p) for p in parts]


def control_routes(get_app: AppGetter) -> list[BaseRoute]:
    """Routes of the control API; ``get_app`` returns the running :class:`SandboxApp`."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def info(request: Request) -> Response:
        state = get_app().state
        with state.lock:
            return JSONResponse(
                {
                    "locations": [
                        {
                            "id": loc.id,
                            "title": loc.title,
                            "accessible": loc.accessible,
                            "storages": [
                                {
                                    "id": s.id,
                                    "title": s.title,
                                    "for_sale": s.for_sale,
                                    "for_services": s.for_services,
                                }
                                for s in loc.storages
                            ],
                        }
                        for loc in state.chain.locations
                    ],
                    "products_per_location": state.chain.size,
                    "supplier_products": len(state.altacolor.products),
                    "seed": state.options.seed,
                }
            )

    async def add_faults(request: Request) -> Response:
        body = await _json(request)
        specs = (
            body if isinstance(body, list) else body.get("faults", [body]) if isinstance(body, dict) else None
        )
        if not isinstance(specs, list) or not all(isinstance(s, Mapping) for s in specs):
            return _error(422, 'body: a fault object, a list of them, or {"faults": [...]}')
        registry = get_app().faults
        added = []
        try:
            for spec in specs:
                added.append(registry.add(spec).to_api())
        except ValueError as exc:
            for rule in added:
                registry.remove(rule["id"])
            return _error(422, str(exc))
        return JSONResponse({"faults": added}, status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": get_app().faults.list()})

    async def clear_faults(request: Request) -> Response:
        get_app().faults.clear()
        return JSONResponse({"faults": []})

    async def remove_fault(request: Request) -> Response:
        if not get_app().faults.remove(request.path_params["fault_id"]):
            return _error(404, "fault not found")
        return JSONResponse({"removed": request.path_params["fault_id"]})

    async def reset(request: Request) -> Response:
        get_app().reset()
        return JSONResponse({"status": "reset"})

    async def state_dump(request: Request) -> Response:
        state = get_app().state
        query = request.query_params
        try:
            location = _ints(query.getlist("location_id"), "location_id")
            document = _ints(query.getlist("document_id"), "document_id")
            goods = _ints(query.getlist("good_id") + query.getlist("good_ids"), "good_id")
        except ValueError as exc:
            return _error(422, str(exc))
        with state.lock:
            dump = state.dump(
                location_id=location[0] if location else None,
                good_ids=goods,
                document_id=document[0] if document else None,
                comment=query.get("comment"),
                include_seeded=query.get("include_seeded") in ("1", "true"),
            )
        dump["rate_limited"] = get_app().limiter.refused
        return JSONResponse(dump)

    async def config(request: Request) -> Response:
        state = get_app().state
        if request.method == "POST":
            body = await _json(request)
            if not isinstance(body, dict):
                return _error(422, "body: must be a JSON object")
            bad = next((name for name, value in body.items() if not _valid_setting(name, value)), None)
            if bad is not None:
                return _error(422, f"{bad}: unknown setting or wrong type")
            with state.lock:
                for name, value in body.items():
                    setattr(state.settings, name, _CONFIG_TYPES[name](value))
        return JSONResponse(state.settings_to_api())

    async def requests(request: Request) -> Response:
        log = get_app().requests
        if request.method == "DELETE":
            log.clear()
            return JSONResponse({"requests": []})
        return JSONResponse(
            {"requests": log.entries(request.query_params.get("method"), request.query_params.get("path"))}
        )

    async def change_supplier_product(request: Request) -> Response:
        state = get_app().state
        body = await _json(request)
        if not isinstance(body, dict):
            return _error(422, "body: must be a JSON object")
        with state.lock:
            try:
                product = state.altacolor.change(request.path_params["product_id"], body)
            except KeyError:
                return _error(404, "supplier product not found")
            except (TypeError, ValueError) as exc:
                return _error(422, str(exc))
            return JSONResponse(product.to_api(detailed=True))

    return [
        Route("/health", health, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/faults", add_faults, methods=["POST"]),
        Route("/faults", list_faults, methods=["GET"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/faults/{fault_id:int}", remove_fault, methods=["DELETE"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/state", state_dump, methods=["GET"]),
        Route("/config", config, methods=["GET", "POST"]),
        Route("/requests", requests, methods=["GET", "DELETE"]),
        Route("/altacolor/products/{product_id:int}", change_supplier_product, methods=["POST"]),
    ]
