"""The edge's API description: an OpenAPI 3.1 document, served at `GET /openapi.json`.

What is true by construction is derived, not written down: the paths and methods come
from the app's own route table (mounted apps included), path parameters from the route
templates, and who must authenticate from the API-key middleware's own `is_exempt` and
the console's login rules. What each operation takes and answers is written down once, in
openapi_operations.py (the shapes in openapi_schemas.py). `coverage(routes)` names routes
without an entry and entries without a route; tests/api/test_openapi.py fails on either.
A route without an entry is still served, marked `x-undocumented`, never hidden.

The document needs an API key like every operator path: it maps the whole operator
surface, and the middleware's rule is that an unauthenticated caller never gets a map
of the routes. Tools fetch it with the same header they then test with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.convertors import Convertor, FloatConvertor, IntegerConvertor, PathConvertor, UUIDConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..console.auth import STATIC
from ..console.session import COOKIE, LOGIN, PREFIX
from ..middleware.apikeys import PROBES, is_exempt
from ..responses import JSONResponse
from . import ApiContext
from .openapi_operations import OPERATIONS, TAGS, error_response
from .openapi_schemas import SCHEMAS

Key = tuple[str, str]  # (METHOD, /path/{template})
KEYED: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
CONSOLE_SESSION: list[dict[str, list[str]]] = [{"consoleSession": []}]
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "ask_…",
                   "description": "An API key from `alertstream keys create` (SECURITY.md)."},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "The same API key in an X-API-Key header."},
    "consoleSession": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                       "description": "The web console's session cookie, set by POST /console/login."},
}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def endpoints(routes: Iterable[BaseRoute], prefix: str = "") -> dict[Key, dict[str, Convertor[Any]]]:
    """Every (method, path template) the routes serve, with its path parameters. HEAD, which
    Starlette adds to every GET, is left out; a mounted app without routes (static files)
    is one GET of `{path}` under its mount point."""
    found: dict[Key, dict[str, Convertor[Any]]] = {}
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found[(method, prefix + route.path)] = dict(route.param_convertors)
        elif isinstance(route, Mount):
            inner = list(route.routes or [])
            if inner:
                found.update(endpoints(inner, prefix + route.path))
            else:
                found[("GET", f"{prefix}{route.path}/{{path}}")] = {"path": PathConvertor()}
    return found


def coverage(routes: Iterable[BaseRoute]) -> tuple[list[Key], list[Key]]:
    """(routes without a documented operation, documented operations without a route)."""
    served = set(endpoints(routes))
    return sorted(served - set(OPERATIONS)), sorted(set(OPERATIONS) - served)


def _parameter_schema(convertor: Convertor[Any]) -> dict[str, Any]:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number", "minimum": 0}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    if isinstance(convertor, PathConvertor):
        return {"type": "string"}
    # Starlette's string convertor: one path segment, never empty, never a slash.
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def access(method: str, path: str) -> str:
    """'probe', 'open' (no credential), 'console' (the console's session) or 'key' (an API key)."""
    if path in PROBES:
        return "probe"
    if path == PREFIX or path.startswith(PREFIX + "/"):
        return "open" if path == LOGIN or path.startswith(STATIC) else "console"
    return "open" if is_exempt(method, path) else "key"


def _guard_responses(kind: str) -> dict[str, Any]:
    """What the middleware answers before a handler runs, by the kind of access."""
    limited = {"429": error_response(429)}
    if kind == "probe":
        return {}
    if kind == "key":
        return {"401": error_response(401), "403": error_response(403), **limited, "503": error_response(503)}
    if kind == "console":
        return {"303": {"description": "No live session: to the login page (`Location`)."},
                "401": {"description": "No live session, for the page's own `X-Console-Fetch` requests.",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                "503": {"description": "The session store (database) does not answer.", "content": _HTML},
                **limited}
    return limited


def operation(method: str, path: str, convertors: dict[str, Convertor[Any]]) -> dict[str, Any]:
    """The documented operation, completed from the route: path parameters, security, guard responses."""
    written = OPERATIONS.get((method, path))
    op: dict[str, Any] = dict(written) if written else {
        "summary": "Undocumented route", "x-undocumented": True,
        "responses": {"default": {"description": "Not described yet."}},
    }
    overrides = op.pop("path_parameters", {})
    path_parameters = [
        {"name": name, "in": "path", "required": True, "schema": overrides.get(name, _parameter_schema(convertor))}
        for name, convertor in convertors.items()
    ]
    op["parameters"] = path_parameters + list(op.get("parameters", []))
    kind = access(method, path)
    op["security"] = KEYED if kind == "key" else CONSOLE_SESSION if kind == "console" else []
    op["responses"] = {**_guard_responses(kind), **op["responses"]}
    op.setdefault("operationId", _operation_id(method, path))
    return op


def _operation_id(method: str, path: str) -> str:
    words = [part.strip("{}").replace(".", "_").replace("-", "_") for part in path.split("/") if part]
    return "_".join([method.lower(), *words]) or method.lower()


def _version() -> str:
    try:
        return version("alertstream")
    except PackageNotFoundError:
        return "0"


def build_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), convertors in sorted(endpoints(routes).items(), key=lambda item: item[0][1]):
        paths.setdefault(path, {})[method.lower()] = operation(method, path, convertors)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alertstream edge",
            "version": _version(),
            "description": "Webhook intake, the operator API and the web console of alertstream. Every path needs "
                           "an API key (`Authorization: Bearer ask_…` or `X-API-Key`) except those whose `security` "
                           "is empty: GET /alerts/webhook/, /healthz, /readyz, and /console (its own login session "
                           "and CSRF token). Every error is JSON with an `error` field (the console answers HTML). "
                           "Every path but the probes is rate limited per key (or client address) and path prefix.",
        },
        "tags": TAGS,
        "security": KEYED,
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


def routes(ctx: ApiContext) -> list[BaseRoute]:
    cache: dict[int, bytes] = {}

    async def openapi_json(request: Request) -> Response:
        # Built from the routes the running app really serves (settings can leave the console out).
        app = request.app
        if id(app) not in cache:
            cache[id(app)] = bytes(JSONResponse(build_document(app.routes)).body)
        return Response(cache[id(app)], media_type="application/json")

    return [Route("/openapi.json", openapi_json, methods=["GET"])]
