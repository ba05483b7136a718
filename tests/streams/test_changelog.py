"""Table changes inside a batch go through the stages' producer, and the batch waits for them
before faust may ack its inputs (streams/changelog.py, StageContext.batches)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from confluent_kafka import KafkaError

from alertstream.config import Settings
from alertstream.streams.changelog import BATCH_CHANGELOG, BatchChangelogTable
from alertstream.streams.context import StageContext, processing
from alertstream.streams.producer import OutputError, Pending


class RecordingProducer:
    """Stands in for OutputProducer: keeps each record; delivers it when told, maybe refused."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.waiting: list[Pending] = []

    def produce(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, pending: Pending,
                partition: int | None = None) -> None:
        pending.add()
        self.records.append((topic, key, value, partition))
        self.waiting.append(pending)

    def deliver_all(self, error: KafkaError | None = None) -> None:
        waiting, self.waiting = self.waiting, []
        for pending in waiting:
            pending.delivered(error, None)


def _event(topic: str, partition: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, offset=7))


@pytest.fixture
def table() -> tuple[BatchChangelogTable, RecordingProducer]:
    app = faust.App("changelog-test", broker="kafka://127.0.0.1:1", store="memory://", Table=BatchChangelogTable)
    schema = faust.Schema(key_serializer="json", value_serializer="json")
    table = app.Table("state", default=None, partitions=3, schema=schema)
    assert isinstance(table, BatchChangelogTable)
    producer = RecordingProducer()
    table.outputs = lambda: producer  # type: ignore[assignment,return-value]
    return table, producer


async def test_a_change_in_a_batch_goes_to_the_input_partition_of_its_changelog(table: Any) -> None:
    table, producer = table
    pending = Pending(asyncio.get_running_loop())
    token = BATCH_CHANGELOG.set(pending)
    try:
        with processing(_event("alerts.normalized", 2)):
            table["fp-1"] = {"status": "firing"}
    finally:
        BATCH_CHANGELOG.reset(token)
    [(topic, key, value, partition)] = producer.records
    assert (topic, partition) == ("changelog-test-state-changelog", 2)
    assert (json.loads(key or b""), json.loads(value or b"")) == ("fp-1", {"status": "firing"})  # as faust writes
    assert table["fp-1"] == {"status": "firing"}  # the table itself is updated as faust would
    waiter = asyncio.ensure_future(pending.wait())
    await asyncio.sleep(0)
    assert not waiter.done()  # not durable until the broker says so
    producer.deliver_all()
    await asyncio.wait_for(waiter, 1)


async def test_a_change_outside_a_batch_keeps_fausts_own_path(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    table, producer = table
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(faust.Table, "send_changelog",
                        lambda self, partition, key, value, *a: sent.append((partition, key, value))
                        or SimpleNamespace(message=SimpleNamespace(partition=partition)))
    with processing(_event("alerts.normalized", 1)):
        table["fp-2"] = {"status": "resolved"}
    assert producer.records == []
    assert sent == [(1, "fp-2", {"status": "resolved"})]


class FakeStream:
    """What StageContext.batches reads: take_events yielding the given batches."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self._batches = batches
        self.taken = 0

    async def take_events(self, size: int, within: float) -> Any:
        for batch in self._batches:
            self.taken += 1
            yield batch


async def test_the_next_batch_waits_for_the_last_ones_changes(table: Any) -> None:
    table, producer = table
    ctx = StageContext(Settings.from_env({}), {}, {})
    stream = FakeStream([[_event("alerts.normalized", 0)], [_event("alerts.normalized", 0)]])
    batches = ctx.batches(stream)  # type: ignore[arg-type]
    first = await batches.__anext__()
    with processing(first[0]):
        table["fp-3"] = {"n": 1}
    following = asyncio.ensure_future(batches.__anext__())
    await asyncio.sleep(0.05)
    assert not following.done() and stream.taken == 1  # faust acks on the next take: not yet
    producer.deliver_all()
    assert len(await asyncio.wait_for(following, 1)) == 1


async def test_a_refused_change_fails_the_batch_before_its_inputs_are_acked(table: Any) -> None:
    table, producer = table
    ctx = StageContext(Settings.from_env({}), {}, {})
    stream = FakeStream([[_event("alerts.normalized", 0)], [_event("alerts.normalized", 0)]])
    with pytest.raises(OutputError):
        async for events in ctx.batches(stream):  # type: ignore[arg-type]
            with processing(events[0]):
                table["fp-4"] = {"n": 1}
            producer.deliver_all(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert stream.taken == 1
