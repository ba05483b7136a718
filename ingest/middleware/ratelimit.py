"""Rate limits as middleware: per UTC minute, per identity (API key name, else client IP), per path prefix.

Runs inside ApiKeyMiddleware, so the key is known. Over the limit: 429 with
Retry-After (seconds to the next window); every counted response carries
RateLimit-Limit / -Remaining / -Reset. The probes (/healthz, /readyz) are not
counted: an orchestrator must never be throttled.

ALERTSTREAM_RATE_LIMITS (JSON; every field optional, prefixes merge over the defaults):
    {"prefixes": {"/alerts/": 60000, "/api/": 600}, "default": 600,
     "keys": {"grafana-prod": {"/alerts/": 200000}}}
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..client_ip import TrustedProxies
from ..ratelimit import DEFAULT_LIMIT, DEFAULT_PREFIX_LIMITS, RateLimiter, RateLimits
from ..responses import JSONResponse
from .apikeys import PROBES


def limits_from_json(text: str) -> RateLimits:
    """RateLimits from the setting's JSON ("" = the defaults). ValueError names what is wrong."""
    if not text.strip():
        return RateLimits()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"ALERTSTREAM_RATE_LIMITS is not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or set(data) - {"prefixes", "default", "keys"}:
        raise ValueError("ALERTSTREAM_RATE_LIMITS must be an object with 'prefixes', 'default' and/or 'keys'")
    prefixes = _limits("prefixes", data.get("prefixes", {}))
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ValueError("ALERTSTREAM_RATE_LIMITS: 'keys' must map a key name to {prefix: limit}")
    default = data.get("default", DEFAULT_LIMIT)
    if isinstance(default, bool) or not isinstance(default, int):
        raise ValueError("ALERTSTREAM_RATE_LIMITS: 'default' must be a whole number")
    return RateLimits(
        prefixes={**DEFAULT_PREFIX_LIMITS, **prefixes},
        default=default,
        keys={str(name): _limits(f"keys.{name}", per_key) for name, per_key in keys.items()},
    )


def _limits(where: str, raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in raw.values()
    ):
        raise ValueError(f"ALERTSTREAM_RATE_LIMITS: {where!r} must map a path prefix to a whole number per minute")
    return {str(k): int(v) for k, v in raw.items()}


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, proxies: TrustedProxies) -> None:
        self.app = app
        self.limiter = limiter
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        key = scope.get("state", {}).get("api_key")
        name = key.name if key is not None else None
        client_ip = None if name else self.proxies.from_scope(scope)
        decision = await self.limiter.check(scope["path"], key_name=name, client_ip=client_ip)
        headers = decision.headers()
        if not decision.allowed:
            response = JSONResponse(
                {"error": "rate limited", "limit_per_minute": decision.limit, "retry_after": decision.retry_after},
                status_code=429, headers=headers,
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for field, value in headers.items():
                    out[field] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
