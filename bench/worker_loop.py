"""Bench 3, raw side: a plain confluent-kafka consume -> produce loop over pre-filled records,
the ceiling the check stage is compared with."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert


def prefill(bootstrap: str, topic: str, count: int, partitions: int, repeat_ratio: float = 0.8) -> None:
    """`count` encoded alerts; `repeat_ratio` of them repeat an earlier alert unchanged (dedup fodder)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result()
    codec = Codec()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    distinct = max(1, int(count * (1 - repeat_ratio)))
    now = datetime.now(UTC)
    for i in range(count):
        n = i % distinct
        alert = NormalizedAlert(fingerprint=f"fp-{n}", source="generic", name=f"Bench{n % 50}", status="firing",
                                severity="warning", labels={"instance": f"h{n}"}, event_id=uuid.uuid4().hex,
                                trace_id=uuid.uuid4().hex, received_at=now)
        producer.produce(topic, key=alert.fingerprint.encode(), value=codec.encode(alert))
        if i % 10000 == 0:
            producer.poll(0)
    producer.flush(60)


def raw_loop(bootstrap: str, source: str, sink: str, count: int) -> float:
    """Records/s of consume -> produce with no processing at all."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": True})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    consumer.subscribe([source])
    seen = 0
    started = None
    deadline = time.monotonic() + 300
    while seen < count and time.monotonic() < deadline:
        for msg in consumer.consume(500, timeout=1.0):
            if msg.error():
                continue
            if started is None:
                started = time.perf_counter()
            producer.produce(sink, key=msg.key(), value=msg.value())
            seen += 1
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return seen / elapsed if elapsed > 0 else 0.0
