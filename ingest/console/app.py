"""The web console, mounted by the edge at /console through ingest/api's API_MODULES.

Server-rendered (Jinja2), no single-page app: a few lines of static/live.js refresh the
counts and an incident's state. Its own authentication (auth.py: a login and a session
cookie) stands in for the API key, which the edge's middleware does not ask of /console.

    GET  /console/login, POST /console/login, POST /console/logout
    GET  /console/incidents?status=&severity=&source=&since=   and /incidents/counts (fragment)
    GET  /console/incidents/{id}   and /incidents/{id}/live (fragment)
    POST /console/incidents/{id}/acknowledge|resolve|close|note
    GET  /console/silences?all=1, POST /console/silences, POST /console/silences/{id}/expire
    GET  /console/channels, POST /console/channels/{name}/test
    GET  /console/deliveries?status=&incident=, POST /console/deliveries/{key}/retry
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..api import ApiContext
from . import channels, incidents, silences
from .auth import DB_ERRORS, ConsoleAuth, login_routes
from .render import Console, environment
from .session import HOME, PREFIX

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build(ctx: ApiContext, clock: Callable[[], datetime] = _utcnow) -> Starlette:
    """The console as an ASGI app (paths relative to its mount point)."""
    edge = ctx.settings.edge
    console = Console(ctx, environment(), edge.console_idle_s, edge.console_session_s, clock)
    show_login, submit_login, logout = login_routes(console)

    async def home(request: Request) -> Response:
        return RedirectResponse(HOME, status_code=303)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "No such page.", 405: "That is not something this page does."}.get(status, "Error.")
        return console.error(request, status, message)

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("console: database unavailable: %s", type(exc).__name__)
        response = console.error(request, 503, "The database does not answer; try again in a moment.")
        response.headers["Retry-After"] = "5"
        return response

    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route("/login", show_login, methods=["GET"]),
        Route("/login", submit_login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *incidents.routes(console),
        *silences.routes(console),
        *channels.routes(console),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    async def refused_input(request: Request, exc: Exception) -> Response:
        # e.g. a NUL character in a path or filter: PostgreSQL refuses it, and so do we.
        return console.error(request, 400, "That input cannot be used: it holds a character the database refuses.")

    handlers: dict[type[Exception] | int, Callable[..., object]] = {404: http_error, 405: http_error}
    for error in DB_ERRORS:
        handlers[error] = unavailable
    handlers[psycopg.DataError] = refused_input
    return Starlette(routes=routes, middleware=[Middleware(ConsoleAuth, console=console)],
                     exception_handlers=handlers)  # type: ignore[arg-type]


def routes(ctx: ApiContext) -> list[BaseRoute]:
    if not ctx.settings.edge.console:
        return []
    return [Mount(PREFIX, app=build(ctx))]
