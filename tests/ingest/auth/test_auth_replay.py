"""Replay stores: the in-process one with an injected clock, the Redis one against a real server.

Redis tests use REDIS_URL (default redis://127.0.0.1:6379/0) and skip, saying so, when it is unreachable.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from alertstream.ingest.auth import (
    MemoryReplayStore,
    RedisReplayStore,
    ReplayStoreError,
    authenticate,
    load_policies,
)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
_REDIS_AT = f"{urlsplit(REDIS_URL).hostname}:{urlsplit(REDIS_URL).port or 6379}"  # never the password

# The Standard Webhooks vector of test_auth_signatures.py (computed with OpenSSL).
BODY = (
    '{"receiver":"alertstream","status":"firing","alerts":[{"labels":{"alertname":"DiskFull","host":"db-01"},'
    '"annotations":{"summary":"Disk 97% full – café"}}]}'
).encode()
NOW = 1732871234.0
SW_HEADERS = {
    "webhook-id": "msg_2Lh9KRb0pzN4LePd3XiA4dy4Zz4",
    "webhook-timestamp": "1732871234",
    "webhook-signature": "v1,rSNCl5FW254YxtaU+Oi68EsP2plRu1hr8mRXbYIFc+o=",
}
POLICY = load_policies(
    {"svix": {"schemes": {"standardwebhooks": {"secrets": ["whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="]}}}}
)["svix"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- in-process ---------------------------------------------------------------------------------------


async def test_memory_store_records_and_expires() -> None:
    clock = FakeClock()
    store = MemoryReplayStore(clock=clock)
    assert await store.seen_before("a", 10) is False
    assert await store.seen_before("a", 10) is True
    assert await store.seen_before("b", 10) is False
    await store.forget("b")
    await store.forget("never-recorded")
    assert await store.seen_before("b", 10) is False
    clock.now += 9.999
    assert await store.seen_before("a", 10) is True
    clock.now += 0.001  # exactly ttl later: forgotten
    assert await store.seen_before("a", 10) is False
    assert await store.seen_before("a", 10) is True


async def test_memory_store_purges_expired_keys() -> None:
    clock = FakeClock()
    store = MemoryReplayStore(clock=clock)
    for index in range(50):
        await store.seen_before(f"k{index}", 5)
    assert store.size() == 50
    clock.now += 5
    await store.seen_before("fresh", 5)
    assert store.size() == 1


async def test_memory_store_is_bounded() -> None:
    store = MemoryReplayStore(max_keys=3, clock=FakeClock())
    for key in ("a", "b", "c", "d"):
        assert await store.seen_before(key, 60) is False
    assert store.size() == 3
    assert await store.seen_before("d", 60) is True
    assert await store.seen_before("a", 60) is False  # the oldest was forgotten to make room


async def test_memory_store_answers_once_under_concurrency() -> None:
    store = MemoryReplayStore()
    answers = await asyncio.gather(*(store.seen_before("same", 60) for _ in range(50)))
    assert answers.count(False) == 1


@pytest.mark.parametrize("ttl", [0, -1, True, 1.5])
async def test_ttl_must_be_positive_whole_seconds(ttl: int) -> None:
    with pytest.raises(ValueError):
        await MemoryReplayStore().seen_before("k", ttl)


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemoryReplayStore(max_keys=0)


# --- Redis --------------------------------------------------------------------------------------------


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        await client.ping()
    except Exception as exc:  # any failure to reach it means "no Redis here", not a test failure
        await client.aclose()
        pytest.skip(
            f"Redis unreachable at {_REDIS_AT} ({type(exc).__name__}); set REDIS_URL to run these tests"
        )
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"alertstream-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_store(redis_client: Redis, prefix: str) -> AsyncIterator[RedisReplayStore]:
    yield RedisReplayStore(redis_client, prefix=prefix)
    keys = [key async for key in redis_client.scan_iter(match=prefix + "*")]
    if keys:
        await redis_client.delete(*keys)


async def test_redis_store_records_with_expiry(
    redis_store: RedisReplayStore, redis_client: Redis, prefix: str
) -> None:
    assert await redis_store.seen_before("a", 30) is False
    assert await redis_store.seen_before("a", 30) is True
    assert await redis_store.seen_before("b", 30) is False
    assert await redis_client.get(prefix + "a") == b"1"
    assert 0 < await redis_client.pttl(prefix + "a") <= 30_000


async def test_redis_store_forgets_after_ttl(redis_store: RedisReplayStore) -> None:
    assert await redis_store.seen_before("short", 1) is False
    await asyncio.sleep(1.2)
    assert await redis_store.seen_before("short", 1) is False


async def test_redis_store_answers_once_under_concurrency(redis_store: RedisReplayStore) -> None:
    answers = await asyncio.gather(*(redis_store.seen_before("same", 60) for _ in range(20)))
    assert answers.count(False) == 1


async def test_replay_refused_through_redis(redis_store: RedisReplayStore) -> None:
    first = await authenticate(POLICY, SW_HEADERS, BODY, now=NOW, replay_store=redis_store)
    again = await authenticate(POLICY, SW_HEADERS, BODY, now=NOW + 1, replay_store=redis_store)
    assert (first.status, first.reason) == (200, "verified")
    assert (again.status, again.reason) == (403, "replayed")
    assert first.replay_key is not None
    await redis_store.forget(first.replay_key)
    retried = await authenticate(POLICY, SW_HEADERS, BODY, now=NOW + 2, replay_store=redis_store)
    assert (retried.status, retried.reason) == (200, "verified")


async def test_unreachable_redis_is_a_store_error_and_a_503() -> None:
    # Port 1 on localhost: nothing listens, the connection is refused at once. No Redis server needed.
    store = RedisReplayStore.from_url("redis://127.0.0.1:1/0", timeout_s=0.5)
    try:
        with pytest.raises(ReplayStoreError) as raised:
            await store.seen_before("k", 10)
        assert raised.value.reason == "replay_store_unavailable"
        with pytest.raises(ReplayStoreError):
            await store.forget("k")
        decision = await authenticate(POLICY, SW_HEADERS, BODY, now=NOW, replay_store=store)
        assert (decision.status, decision.reason) == (503, "replay_store_unavailable")
    finally:
        await store.aclose()
