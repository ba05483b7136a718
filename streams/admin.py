"""Idempotent topic creation at start-up (edge, worker and `alertstream topics`), and, for
`alertstream topics`, bringing existing topics' retention and cleanup policy to what is configured."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

from alertstream.config import KafkaSettings
from alertstream.schemas.topics import TOPICS, TopicSpec

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


@dataclass(frozen=True, slots=True)
class ConfigChange:
    topic: str
    name: str
    old: str | None  # None: the broker reported no value for it
    new: str


@dataclass
class AlignReport:
    changed: list[ConfigChange] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (topic, why), the topic left as it was


def config_changes(topic: str, wanted: Mapping[str, str], current: Mapping[str, str | None]) -> list[ConfigChange]:
    """What must be set for `current` to match `wanted` (pure)."""
    return [ConfigChange(topic, name, current.get(name), value) for name, value in sorted(wanted.items())
            if current.get(name) != value]


def _reason(exc: BaseException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)


def align_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS, timeout: float = 15.0) -> AlignReport:
    """Set the configured retention and cleanup policy on topics that exist with others
    (IncrementalAlterConfigs, only the keys that differ). A broker that refuses (or cannot
    describe a topic) is reported per topic; the rest go on."""
    report = AlignReport()
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = {s.name: topic_config(s, settings) for s in specs if s.name in existing}
    if not wanted:
        return report
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in wanted],
                                       request_timeout=timeout)
    pending: dict[str, list[ConfigChange]] = {}
    for resource, future in described.items():
        try:
            current = {name: entry.value for name, entry in future.result().items()}
        except KafkaException as exc:
            report.refused.append((resource.name, f"cannot read its configuration: {_reason(exc)}"))
            continue
        changes = config_changes(resource.name, wanted[resource.name], current)
        if changes:
            pending[resource.name] = changes
    if not pending:
        return report
    resources = [
        ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
            ConfigEntry(c.name, c.new, incremental_operation=AlterConfigOpType.SET) for c in changes])
        for topic, changes in pending.items()
    ]
    try:
        altered = admin.incremental_alter_configs(resources, request_timeout=timeout)
    except KafkaException as exc:  # the whole request, e.g. a client without the API
        report.refused += [(topic, f"the broker refused the change: {_reason(exc)}") for topic in pending]
        return report
    for resource, future in altered.items():
        try:
            future.result()
            report.changed += pending[resource.name]
        except KafkaException as exc:
            report.refused.append((resource.name, f"the broker refused the change: {_reason(exc)}"))
    if report.changed:
        log.info("changed topic configuration: %s", ", ".join(f"{c.topic} {c.name}={c.new}" for c in report.changed))
    return report
