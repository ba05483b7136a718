"""Pure-ASGI middleware of the edge, outermost first: API keys, then rate limits."""

from __future__ import annotations

from .apikeys import ApiKeyMiddleware, is_exempt
from .ratelimit import RateLimitMiddleware, limits_from_json

__all__ = ["ApiKeyMiddleware", "RateLimitMiddleware", "is_exempt", "limits_from_json"]
