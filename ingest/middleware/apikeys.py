"""Every path needs an API key, except the webhook's GET, /healthz, /readyz and the web
console under /console (it has its own login session and CSRF checks: ingest/console/auth.py).

Middleware, not a per-route check, so operator API modules mounted later
(ingest/api/) are covered without doing anything — and so are paths that do
not exist: an unauthenticated caller gets 401, never a map of the routes.

A webhook POST without a key is let through to the handler when the path's
source may be authenticated by its own policy (a vendor signature, ingest/auth);
the handler then admits it only if that policy verified it (see Edge.webhook
and SECURITY.md). A key that is presented is always checked here: unknown or
revoked → 401, outside its path prefixes → 403. The admitted key is left in
`request.state.api_key` (an ActiveKey, or None for a signature-only webhook).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from alertstream.storage.apikeys import ActiveKey

from ..apikeys import KeyCache, KeysUnavailable, presented_key
from ..responses import JSONResponse

WEBHOOK_PREFIX = "/alerts/webhook/"
PROBES = frozenset({"/healthz", "/readyz"})
CONSOLE = "/console"  # the web console authenticates with its own login session (ingest/console/auth.py)
_CHALLENGE = 'Bearer realm="alertstream"'


def is_exempt(method: str, path: str) -> bool:
    return (path in PROBES or (path == WEBHOOK_PREFIX and method in ("GET", "HEAD"))
            or path == CONSOLE or path.startswith(CONSOLE + "/"))


def set_api_key(scope: Scope, key: ActiveKey | None) -> None:
    # scope["state"] is what request.state reads; the server gives each request its own copy.
    scope.setdefault("state", {})["api_key"] = key


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyCache, signature_may_admit: Callable[[str], bool]) -> None:
        """signature_may_admit(path): True when a keyless POST to this webhook path may still be
        admitted by its source's authentication policy (decided by the handler)."""
        self.app = app
        self.keys = keys
        self.signature_may_admit = signature_may_admit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        raw = presented_key(Headers(scope=scope))
        if raw is None:
            if scope["method"] == "POST" and path.startswith(WEBHOOK_PREFIX) and self.signature_may_admit(path):
                set_api_key(scope, None)
                await self.app(scope, receive, send)
                return
            response = JSONResponse(
                {"error": "missing API key", "hint": "send Authorization: Bearer <key> or X-API-Key: <key>"},
                status_code=401, headers={"WWW-Authenticate": _CHALLENGE},
            )
            await response(scope, receive, send)
            return
        try:
            key = await self.keys.lookup(raw)
        except KeysUnavailable:
            response = JSONResponse({"error": "authentication unavailable", "hint": "retry shortly"},
                                    status_code=503, headers={"Retry-After": "5"})
            await response(scope, receive, send)
            return
        if key is None:
            response = JSONResponse({"error": "invalid API key"}, status_code=401,
                                    headers={"WWW-Authenticate": _CHALLENGE + ', error="invalid_token"'})
        elif not key.allows_path(path):
            response = JSONResponse({"error": "API key not allowed for this path", "key": key.name},
                                    status_code=403)
        else:
            set_api_key(scope, key)
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
