"""The topic contract: every topic, its key, the record it carries and who writes it.

docs/topics.md is generated from this table and the .avsc files.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000
# What audits ask for: a year and a bit of what arrived and of the evidence (ALERTSTREAM_TOPIC_RETENTION overrides).
AUDIT_RETENTION_MS = 400 * DAY_MS


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
    "alerts.normalized", "fingerprint", "io.alertstream.NormalizedAlert", "edge", retention_ms=AUDIT_RETENTION_MS
)
# The incident agent's only input: material alert changes, operator actions re-keyed from
# incidents.actions and the stage's timer ticks, in one order per correlation key.
ALERTS_CHANGES = TopicSpec(
    "alerts.changes", "correlation key", "io.alertstream.NormalizedAlert | io.alertstream.IncidentCommand",
    "check (dedup, actions, timers)", internal=True,
)
INCIDENTS_EVENTS = TopicSpec("incidents.events", "incident_id", "io.alertstream.IncidentEvent", "check (incidents)")
INCIDENTS_ANALYSES = TopicSpec("incidents.analyses", "incident_id", "io.alertstream.Analysis", "analyze")
NOTIFICATIONS_RESULTS = TopicSpec(
    "notifications.results", "incident_id", "io.alertstream.NotificationResult", "notify"
)
AUDIT_REFS = TopicSpec(
    "audit.refs", "chain_id (a hash chain lives in one partition, in order)", "io.alertstream.AuditRef",
    "every stage", retention_ms=AUDIT_RETENTION_MS,
)

PIPELINE_DLQ = TopicSpec(
    "pipeline.dlq", "original key", "raw bytes of the original record", "any stage",
    retention_ms=30 * DAY_MS, internal=True,
)

# Delay topics of the notify stage: a failed delivery waits on one of these (the name is
# the default delay; ALERTSTREAM_NOTIFY_RETRY_DELAYS_S sets the real ones), then is retried.
NOTIFY_RETRY_TOPICS = tuple(
    TopicSpec(f"notify.retry.{tier}", "incident_id", "io.alertstream.NotificationRetry", "notify", internal=True)
    for tier in ("30s", "5m", "1h")
)
NOTIFY_DLQ = TopicSpec(
    "notify.dlq", "incident_id", "io.alertstream.NotificationRetry (reason header)", "notify",
    retention_ms=30 * DAY_MS,
)

# The check stage's silences (every worker reads all of it) and operator actions. Actions are
# re-keyed by correlation key onto alerts.changes. incidents.commands is where earlier versions
# sent actions and ticks; the check stage still drains it into alerts.changes.
SILENCES = TopicSpec(
    "silences", "silence_id", "io.alertstream.Silence", "edge API, CLI", retention_ms=-1, compacted=True
)
INCIDENTS_ACTIONS = TopicSpec("incidents.actions", "incident_id", "io.alertstream.IncidentCommand", "edge API, CLI")
INCIDENTS_COMMANDS = TopicSpec(
    "incidents.commands", "correlation key", "io.alertstream.IncidentCommand", "earlier versions (drained)",
    internal=True,
)

TOPICS: tuple[TopicSpec, ...] = (
    ALERTS_NORMALIZED,
    ALERTS_CHANGES,
    INCIDENTS_EVENTS,
    INCIDENTS_ANALYSES,
    NOTIFICATIONS_RESULTS,
    AUDIT_REFS,
    PIPELINE_DLQ,
    *NOTIFY_RETRY_TOPICS,
    NOTIFY_DLQ,
    SILENCES,
    INCIDENTS_ACTIONS,
    INCIDENTS_COMMANDS,
)
