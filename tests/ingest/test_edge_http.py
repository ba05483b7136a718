"""The edge's HTTP contract against the real broker: bad input is a clear 4xx and publishes
nothing; a broker that stops answering is a 503 that claims nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from alertstream.config import Settings
from alertstream.embedded import free_port, start_broker
from alertstream.ingest.app import create_app
from alertstream.ingest.publisher import Publisher
from alertstream.streams.admin import ensure_topics

from ..components import key_headers

pytestmark = pytest.mark.integration

GOOD = {"name": "CPUHigh", "severity": "warning", "labels": {"instance": "web-1"}}


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in range(partitions))
    finally:
        consumer.close()


@pytest.fixture
async def client(settings: Settings, api_key: str):
    ensure_topics(settings.kafka)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge", headers=key_headers(api_key)) as c:
            yield c


BAD_INPUTS = [
    ("malformed json", {"content-type": "application/json"}, b'{"name": "x",', 400, "invalid JSON"),
    ("wrong content type", {"content-type": "text/plain"}, b'{"name": "x"}', 415, "unsupported media type"),
    ("empty body", {"content-type": "application/json"}, b"", 400, "empty body"),
    ("json array", {"content-type": "application/json"}, b'[{"name": "x"}]', 400, "a JSON object is expected"),
    ("json string", {"content-type": "application/json"}, b'"hello"', 400, "a JSON object is expected"),
    ("unrecognized", {"content-type": "application/json"}, b'{"foo": 1}', 400, "unrecognized payload"),
    ("invalid alert", {"content-type": "application/json"}, b'{"name": "x", "status": "exploded"}', 400,
     "invalid payload"),
]


@pytest.mark.parametrize(("case", "headers", "body", "status", "error"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
async def test_bad_input_is_a_clear_4xx_and_publishes_nothing(client, settings, case, headers, body, status, error):
    before = high_watermarks(settings.kafka.bootstrap_servers, "alerts.normalized", settings.kafka.partitions)
    response = await client.post("/alerts/webhook/", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error in response.json()["error"]
    after = high_watermarks(settings.kafka.bootstrap_servers, "alerts.normalized", settings.kafka.partitions)
    assert after == before


async def test_unrecognized_payload_names_the_forced_driver_url(client):
    response = await client.post("/alerts/webhook/", json={"foo": 1})
    assert "/alerts/webhook/{driver}/" in response.json()["hint"]


async def test_unknown_driver_is_404(client):
    response = await client.post("/alerts/webhook/nosuchvendor/", json=GOOD)
    assert response.status_code == 404
    assert "nosuchvendor" in response.json()["error"]


async def test_forced_driver_and_health_endpoints(client):
    response = await client.post("/alerts/webhook/generic/", json=GOOD)
    assert response.status_code == 202
    assert (await client.get("/alerts/webhook/")).json()["status"] == "ok"
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"broker": True, "database": True}


async def test_accepted_alerts_are_on_the_topic(client, settings):
    before = high_watermarks(settings.kafka.bootstrap_servers, "alerts.normalized", settings.kafka.partitions)
    response = await client.post("/alerts/webhook/", json={"alerts": [GOOD, {**GOOD, "name": "MemHigh"}]})
    assert response.status_code == 202
    assert len(response.json()["alerts"]) == 2
    after = high_watermarks(settings.kafka.bootstrap_servers, "alerts.normalized", settings.kafka.partitions)
    assert after == before + 2


@pytest.mark.parametrize("path", ["/alerts/webhook/", "/silences/"])
async def test_a_sender_hanging_up_mid_body_is_not_an_error(settings, api_key, caplog, path):
    app = create_app(settings)
    sent: list[dict] = []
    messages = iter([{"type": "http.request", "body": b'{"name": ', "more_body": True}, {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 5000), "server": ("edge", 80),
             "headers": [(b"content-type", b"application/json"),
                         *((k.lower().encode(), v.encode()) for k, v in key_headers(api_key).items())]}
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_broker_down_answers_503_and_claims_nothing(settings, api_key, tmp_path):
    broker = start_broker(free_port(), tmp_path / "broker.log")
    kafka = dataclasses.replace(settings.kafka, bootstrap_servers=broker.bootstrap, publish_timeout_ms=1500)
    down_settings = dataclasses.replace(settings, kafka=kafka)
    ensure_topics(kafka)
    app = create_app(down_settings)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge",
                                         headers=key_headers(api_key)) as c:
                assert (await c.post("/alerts/webhook/", json=GOOD)).status_code == 202
                broker.stop()
                response = await c.post("/alerts/webhook/", json=GOOD)
                assert response.status_code == 503
                assert response.headers["retry-after"]
                body = response.json()
                assert body["error"] == "broker unavailable"
                assert "alerts" not in body and body.get("status") != "accepted"
                ready = await c.get("/readyz")
                assert ready.status_code == 503 and ready.json()["checks"]["broker"] is False
    finally:
        broker.stop()


async def test_the_edge_talks_to_the_broker_as_it_starts(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise the first webhook after a start waits ~500 ms for the producer's id (ingest/app.py lifespan).
    pinged = threading.Event()

    def ping(self: Publisher, timeout: float = 2.0) -> bool:
        pinged.set()
        return True

    monkeypatch.setattr(Publisher, "ping", ping)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert await asyncio.to_thread(pinged.wait, 5), "no broker round trip at start"
