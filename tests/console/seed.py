"""Test data for the console, written through storage/'s own writers (as the worker would)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alertstream.schemas.records import (
    Analysis,
    IncidentAlert,
    IncidentEvent,
    Lane,
    Link,
    Recommendation,
    SilenceMatcher,
)
from alertstream.storage import analyses, deliveries
from alertstream.storage import incidents as incident_store
from alertstream.storage import silences as silence_store
from alertstream.storage.db import open_pool
from alertstream.storage.writer import write_incident_events
from alertstream.streams.silences import new_silence


@dataclass(frozen=True)
class Seeded:
    incident_id: str
    title: str
    failed_delivery: str
    silence_id: str
    marker: str


def _event(incident_id: str, title: str, version: int, reason: str, status: str, now: datetime,
           marker: str, **extra: object) -> IncidentEvent:
    alert = IncidentAlert(
        fingerprint=f"fp-{marker}", event_id=f"ev-{marker}", source="grafana", name=f"DiskFull-{marker}",
        status="firing", severity="critical", labels={"instance": "db-1", "team": "storage"},
        annotations={"summary": f"disk 97% full on db-1 ({marker})"},
        links=[Link("runbook", "https://runbooks.example/disk"), Link("dashboard", "javascript:alert(1)")],
    )
    return IncidentEvent(
        event_id=uuid.uuid4().hex, trace_id=uuid.uuid4().hex, incident_id=incident_id, version=version,
        reason=reason, status=status, severity="critical", title=title, correlation_key=f"ck-{marker}",
        opened_at=now - timedelta(minutes=5), updated_at=now - timedelta(minutes=5 - version), alerts=[alert],
        lane=Lane("catch-all", ["analyze", "notify"], ["default-webhook"]), **extra,  # type: ignore[arg-type]
    )


async def seed(database_url: str, status: str = "open") -> Seeded:
    """One incident with two events, an analysis, a sent and a failed delivery, and a silence."""
    marker = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    incident_id = uuid.uuid4().hex
    title = f"DiskFull-{marker} on db-1"
    opened = _event(incident_id, title, 1, "opened", "open", now, marker)
    second = _event(incident_id, title, 2, "note", status, now, marker, actor="api-key-ops", note=f"looking {marker}")
    pool = await open_pool(database_url)
    try:
        await write_incident_events(pool, [opened, second])
        await incident_store.write_timeline(pool, [opened, second])
        analysis = Analysis(
            analysis_id=uuid.uuid4().hex, incident=opened, status="ok", provider="local", started_at=now,
            finished_at=now, summary=f"The data volume is nearly full ({marker}).", probable_cause="log growth",
            confidence=0.8, recommendations=[Recommendation("mitigate", 1, "Free space", "Rotate the logs.",
                                                            ["logrotate -f /etc/logrotate.conf"])],
        )
        await analyses.save(pool, analysis, "sig", [], None)
        sent_key = f"{incident_id}:1:default-webhook"
        await deliveries.claim(pool, delivery_key=sent_key, incident_id=incident_id, incident_version=1,
                               channel="default-webhook", channel_type="webhook", trace_id=opened.trace_id)
        await deliveries.record_outcome(pool, sent_key, "sent", 200, None)
        failed_key = f"{incident_id}:2:pager-{marker}"
        await deliveries.claim(pool, delivery_key=failed_key, incident_id=incident_id, incident_version=2,
                               channel=f"pager-{marker}", channel_type="webhook", trace_id=second.trace_id)
        await deliveries.record_outcome(pool, failed_key, "failed", 404, "permanent_http_error")
        silence = new_silence(matchers=[SilenceMatcher("alertname", "=", f"Maint-{marker}")], starts_at=now,
                              ends_at=now + timedelta(hours=2), author="ops", comment=f"swap {marker}", weekly=[],
                              now=now)
        async with pool.connection() as conn:
            await silence_store.upsert(conn, [silence])
    finally:
        await pool.close()
    return Seeded(incident_id, title, failed_key, silence.silence_id, marker)
