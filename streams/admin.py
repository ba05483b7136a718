"""Idempotent topic creation at start-up (edge, worker and `alertstream topics`)."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from alertstream.config import KafkaSettings
from alertstream.schemas.topics import TOPICS, TopicSpec

log = logging.getLogger(__name__)


def topic_config(spec: TopicSpec) -> dict[str, str]:
    return {
        "retention.ms": str(spec.retention_ms),
        "cleanup.policy": "compact" if spec.compacted else "delete",
    }


def ensure_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS, timeout: float = 15.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [
        NewTopic(s.name, settings.partitions, settings.replication_factor, config=topic_config(s))
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
