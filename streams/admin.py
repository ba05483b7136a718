"""Idempotent topic creation at start-up (edge, worker and `alertstream topics`)."""

from __future__ import annotations

import logging

from alertstream.schemas.topics import TOPICS, TopicSpec
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from alertstream.config import KafkaSettings

log = logging.getLogger(__name__)


def topic_config(spec: TopicSpec, settings: KafkaSettings | None = None) -> dict[str, str]:
    """The topic's configuration: retention from ALERTSTREAM_TOPIC_RETENTION, else the contract's default."""
    retention = settings.retention_ms(spec.name, spec.retention_ms) if settings else spec.retention_ms
    return {
        "retention.ms": str(retention),
        "cleanup.policy": "compact" if spec.compacted else "delete",
    }


def ensure_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS, timeout: float = 15.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [
        NewTopic(s.name, settings.partitions, settings.replication_factor, config=topic_config(s, settings))
        for s in specs
        if s.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # another process won the race
            raise
    log.info("created topics: %s", ", ".join(created))
    return created
