"""API keys at the edge: which key a request presents, and an in-memory snapshot of the active keys.

No request waits on the database. The edge holds every active key (by SHA-256)
in memory and reloads the whole set when the snapshot is older than `ttl`
(ALERTSTREAM_API_KEY_CACHE_S, default 5 s, at most 10 s): a revoked key stops
working at most `ttl` seconds (plus one query) after `alertstream keys revoke`.
The reload is one query, awaited by whichever requests arrive while it runs.

If the database does not answer, the last snapshot stays in force (alerts keep
flowing through a database outage) and a warning is logged; before the first
successful load, keyed requests get 503.

Last-used times are collected in memory and written in one batch with each
reload (and at shutdown), never in a request's path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from alertstream.storage.apikeys import KEY_PREFIX, ActiveKey, hash_key

log = logging.getLogger(__name__)

Loader = Callable[[], Awaitable[Mapping[str, ActiveKey]]]
UsageWriter = Callable[[Mapping[str, datetime]], Awaitable[None]]

RETRY_AFTER_FAILURE_S = 1.0  # a failing database is asked again at most this often
WAIT_FOR_RELOAD_S = 2.0  # a request waits this long for a reload before using the previous snapshot


class KeysUnavailable(Exception):
    """No snapshot of the keys has been loaded yet (the database has not answered)."""


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request carries: `Authorization: Bearer ask_…` or `X-API-Key: ask_…`.

    Only values shaped like our keys count. Anything else in those headers (a
    per-source token, Basic credentials) is left to the source's own policy.
    """
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value.startswith(KEY_PREFIX):
            return value
    value = (headers.get("x-api-key") or "").strip()
    return value if value.startswith(KEY_PREFIX) else None


class KeyCache:
    def __init__(
        self,
        load: Loader,
        write_usage: UsageWriter,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._load = load
        self._write_usage = write_usage
        self.ttl = ttl
        self._clock = clock
        self._wall = wall
        self._keys: Mapping[str, ActiveKey] | None = None
        self._fresh_until = float("-inf")
        self._reload: asyncio.Task[None] | None = None
        self._used: dict[str, datetime] = {}

    async def lookup(self, raw: str) -> ActiveKey | None:
        """The active key for this raw key, or None (unknown or revoked). Raises KeysUnavailable."""
        keys = await self._snapshot()
        digest = hash_key(raw)
        key = keys.get(digest)
        if key is not None:
            self._used[digest] = self._wall()
        return key

    async def _snapshot(self) -> Mapping[str, ActiveKey]:
        if self._keys is not None and self._clock() < self._fresh_until:
            return self._keys
        if self._reload is None:
            self._reload = asyncio.create_task(self._reload_now())
        try:
            # Shielded: a request that gives up waiting must not cancel the reload others await.
            await asyncio.wait_for(asyncio.shield(self._reload), WAIT_FOR_RELOAD_S)
        except TimeoutError:
            pass
        if self._keys is None:
            raise KeysUnavailable("API keys not loaded yet")
        return self._keys

    async def _reload_now(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # last-used times are bookkeeping: never a reason to skip the reload
            log.warning("cannot record API key last-used times (%s); will retry", type(exc).__name__)
        try:
            keys = await self._load()
        except Exception as exc:  # any failure of the store: keep the last snapshot, try again soon
            self._fresh_until = self._clock() + RETRY_AFTER_FAILURE_S
            log.warning("cannot reload API keys (%s); %s", type(exc).__name__,
                        "keeping the previous snapshot" if self._keys is not None else "no keys loaded yet")
        else:
            self._keys = keys
            self._fresh_until = self._clock() + self.ttl
        finally:
            self._reload = None

    async def flush(self) -> None:
        """Write the collected last-used times in one batch; kept for the next try when that fails."""
        if not self._used:
            return
        batch, self._used = self._used, {}
        try:
            await self._write_usage(batch)
        except Exception:
            for digest, at in batch.items():  # newer uses since then win
                self._used.setdefault(digest, at)
            raise
