"""Consumer lag per assigned partition, and the depth of retry and dead-letter topics,
refreshed on a timer for the worker's /metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import faust
from confluent_kafka import Consumer, TopicPartition

from alertstream.schemas.topics import TOPICS

from .context import StageContext

log = logging.getLogger(__name__)

# Topics whose backlog is the retry and DLQ depth operators watch.
DEPTH_TOPICS = tuple(s.name for s in TOPICS if s.name.startswith("notify.") or s.name.endswith(".dlq"))


def make_lag_refresher(app: faust.App, ctx: StageContext) -> Callable[[], Awaitable[None]]:
    watermarks = Consumer({"bootstrap.servers": ctx.settings.kafka.bootstrap_servers, "group.id": "alertstream-lag"})

    async def refresh_lag() -> None:
        try:
            consumer = app.consumer
            for tp in consumer.assignment():
                position = await consumer.position(tp)
                high = consumer.highwater(tp)
                if position is not None and high is not None:
                    ctx.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, high - position))
            for topic in DEPTH_TOPICS:
                depth = 0
                for partition in range(ctx.settings.kafka.partitions):
                    low, high = watermarks.get_watermark_offsets(TopicPartition(topic, partition), timeout=2)
                    depth += max(0, high - low)
                ctx.metrics.topic_depth.labels(topic).set(depth)
        except Exception as exc:  # metrics must never take the worker down
            log.debug("lag refresh failed: %s", exc)

    return refresh_lag
