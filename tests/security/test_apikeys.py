"""API keys: the format, what a request presents, scopes, the edge's snapshot cache and the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from alertstream.cli import main
from alertstream.ingest.apikeys import KeyCache, KeysUnavailable, presented_key
from alertstream.storage.apikeys import (
    ActiveKey,
    KeyExists,
    create_key,
    hash_key,
    is_active,
    is_key_shaped,
    list_keys,
    new_raw_key,
    revoke_key,
)


def test_key_format_and_hash() -> None:
    raw = new_raw_key()
    assert raw.startswith("ask_") and len(raw) == 44 and is_key_shaped(raw)
    assert hash_key(raw) != raw and len(hash_key(raw)) == 64
    assert new_raw_key() != raw


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer ask_abc"}, "ask_abc"),
        ({"authorization": "bearer   ask_abc "}, "ask_abc"),
        ({"x-api-key": "ask_abc"}, "ask_abc"),
        ({"authorization": "Bearer source-token", "x-api-key": "ask_abc"}, "ask_abc"),
        ({"authorization": "Bearer source-token"}, None),  # a per-source token, not ours
        ({"authorization": "Basic YTpi"}, None),
        ({"x-api-key": "something-else"}, None),
        ({}, None),
    ],
)
def test_presented_key(headers: dict[str, str], expected: str | None) -> None:
    assert presented_key(headers) == expected


def test_scopes() -> None:
    anywhere = ActiveKey("a")
    assert anywhere.allows_path("/api/x") and anywhere.allows_source("grafana")
    scoped = ActiveKey("b", ("/alerts/",), ("grafana",))
    assert scoped.allows_path("/alerts/webhook/") and not scoped.allows_path("/api/channels")
    assert scoped.allows_source("grafana") and not scoped.allows_source("datadog")


class FakeStore:
    def __init__(self) -> None:
        self.keys: dict[str, ActiveKey] = {}
        self.loads = 0
        self.fail = False
        self.usage: list[dict[str, datetime]] = []

    async def load(self) -> dict[str, ActiveKey]:
        self.loads += 1
        if self.fail:
            raise OSError("database down")
        return dict(self.keys)

    async def write_usage(self, used) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise OSError("database down")
        self.usage.append(dict(used))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cache_reloads_only_after_ttl_and_revocation_takes_effect_within_it() -> None:
    store, clock = FakeStore(), Clock()
    raw = new_raw_key()
    store.keys[hash_key(raw)] = ActiveKey("ops")
    cache = KeyCache(store.load, store.write_usage, ttl=5.0, clock=clock)
    for _ in range(100):
        assert (await cache.lookup(raw)) == ActiveKey("ops")
    assert store.loads == 1  # one query for a hundred requests
    store.keys.clear()  # revoked in the database
    clock.now += 4.9
    assert await cache.lookup(raw) is not None  # still inside the bound
    clock.now += 0.2
    assert await cache.lookup(raw) is None  # past the TTL: refused
    assert store.loads == 2


async def test_cache_keeps_the_last_snapshot_when_the_database_fails() -> None:
    store, clock = FakeStore(), Clock()
    raw = new_raw_key()
    store.keys[hash_key(raw)] = ActiveKey("ops")
    cache = KeyCache(store.load, store.write_usage, ttl=5.0, clock=clock)
    assert await cache.lookup(raw) is not None
    store.fail = True
    clock.now += 10
    assert await cache.lookup(raw) is not None
    loads = store.loads
    assert await cache.lookup(raw) is not None
    assert store.loads == loads  # a failing database is not asked again on every request


async def test_cache_before_first_load_is_unavailable() -> None:
    store = FakeStore()
    store.fail = True
    cache = KeyCache(store.load, store.write_usage, clock=Clock())
    with pytest.raises(KeysUnavailable):
        await cache.lookup(new_raw_key())


async def test_concurrent_lookups_share_one_reload() -> None:
    store = FakeStore()
    raw = new_raw_key()
    store.keys[hash_key(raw)] = ActiveKey("ops")
    cache = KeyCache(store.load, store.write_usage, clock=Clock())
    results = await asyncio.gather(*(cache.lookup(raw) for _ in range(50)))
    assert all(r is not None for r in results) and store.loads == 1


async def test_last_used_is_written_in_batches_with_the_reload() -> None:
    store, clock = FakeStore(), Clock()
    a, b = new_raw_key(), new_raw_key()
    store.keys = {hash_key(a): ActiveKey("a"), hash_key(b): ActiveKey("b")}
    moments = iter(datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in range(60))
    cache = KeyCache(store.load, store.write_usage, ttl=5.0, clock=clock, wall=lambda: next(moments))
    for _ in range(3):
        await cache.lookup(a)
    await cache.lookup(b)
    await cache.lookup(new_raw_key())  # unknown keys are not recorded
    assert store.usage == []  # nothing written in a request's path
    clock.now += 6
    await cache.lookup(a)  # the reload writes the batch first
    assert store.usage == [{hash_key(a): datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC),
                            hash_key(b): datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC)}]
    store.fail = True
    with pytest.raises(OSError):
        await cache.flush()
    store.fail = False
    await cache.flush()  # kept after the failure, written now
    assert list(store.usage[-1]) == [hash_key(a)]


def test_store_create_list_revoke(database_url: str) -> None:
    raw, record = create_key(database_url, "store-test", ["/alerts/"], ["grafana"])
    assert is_key_shaped(raw) and record.prefix == raw[:12]
    assert record.allowed_prefixes == ("/alerts/",) and record.allowed_sources == ("grafana",)
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT * FROM api_keys WHERE name = 'store-test'").fetchall()
    assert raw not in repr(stored) and hash_key(raw) in repr(stored)  # only the hash is kept
    with pytest.raises(KeyExists):
        create_key(database_url, "store-test")
    assert is_active(database_url, raw)
    assert revoke_key(database_url, "store-test") and not revoke_key(database_url, "store-test")
    assert not is_active(database_url, raw)
    again, _ = create_key(database_url, "store-test")  # a revoked name can be issued again
    names = [(r.name, r.revoked_at is None) for r in list_keys(database_url) if r.name == "store-test"]
    assert sorted(names) == [("store-test", False), ("store-test", True)]
    revoke_key(database_url, "store-test")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65])
def test_bad_names_refused(database_url: str, name: str) -> None:
    with pytest.raises(ValueError):
        create_key(database_url, name)


def test_cli_keys(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["keys", "create", "--name", "cli-test", "--allow", "/alerts/", "--source", "grafana"]) == 0
    out = capsys.readouterr().out
    raw = out.strip().splitlines()[-1]
    assert is_key_shaped(raw) and is_active(database_url, raw)
    assert main(["keys", "create", "--name", "cli-bad", "--source", "nosuchvendor"]) == 2
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "cli-test" in listing and raw[:12] in listing and raw not in listing and "/alerts/" in listing
    assert main(["keys", "revoke", "cli-test"]) == 0
    assert not is_active(database_url, raw)
    assert main(["keys", "revoke", "cli-test"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "exempt"),
    [
        ("GET", "/alerts/webhook/", True), ("HEAD", "/alerts/webhook/", True), ("POST", "/alerts/webhook/", False),
        ("GET", "/healthz", True), ("POST", "/readyz", True), ("GET", "/healthz/x", False),
        ("GET", "/console", True), ("GET", "/console/incidents", True), ("GET", "/consoles", False),
        ("GET", "/alerts/webhook/generic/", False), ("GET", "/api/channels", False), ("GET", "/", False),
    ],
)
def test_exempt_paths(method: str, path: str, exempt: bool) -> None:
    from alertstream.ingest.middleware import is_exempt

    assert is_exempt(method, path) is exempt
