"""StageContext and Outbox: what every stage shares for decoding and emitting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alertstream.audit import make_ref
from alertstream.config import Settings
from alertstream.streams.context import StageContext
from alertstream.streams.producer import Pending


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, dict[str, bytes] | None]] = []

    def produce(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, pending: Pending,
                partition: int | None = None) -> None:
        pending.add()
        self.records.append((topic, key, value, headers))
        pending.delivered(None, None)


class Topic:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name


def _ctx() -> tuple[StageContext, RecordingProducer]:
    ctx = StageContext(Settings.from_env({}), {t: Topic(t) for t in ("pipeline.dlq", "incidents.events")}, {})
    producer = RecordingProducer()
    ctx.producer = lambda: producer  # type: ignore[method-assign,assignment,return-value]
    return ctx, producer


async def test_a_record_decodes_and_an_undecodable_one_is_dead_lettered_with_its_reason() -> None:
    ctx, producer = _ctx()
    now = datetime.now(UTC)
    ref = make_ref(trace_id="t", run_id="r", stage="checked", input_ref="alert:1", output_ref="incident:x@1",
                   content=b"x", started_at=now, finished_at=now)
    assert await ctx.decoded("incidents.events", b"k", ctx.codec.encode(ref)) == ref
    assert producer.records == []
    assert await ctx.decoded("incidents.events", b"k", b"not avro") is None
    [(topic, key, value, headers)] = producer.records
    assert (topic, key, value) == ("pipeline.dlq", b"k", b"not avro")
    assert headers["source-topic"] == b"incidents.events" and headers["reason"].startswith(b"schema: ")
