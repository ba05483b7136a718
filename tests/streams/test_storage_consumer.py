"""`alertstream store`: the storage consumer in a process of its own, against a broker no other
worker reads, so every row it checks can only have come from it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer

from alertstream.audit import make_ref
from alertstream.chain import LocalChain
from alertstream.config import Settings
from alertstream.embedded import EmbeddedBroker
from alertstream.schemas.codec import Codec
from alertstream.streams.admin import ensure_topics
from alertstream.streams.storage_consumer import StorageConsumer, StoreContext
from tests.components import pipeline_env, spawn

pytestmark = pytest.mark.integration


def _rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def _dead_letters(bootstrap: str, count: int, timeout: float = 30) -> list[dict[str, bytes]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["pipeline.dlq"])
    found: list[dict[str, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(dict(message.headers() or []))
        return found
    finally:
        consumer.close()


def test_store_alone_keeps_refs_and_content_and_dead_letters_what_it_cannot_read(
        own_broker: EmbeddedBroker, database_url: str, tmp_path: Path) -> None:
    env = pipeline_env(own_broker.bootstrap, database_url, tmp_path, ALERTSTREAM_APP_ID=f"store-{uuid.uuid4().hex[:6]}")
    settings = Settings.from_env(env)
    ensure_topics(settings.kafka)
    codec, chain = Codec(), LocalChain(f"test-{uuid.uuid4().hex[:8]}/checked/alerts.normalized/0")
    now = datetime.now(UTC)
    alert_body = f"raw alert {uuid.uuid4().hex}".encode()
    refs = [chain.link(make_ref(trace_id=uuid.uuid4().hex, run_id="run", stage="checked", input_ref=f"alert:{i}",
                                output_ref=f"incident:x@{i}", content=alert_body, started_at=now, finished_at=now))
            for i in range(3)]
    producer = Producer({"bootstrap.servers": own_broker.bootstrap})
    for ref in refs:
        producer.produce("audit.refs", key=chain.chain_id.encode(), value=codec.encode(ref))
    producer.produce("audit.refs", key=b"broken", value=b"not avro")
    producer.produce("alerts.normalized", key=b"fp", value=alert_body)  # content topics keep the raw bytes
    producer.flush(10)

    store = spawn("store", env, tmp_path / "store.log")
    try:
        deadline = time.monotonic() + 60
        ids = [r.ref_id for r in refs]
        while time.monotonic() < deadline:
            stored = _rows(database_url, "SELECT ref_id FROM audit_refs WHERE ref_id = ANY(%s)", ids)
            content = _rows(database_url, "SELECT topic FROM audit_content WHERE sha256 = %s",
                            Codec.sha256(alert_body))
            if len(stored) == 3 and content:
                break
            time.sleep(0.5)
        assert sorted(r[0] for r in stored) == sorted(ids), store.log()
        assert content == [("alerts.normalized",)]
        [dead] = _dead_letters(own_broker.bootstrap, 1)
        assert dead["source-topic"] == b"audit.refs" and dead["reason"].startswith(b"schema:")
    finally:
        store.stop()
    assert store.proc.returncode == 0, store.log()


async def test_in_a_worker_a_failed_consumer_is_started_again_until_cancelled() -> None:
    storage = StorageConsumer(StoreContext(Settings.from_env({})))
    calls: list[int] = []
    running = asyncio.Event()

    async def run() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("fetch blew up")
        running.set()
        await asyncio.sleep(3600)

    storage.run = run  # type: ignore[method-assign]
    task = asyncio.ensure_future(storage.run_supervised(retry_s=0.01))
    await asyncio.wait_for(running.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) == 2
