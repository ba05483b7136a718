"""Who may use the console: a pure-ASGI middleware that admits a request only with a live
session (else: to the login page, or 401 for the live fragments), and the login and logout
handlers. The edge's API-key middleware exempts /console (ingest/middleware/apikeys.py):
from there on this module is the console's authentication, and no API key reaches a browser.

Every console response also carries the security headers set here: a strict CSP (no inline
script or style), no framing, no caching, no referrer outside the site.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

import psycopg
from psycopg_pool import PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alertstream.storage import console_users as users

from . import passwords
from .forms import FormError, read_form
from .render import Console
from .session import (
    COOKIE,
    LOGIN,
    LOGIN_COOKIE,
    PREFIX,
    cookie_secure,
    csrf_token,
    new_token,
    safe_next,
    token_hash,
    verdict,
)

log = logging.getLogger(__name__)

STATIC = f"{PREFIX}/static/"
FETCH_HEADER = "x-console-fetch"  # sent by static/live.js: answer 401 instead of a login page
TOUCH_EVERY_S = 30  # last_seen_at is written at most this often per session
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
DB_ERRORS = (psycopg.Error, PoolTimeout)


class ConsoleAuth:
    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path: str = scope["path"]
        if path == LOGIN or path.startswith(STATIC):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        raw = request.cookies.get(COOKIE)
        try:
            user = await self.session_user(raw) if raw else None
        except DB_ERRORS as exc:
            log.warning("console sessions unavailable: %s", type(exc).__name__)
            await _unavailable(scope, receive, send)
            return
        if user is None:
            response: Response
            if request.headers.get(FETCH_HEADER):
                response = Response("session ended", status_code=401, media_type="text/plain")
            else:
                here = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
                response = RedirectResponse(f"{LOGIN}?next={quote(here, safe='')}", status_code=303)
            if raw:
                response.delete_cookie(COOKIE, path=PREFIX)
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state.update(console_user=user, csrf=csrf_token(raw or ""), session_hash=token_hash(raw or ""))
        await self.app(scope, receive, send)

    async def session_user(self, raw: str) -> str | None:
        """The user of a live session; an idle or expired one is deleted on the way."""
        pool = await self.console.api.pool()
        hashed = token_hash(raw)
        found = await users.load_session(pool, hashed)
        if found is None:
            return None
        now = self.console.clock()
        if verdict(found.created_at, found.last_seen_at, now, self.console.idle_s, self.console.max_s) != "ok":
            await users.end_session(pool, hashed)
            return None
        if (now - found.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
            await users.touch_session(pool, hashed, now)
        return found.user_name


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        await send(message)

    return wrapped


async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    response = HTMLResponse("<!doctype html><title>Unavailable</title><p>The database does not answer; "
                            "try again in a moment.</p>", status_code=503, headers={"Retry-After": "5"})
    await response(scope, receive, send)


def _secure(request: Request) -> bool:
    return cookie_secure(request.url.scheme, request.headers.get("host", ""))


Handler = Callable[[Request], Awaitable[Response]]


def login_routes(console: Console) -> tuple[Handler, Handler, Handler]:
    """(show login, submit login, logout) handlers."""
    # At most two password checks at once per edge process (each takes ~50 ms and 64 MiB):
    # a flood of logins queues here instead of exhausting the machine.
    checking = asyncio.Semaphore(2)

    def login_page(request: Request, status: int = 200, error: str = "", name: str = "") -> Response:
        token = new_token()
        response = console.render(request, "login.html", status=status, login_csrf=token, error=error, name=name,
                                  next=safe_next(request.query_params.get("next")))
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=LOGIN, secure=_secure(request),
                            httponly=True, samesite="strict")
        return response

    async def show(request: Request) -> Response:
        return login_page(request)

    async def submit(request: Request) -> Response:
        try:
            form = await read_form(request, request.cookies.get(LOGIN_COOKIE, ""))
        except FormError as exc:
            return login_page(request, exc.status, exc.message)
        name, password = form.get("name", "").strip(), form.get("password", "")
        try:
            users.validate_name(name)
            found = await users.credentials(await console.api.pool(), name)
        except ValueError:
            found = None
        async with checking:
            ok = await asyncio.to_thread(passwords.verify, found.password_hash if found else None, password)
        if found is None or not ok or found.disabled:
            return login_page(request, 401, "Wrong name or password.", name=name)
        token = new_token()
        rehashed = None
        if await asyncio.to_thread(passwords.needs_rehash, found.password_hash):
            rehashed = await asyncio.to_thread(passwords.rehash, password)
        now = console.clock()
        await users.start_session(await console.api.pool(), token_hash(token), found.name, now, rehashed=rehashed,
                                  forget_before=now - timedelta(seconds=console.idle_s))
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        response.set_cookie(COOKIE, token, max_age=int(console.max_s), path=PREFIX, secure=_secure(request),
                            httponly=True, samesite="lax")
        response.delete_cookie(LOGIN_COOKIE, path=LOGIN)
        return response

    async def logout(request: Request) -> Response:
        try:
            await read_form(request, request.state.csrf)
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        await users.end_session(await console.api.pool(), request.state.session_hash)
        response = RedirectResponse(f"{LOGIN}?flash=logged-out", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    return show, submit, logout
