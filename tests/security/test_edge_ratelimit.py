"""Rate limits at the real edge: 429 with Retry-After, identities (key, else client IP behind trusted
proxies), windows, the probes, shared counters in Redis and in-process counters without it."""

from __future__ import annotations

import logging
import os
import secrets
import time

import httpx
import pytest
import redis

from alertstream.config import Settings
from alertstream.ingest.app import create_app
from alertstream.ingest.middleware import limits_from_json
from alertstream.ingest.ratelimit import DEFAULT_LIMIT

from ..components import key_headers, new_api_key
from .edge_client import edge_client, with_edge

pytestmark = pytest.mark.integration

ALERT = {"name": "RateCheck", "severity": "info"}
TIGHT = '{"prefixes": {"/alerts/": 3}}'


def client_for(app, peer: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=(peer, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://edge", headers=headers or {})


def fresh_ip() -> str:
    """A client address of its own: counters live in the session's Redis (shared across runs in the
    same minute), so a fixed address would start with an earlier run's count."""
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def not_near_a_window_edge() -> None:
    """Counting tests must not straddle a UTC minute boundary."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.1)


def test_limits_from_json() -> None:
    default = limits_from_json("")
    assert default.bucket("/alerts/webhook/", None) == ("/alerts/", 60_000)
    assert default.bucket("/api/channels", None) == ("/api/", DEFAULT_LIMIT)
    limits = limits_from_json('{"prefixes": {"/api/": 100}, "default": 50, "keys": {"big": {"/alerts/": 200000}}}')
    assert limits.bucket("/alerts/webhook/", None) == ("/alerts/", 60_000)  # merged over the defaults
    assert limits.bucket("/api/x", None) == ("/api/", 100)
    assert limits.bucket("/other/x", None) == ("/other/", 50)
    assert limits.bucket("/alerts/webhook/", "big") == ("/alerts/", 200_000)
    for bad in ("{", "[]", '{"prefix": {}}', '{"prefixes": {"/a/": "many"}}', '{"prefixes": {"a/": 1}}',
                '{"default": true}', '{"keys": []}', '{"prefixes": {"/a/": -1}}'):
        with pytest.raises(ValueError):
            limits_from_json(bad)


async def test_over_the_limit_is_429_with_retry_after(settings: Settings, api_key: str) -> None:
    not_near_a_window_edge()
    async with edge_client(with_edge(settings, rate_limits=TIGHT), key_headers(api_key)) as (_, c):
        for _ in range(3):
            ok = await c.post("/alerts/webhook/", json=ALERT)
            assert ok.status_code == 202
            assert ok.headers["ratelimit-limit"] == "3"
        assert ok.headers["ratelimit-remaining"] == "0"
        refused = await c.post("/alerts/webhook/", json=ALERT)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json() == {"error": "rate limited", "limit_per_minute": 3,
                                  "retry_after": int(refused.headers["retry-after"])}
        for _ in range(10):  # the probes are never counted nor refused
            assert (await c.get("/healthz")).status_code == 200


async def test_a_new_window_resets_the_count(settings: Settings, api_key: str) -> None:
    async with edge_client(with_edge(settings, rate_limits=TIGHT), key_headers(api_key)) as (app, c):
        now = [1_800_000_000.0]  # a window start
        app.state.limiter.clock = lambda: now[0]
        for _ in range(3):
            assert (await c.post("/alerts/webhook/", json=ALERT)).status_code == 202
        now[0] += 59.5
        refused = await c.post("/alerts/webhook/", json=ALERT)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        now[0] += 0.5
        assert (await c.post("/alerts/webhook/", json=ALERT)).status_code == 202


async def test_identity_is_the_key_else_the_client_ip(settings: Settings, database_url: str) -> None:
    not_near_a_window_edge()
    limits = '{"prefixes": {"/alerts/": 2}}'
    one, two = new_api_key(database_url), new_api_key(database_url)
    async with edge_client(with_edge(settings, rate_limits=limits)) as (app, _):
        shared_ip = fresh_ip()
        async with client_for(app, shared_ip, key_headers(one)) as a, \
                client_for(app, shared_ip, key_headers(two)) as b:
            assert [(await a.post("/alerts/webhook/", json=ALERT)).status_code for _ in range(3)] == [202, 202, 429]
            assert (await b.post("/alerts/webhook/", json=ALERT)).status_code == 202  # same IP, other key
        # Without a key (GET /alerts/webhook/ is open) the client address is the identity.
        async with client_for(app, fresh_ip()) as x, client_for(app, fresh_ip()) as y:
            assert [(await x.get("/alerts/webhook/")).status_code for _ in range(3)] == [200, 200, 429]
            assert (await y.get("/alerts/webhook/")).status_code == 200


async def test_forwarded_for_only_from_trusted_proxies(settings: Settings) -> None:
    not_near_a_window_edge()
    edge = with_edge(settings, rate_limits='{"prefixes": {"/alerts/": 1}}', trusted_proxies=("10.0.0.0/8",))
    async with edge_client(edge) as (app, _):
        async with client_for(app, "10.1.2.3") as proxy:
            for client in (fresh_ip(), fresh_ip()):  # distinct clients behind our proxy
                xff = {"X-Forwarded-For": f"6.6.6.6, {client}"}
                assert (await proxy.get("/alerts/webhook/", headers=xff)).status_code == 200
                assert (await proxy.get("/alerts/webhook/", headers=xff)).status_code == 429
        async with client_for(app, fresh_ip()) as outsider:  # not a proxy: its header is ignored
            assert (await outsider.get("/alerts/webhook/", headers={"X-Forwarded-For": fresh_ip()})).status_code == 200
            spoofed = await outsider.get("/alerts/webhook/", headers={"X-Forwarded-For": fresh_ip()})
            assert spoofed.status_code == 429


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis: {exc}")
    return url


async def test_redis_counters_are_shared_by_edge_processes(settings: Settings, api_key: str) -> None:
    not_near_a_window_edge()
    shared = with_edge(settings, rate_limits=TIGHT, top_redis_url=_redis_url())
    async with edge_client(shared, key_headers(api_key)) as (_, first), \
            edge_client(shared, key_headers(api_key)) as (_, second):
        codes = [(await c.post("/alerts/webhook/", json=ALERT)).status_code for c in (first, second, first, second)]
        assert codes == [202, 202, 202, 429]


async def test_in_process_counters_with_several_workers_warn(settings: Settings,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    for workers, warns in ((3, True), (1, False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="alertstream.ingest.app"):
            app = create_app(with_edge(settings, workers=workers, top_redis_url=""))
        async with app.router.lifespan_context(app):  # closes its producer
            pass
        assert any("REDIS_URL is not set" in r.getMessage() for r in caplog.records) == warns
