"""Replay stores: remember a key for a while and say whether it was already there.

seen_before() records and answers in one step, so two concurrent deliveries of the
same message cannot both be told "new". The in-process store serves one process
(tests, dev, a single edge worker); several edge processes share the Redis one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from alertstream.errors import Retryable

_PREFIX = "alertstream:replay:"


class ReplayStoreError(Retryable):
    """The store could not answer; refusing (503) is safer than admitting a possible replay."""


class ReplayStore(Protocol):
    async def seen_before(self, key: str, ttl_s: int) -> bool:
        """True when key was recorded within the last ttl_s seconds; records it when not."""
        ...

    async def forget(self, key: str) -> None:
        """Drop a record, so that a sender's retry of a message the edge did not accept is not
        taken for a replay (Standard Webhooks retries keep the webhook-id)."""
        ...


def _check_ttl(ttl_s: int) -> None:
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or ttl_s < 1:
        raise ValueError("ttl_s must be a positive whole number of seconds")


class MemoryReplayStore:
    """Bounded and expiring, for one process and one event loop (no await between check and record).

    When full of unexpired keys the oldest is forgotten: only verified deliveries are
    recorded, so filling it takes the sender's own traffic, and the edge keeps working.
    """

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._max_keys = max_keys
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()  # in recording order

    def size(self) -> int:
        """Keys held, expired ones included until the next call purges them. (No __len__: an empty
        store must not be falsy, or `store or default` would silently swap it.)"""
        return len(self._expiry)

    async def seen_before(self, key: str, ttl_s: int) -> bool:
        _check_ttl(ttl_s)
        now = self._clock()
        self._purge(now)
        expires = self._expiry.get(key)
        if expires is not None and expires > now:
            return True
        self._expiry.pop(key, None)
        while len(self._expiry) >= self._max_keys:
            self._expiry.popitem(last=False)
        self._expiry[key] = now + ttl_s
        return False

    async def forget(self, key: str) -> None:
        self._expiry.pop(key, None)

    def _purge(self, now: float) -> None:
        # Recording order is expiry order when every key has the same TTL; a longer-lived key at
        # the front only delays purging, and max_keys still bounds the size.
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now:
                return
            del self._expiry[oldest]


class RedisReplayStore:
    """SET key 1 NX EX ttl: Redis records and answers atomically, and expires the key itself."""

    def __init__(self, client: Redis, prefix: str = _PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = _PREFIX, timeout_s: float = 1.0) -> RedisReplayStore:
        client = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        return cls(client, prefix)

    async def seen_before(self, key: str, ttl_s: int) -> bool:
        _check_ttl(ttl_s)
        try:
            created = await self._client.set(self._prefix + key, b"1", nx=True, ex=ttl_s)
        except (RedisError, OSError) as exc:
            raise ReplayStoreError("replay_store_unavailable", type(exc).__name__) from exc
        return not created

    async def forget(self, key: str) -> None:
        try:
            await self._client.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise ReplayStoreError("replay_store_unavailable", type(exc).__name__) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
