"""Fixed-window rate limits: per UTC minute, per identity, per path prefix.

A fixed window is one counter per (prefix, identity, minute): one Redis
round-trip per request and O(1) memory per active caller. It lets through up to
2x the limit across a window boundary; that is acceptable for abuse control
and far cheaper than a sliding log.

The identity is the API key's name when the request carried one, else the
client IP (see client_ip.py). `decide` is pure; `RateLimiter` adds a backend
and an injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
DEFAULT_PREFIX_LIMITS: Mapping[str, int] = MappingProxyType({"/alerts/": 60_000})
DEFAULT_LIMIT = 600


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits. `prefixes` maps a path prefix to its limit (longest match
    wins); other paths are counted per first segment at `default`. `keys` overrides
    per key name: {"grafana-prod": {"/alerts/": 200_000}}."""

    prefixes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PREFIX_LIMITS))
    default: int = DEFAULT_LIMIT
    keys: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        overrides = [item for per_key in self.keys.values() for item in per_key.items()]
        for prefix, limit in [*self.prefixes.items(), *overrides]:
            if not prefix.startswith("/"):
                raise ValueError(f"rate-limit prefix {prefix!r} must start with '/'")
            if limit < 0:
                raise ValueError(f"rate limit for {prefix!r} must be >= 0, got {limit}")
        if self.default < 0:
            raise ValueError(f"default rate limit must be >= 0, got {self.default}")

    def bucket(self, path: str, key_name: str | None) -> tuple[str, int]:
        """The prefix this path is counted under, and that prefix's limit for this caller."""
        overrides = self.keys.get(key_name, {}) if key_name else {}
        matches = [p for p in (*self.prefixes, *overrides) if path.startswith(p)]
        if matches:
            prefix = max(matches, key=len)
        else:
            # Unconfigured areas each get their own bucket, so a scan of /api/x
            # does not eat the budget of /admin/y.
            first = path.lstrip("/").split("/", 1)[0]
            prefix = f"/{first}/" if first else "/"
        limit = overrides.get(prefix, self.prefixes.get(prefix, self.default))
        return prefix, limit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the next window opens (>= 1)

    def headers(self) -> dict[str, str]:
        """RateLimit-* fields (IETF draft-ietf-httpapi-ratelimit-headers) plus Retry-After when refused."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.retry_after),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


def window_of(now: float) -> tuple[int, int]:
    """The UTC-minute window index for epoch seconds `now`, and whole seconds until the next."""
    window = int(now // WINDOW_SECONDS)
    return window, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def decide(count: int, limit: int, retry_after: int) -> Decision:
    """Pure: `count` is this request's position in the window (1 = first)."""
    return Decision(count <= limit, limit, max(0, limit - count), retry_after)


class BackendUnavailable(Exception):
    """The counter store could not be reached."""


class Backend(Protocol):
    async def incr(self, key: str, window: int, ttl: int) -> int:
        """Count one hit on `key` in `window`; the new count. Keys expire after `ttl` seconds."""
        ...


class MemoryBackend:
    """Counters in this process: for tests, dev and single-process edges."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    async def incr(self, key: str, window: int, ttl: int) -> int:
        if window != self._window:
            # Old windows are never read again; dropping them bounds memory.
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count


class RedisBackend:
    """Counters shared by every edge process. `redis` is a redis.asyncio.Redis.

    Hits on one counter that arrive in the same event-loop turn share one INCRBY: under load
    dozens of requests wait together, so the edge makes one Redis round trip per counter per
    turn instead of one per request. Each request still gets its own position in the window."""

    def __init__(self, redis: Redis, prefix: str = "alertstream:rl", timeout: float = 0.25) -> None:
        self.redis = redis
        self.prefix = prefix
        # A request waits at most this long for its count: a slow Redis (or the
        # client's own reconnect retries) must cost milliseconds, not seconds.
        self.timeout = timeout
        self._pending: dict[str, _Hits] = {}

    async def incr(self, key: str, window: int, ttl: int) -> int:
        name = f"{self.prefix}:{window}:{key}"
        hits = self._pending.get(name)
        if hits is None:
            hits = self._pending[name] = _Hits(asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().call_soon(self._count, name, ttl)
        hits.n += 1
        position = hits.n
        total = await asyncio.shield(hits.total)
        return total - hits.n + position

    def _count(self, name: str, ttl: int) -> None:
        hits = self._pending.pop(name)
        task = asyncio.get_running_loop().create_task(self._send(name, hits.n, ttl))
        task.add_done_callback(lambda done: _settle(hits.total, done))

    async def _send(self, name: str, n: int, ttl: int) -> int:
        try:
            # One round-trip; no MULTI needed: INCRBY is atomic and a lost EXPIRE
            # only leaves a key that the next request's EXPIRE covers.
            async with asyncio.timeout(self.timeout), self.redis.pipeline(transaction=False) as pipe:
                pipe.incrby(name, n)
                pipe.expire(name, ttl)
                count, _ = await pipe.execute()
        except TimeoutError:
            raise BackendUnavailable(f"no answer within {self.timeout}s") from None
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        return int(count)


@dataclass
class _Hits:
    total: asyncio.Future[int]
    n: int = 0


def _settle(total: asyncio.Future[int], done: asyncio.Task[int]) -> None:
    if total.done():
        return
    if done.cancelled():
        total.set_exception(BackendUnavailable("cancelled"))
    elif done.exception() is not None:
        total.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        total.set_result(done.result())


class RateLimiter:
    def __init__(
        self,
        limits: RateLimits,
        backend: Backend,
        clock: Callable[[], float] = time.time,
        fail_open: bool = True,
    ) -> None:
        self.limits = limits
        self.backend = backend
        self.clock = clock
        # Open by default: a Redis outage must not turn into refusing every alert.
        self.fail_open = fail_open
        self._warned_window = -1

    async def check(self, path: str, *, key_name: str | None, client_ip: str | None) -> Decision:
        prefix, limit = self.limits.bucket(path, key_name)
        window, retry_after = window_of(self.clock())
        identity = f"key:{key_name}" if key_name else f"ip:{client_ip or 'unknown'}"
        try:
            # TTL outlives the window a little so a slow clock on one edge still finds its counter.
            count = await self.backend.incr(f"{prefix}:{identity}", window, retry_after + 5)
        except BackendUnavailable as exc:
            if window != self._warned_window:  # once a minute, not once per request
                self._warned_window = window
                verdict = "allowing" if self.fail_open else "refusing"
                log.warning("rate limit store unavailable (%s); %s requests", exc, verdict)
            return Decision(self.fail_open, limit, limit if self.fail_open else 0, retry_after)
        return decide(count, limit, retry_after)


__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_PREFIX_LIMITS",
    "Backend",
    "BackendUnavailable",
    "Decision",
    "MemoryBackend",
    "RateLimiter",
    "RateLimits",
    "RedisBackend",
    "decide",
    "window_of",
]
