"""Reading a topic's records by time, correctly on any broker (replay, tail, audit verify).

Offsets-for-times only picks where to start: each partition's read begins one record
early and that record is checked (Kafka promises every offset before the answer is older
than the time asked for; the embedded broker answers 0 for every query, others may be
wrong in other ways). Every record is then filtered by its own timestamp. A partition is
done at its end (partition EOF), never at a watermark read up front.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from .replay import ReplayError, in_range, seek_was_wrong, start_offset


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def message_of(msg: Any) -> Message:
    """A confluent-kafka message as ours (the stubs make every field optional; a record has them all)."""
    headers = msg.headers() or []
    return Message(str(msg.topic()), int(msg.partition()), int(msg.offset()), int(msg.timestamp()[1]), msg.key(),
                   msg.value(), [(str(k), bytes(v or b"")) for k, v in headers])


def error_of(msg: Any) -> KafkaError:
    error = msg.error()
    assert error is not None  # only called for messages that carry one
    return error


def consumer(bootstrap: str, **extra: object) -> Consumer:
    """A consumer that assigns partitions itself: no group join, no committed offsets."""
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"alertstream-reader-{uuid.uuid4().hex[:12]}",  # never joined: assign() only
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        **extra,
    })


def partitions_of(client: Consumer, topic: str, timeout: float = 10.0) -> list[int]:
    try:
        metadata = client.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ReplayError(f"cannot reach the broker: {exc.args[0].str() if exc.args else exc}") from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        known = ", ".join(sorted(t for t in metadata.topics if not t.startswith("_")))
        raise ReplayError(f"unknown topic {topic!r}; topics: {known or 'none'}")
    return sorted(found.partitions)


@dataclass
class _Partition:
    partition: int
    low: int
    start: int
    probing: bool
    done: bool = False


class RangeReader:
    """The records of one topic with since <= timestamp < until, as it stands when reading starts."""

    def __init__(self, bootstrap: str, topic: str, since_ms: int | None, until_ms: int | None = None,
                 timeout: float = 10.0) -> None:
        self.topic, self.since_ms, self.until_ms, self.timeout = topic, since_ms, until_ms, timeout
        self.client = consumer(bootstrap)
        self.partitions: dict[int, _Partition] = {}
        self.total = 0  # records to scan (an estimate from watermarks; grows if a seek is undone)
        self.scanned = 0
        self.scanned_bytes = 0

    def plan(self) -> None:
        numbers = partitions_of(self.client, self.topic, self.timeout)
        asked = [TopicPartition(self.topic, p, self.since_ms if self.since_ms is not None else 0) for p in numbers]
        answers = {tp.partition: tp.offset for tp in self.client.offsets_for_times(asked, timeout=self.timeout)}
        for p in numbers:
            low, high = self.client.get_watermark_offsets(TopicPartition(self.topic, p), timeout=self.timeout)
            start = low if self.since_ms is None else start_offset(low, high, answers.get(p, -1))
            probing = start > low
            begin = start - 1 if probing else start
            self.partitions[p] = _Partition(p, low, begin, probing)
            self.total += max(high - begin, 0)

    def __iter__(self) -> Iterator[Message]:
        if not self.partitions:
            self.plan()
        self.client.assign([TopicPartition(self.topic, p.partition, p.start) for p in self.partitions.values()])
        try:
            while not all(p.done for p in self.partitions.values()):
                msg = self.client.poll(1.0)
                if msg is None:
                    continue
                state = self.partitions[int(msg.partition() or 0)]
                if msg.error():
                    if error_of(msg).code() == KafkaError._PARTITION_EOF:
                        state.done = True
                        continue
                    raise ReplayError(f"reading {self.topic}: {error_of(msg).str()}")
                if state.done:
                    continue
                record = message_of(msg)
                timestamp = record.timestamp_ms
                if state.probing:
                    state.probing = False
                    if self.since_ms is not None and seek_was_wrong(timestamp, self.since_ms):
                        # The broker's time index cannot be trusted: read this partition from its start.
                        self.total += record.offset - state.low
                        self.client.seek(TopicPartition(self.topic, state.partition, state.low))
                        continue
                self.scanned += 1
                self.scanned_bytes += len(record.value or b"")
                if in_range(timestamp, self.since_ms, self.until_ms):
                    yield record
        finally:
            self.client.close()


def follow(bootstrap: str, topic: str, from_beginning: bool, timeout: float = 10.0) -> Iterator[Message]:
    """Every record as it arrives (tail); from the start of each partition or from now."""
    client = consumer(bootstrap, **{"enable.partition.eof": False})
    numbers = partitions_of(client, topic, timeout)
    position = OFFSET_BEGINNING if from_beginning else OFFSET_END
    client.assign([TopicPartition(topic, p, position) for p in numbers])
    try:
        while True:
            msg = client.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise ReplayError(f"reading {topic}: {error_of(msg).str()}")
            yield message_of(msg)
    finally:
        client.close()
