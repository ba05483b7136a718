from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from alertstream.ingest.ratelimit import (
    Backend,
    BackendUnavailable,
    MemoryBackend,
    RateLimiter,
    RateLimits,
    RedisBackend,
    decide,
    window_of,
)

T0 = 1_700_000_040.0  # the first second of a UTC minute (1_700_000_040 = 28_333_334 * 60)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make_backend(request: pytest.FixtureRequest) -> Callable[[], Backend]:
    if request.param == "memory":
        return MemoryBackend
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisBackend(client, prefix=prefix)


def test_window_of() -> None:
    assert window_of(T0) == (int(T0) // 60, 60)
    assert window_of(T0 + 0.5) == (int(T0) // 60, 60)  # rounds up: never tells a client to come back early
    assert window_of(T0 + 59.2) == (int(T0) // 60, 1)
    assert window_of(T0 + 60) == (int(T0) // 60 + 1, 60)


def test_decide_is_pure() -> None:
    assert decide(1, 2, 30).allowed and decide(2, 2, 30).remaining == 0
    refused = decide(3, 2, 30)
    assert not refused.allowed and refused.retry_after == 30
    assert refused.headers()["Retry-After"] == "30"
    assert "Retry-After" not in decide(1, 2, 30).headers()


def test_buckets_and_defaults() -> None:
    limits = RateLimits()
    assert limits.bucket("/alerts/webhook/", None) == ("/alerts/", 60_000)
    assert limits.bucket("/api/incidents/7", None) == ("/api/", 600)
    assert limits.bucket("/silences", None) == ("/silences/", 600)
    assert limits.bucket("/", None) == ("/", 600)
    custom = RateLimits(
        prefixes={"/alerts/": 100, "/alerts/webhook/grafana/": 5, "/api/": 50},
        default=10,
        keys={"big-customer": {"/alerts/": 1000}, "probe": {"/healthz": 1}},
    )
    assert custom.bucket("/alerts/webhook/grafana/", None) == ("/alerts/webhook/grafana/", 5)  # longest wins
    assert custom.bucket("/alerts/webhook/", "big-customer") == ("/alerts/", 1000)
    assert custom.bucket("/alerts/webhook/", "someone-else") == ("/alerts/", 100)
    assert custom.bucket("/healthz", "probe") == ("/healthz", 1)
    assert custom.bucket("/other/x", None) == ("/other/", 10)
    with pytest.raises(ValueError):
        RateLimits(prefixes={"alerts": 1})
    with pytest.raises(ValueError):
        RateLimits(keys={"k": {"/x/": -1}})


async def test_fixed_window(make_backend: Callable[[], Backend]) -> None:
    clock = FakeClock(T0 + 45)
    limiter = RateLimiter(RateLimits(prefixes={"/alerts/": 3}), make_backend(), clock)
    results = [
        await limiter.check("/alerts/webhook/", key_name=None, client_ip="203.0.113.9") for _ in range(4)
    ]
    assert [d.allowed for d in results] == [True, True, True, False]
    assert [d.remaining for d in results] == [2, 1, 0, 0]
    assert results[-1].retry_after == 15  # seconds to the next UTC minute
    clock.now = T0 + 59.5
    refused = await limiter.check("/alerts/webhook/", key_name=None, client_ip="203.0.113.9")
    assert not refused.allowed and refused.retry_after == 1
    clock.now = T0 + 60  # a new window: a fresh budget
    assert (await limiter.check("/alerts/webhook/", key_name=None, client_ip="203.0.113.9")).allowed


async def test_identities_and_prefixes_are_separate(make_backend: Callable[[], Backend]) -> None:
    limits = RateLimits(prefixes={"/alerts/": 1}, default=1, keys={"vip": {"/alerts/": 2}})
    limiter = RateLimiter(limits, make_backend(), FakeClock())

    async def allowed(path: str, key: str | None, ip: str = "198.51.100.1") -> bool:
        return (await limiter.check(path, key_name=key, client_ip=ip)).allowed

    assert await allowed("/alerts/x", None)
    assert not await allowed("/alerts/x", None)
    assert await allowed("/alerts/x", None, ip="198.51.100.2")  # another IP
    assert await allowed("/api/x", None)  # another prefix
    assert await allowed("/alerts/x", "ci")  # a key is its own identity, whatever the IP
    assert not await allowed("/alerts/x", "ci", ip="198.51.100.99")
    assert await allowed("/alerts/x", "vip") and await allowed("/alerts/x", "vip")  # per-key override
    assert not await allowed("/alerts/x", "vip")


async def test_redis_keys_expire(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    limiter = RateLimiter(RateLimits(), RedisBackend(redis_client, prefix=redis_prefix), FakeClock(T0 + 50))
    await limiter.check("/alerts/x", key_name="k", client_ip="192.0.2.1")
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:*")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 15  # 10 s left in the window, plus slack


class _Down:
    async def incr(self, key: str, window: int, ttl: int) -> int:
        raise BackendUnavailable("connection refused")


async def test_store_outage_fails_open_by_default() -> None:
    decision = await RateLimiter(RateLimits(), _Down(), FakeClock()).check(
        "/alerts/", key_name=None, client_ip="x"
    )
    assert decision.allowed
    closed = RateLimiter(RateLimits(), _Down(), FakeClock(), fail_open=False)
    assert not (await closed.check("/alerts/", key_name=None, client_ip="x")).allowed


async def test_unreachable_redis_is_backend_unavailable() -> None:
    client = aioredis.Redis(host="127.0.0.1", port=1)  # nothing listens on port 1
    try:
        start = time.perf_counter()
        with pytest.raises(BackendUnavailable):
            await RedisBackend(client, timeout=0.2).incr("k", 1, 60)
        assert time.perf_counter() - start < 1.0  # the timeout caps redis-py's own retries
    finally:
        await client.aclose()


async def test_concurrent_hits_share_a_round_trip_and_each_get_a_place(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    import asyncio

    backend = RedisBackend(redis_client, prefix=redis_prefix)
    first = await asyncio.gather(*(backend.incr("k", 1, 60) for _ in range(10)))
    assert sorted(first) == list(range(1, 11))
    assert await asyncio.gather(backend.incr("k", 1, 60), backend.incr("other", 1, 60)) == [11, 1]
