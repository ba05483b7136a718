"""Table changelogs through the stages' confluent-kafka producer, durable per batch.

faust writes every table change through its own buffer: one aiokafka send at a time, and
once more than 100 are queued its conductor stops handing records to every agent until
the buffer ebbs. Under load that buffer paced the whole worker (agents sat idle with
thousands of records of lag). Here a batch agent's table writes go straight to librdkafka
(streams/producer.py), on the partition faust would have chosen, serialized as faust
would (so recovery reads them back unchanged); `StageContext.batches` waits for them
before faust may ack the batch's inputs, so a committed offset never runs ahead of the
table rows its records produced.

A write outside a batch agent (no batch open in this task) keeps faust's own path.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP

from .producer import OutputProducer, Pending

# The Pending of the batch this task is working on; unset outside a batch agent.
BATCH_CHANGELOG: ContextVar[Pending | None] = ContextVar("batch_changelog", default=None)


def _sent(topic: str, partition: int) -> SimpleNamespace:
    """What faust's Table reads back from send_changelog: the record's partition."""
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, tp=TP(topic, partition)))


class BatchChangelogTable(faust.Table):
    """A faust Table whose changes, inside a batch, go through the producer `outputs` returns
    (the topology sets it to its StageContext's)."""

    outputs: Callable[[], OutputProducer] | None = None

    def send_changelog(self, partition: int | None, key: Any, value: Any, key_serializer: Any = None,
                       value_serializer: Any = None) -> Any:
        pending = BATCH_CHANGELOG.get()
        if pending is None or self.outputs is None or partition is None:
            return super().send_changelog(partition, key, value, key_serializer, value_serializer)
        topic = self.changelog_topic
        raw_key, _ = topic.prepare_key(key, key_serializer or self.key_serializer)
        raw_value, _ = topic.prepare_value(value, value_serializer or self.value_serializer)
        name = topic.get_topic_name()
        self.outputs().produce(name, raw_key, raw_value, None, pending, partition=partition)
        return _sent(name, partition)
