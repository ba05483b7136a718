"""The topic contract: every topic, its key, the record it carries and who writes it.

docs/topics.md is generated from this table and the .avsc files.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    record: str  # Avro full name
    writer: str
    retention_ms: int = 7 * DAY_MS
    compacted: bool = False
    internal: bool = False  # a stage-to-stage hop, not a contract for downstream teams


ALERTS_NORMALIZED = TopicSpec(
    "alerts.normalized", "fingerprint", "io.alertstream.NormalizedAlert", "edge", retention_ms=30 * DAY_MS
)
ALERTS_CHANGES = TopicSpec(
    "alerts.changes", "correlation key", "io.alertstream.NormalizedAlert", "check (dedup)", internal=True
)
INCIDENTS_EVENTS = TopicSpec("incidents.events", "incident_id", "io.alertstream.IncidentEvent", "check (incidents)")
INCIDENTS_ANALYSES = TopicSpec("incidents.analyses", "incident_id", "io.alertstream.Analysis", "analyze")
NOTIFICATIONS_RESULTS = TopicSpec(
    "notifications.results", "incident_id", "io.alertstream.NotificationResult", "notify"
)
AUDIT_REFS = TopicSpec(
    "audit.refs", "trace_id", "io.alertstream.AuditRef", "every stage", retention_ms=30 * DAY_MS
)

PIPELINE_DLQ = TopicSpec(
    "pipeline.dlq", "original key", "raw bytes of the original record", "any stage",
    retention_ms=30 * DAY_MS, internal=True,
)

TOPICS: tuple[TopicSpec, ...] = (
    ALERTS_NORMALIZED,
    ALERTS_CHANGES,
    INCIDENTS_EVENTS,
    INCIDENTS_ANALYSES,
    NOTIFICATIONS_RESULTS,
    AUDIT_REFS,
    PIPELINE_DLQ,
)
