"""A realistic sample incident for `alertstream providers test`: no real data leaves."""

from __future__ import annotations

from datetime import UTC, datetime

from alertstream.schemas.records import IncidentAlert, IncidentEvent, Lane


def sample_incident(now: datetime | None = None) -> IncidentEvent:
    now = now or datetime.now(UTC)
    alert = IncidentAlert(
        fingerprint="sample-disk", event_id="sample", source="cluster", name="disk", status="firing",
        severity="critical", labels={"hostname": "web-1", "check": "disk", "mountpoint": "/var"},
        annotations={"metric.used_pct": "93.5", "message": "/var is 93.5% full and grew 4% in the last hour"},
        starts_at=now,
    )
    return IncidentEvent(
        event_id="sample", trace_id="sample", incident_id="sample", version=1, reason="opened", status="open",
        severity="critical", title="disk on web-1", correlation_key="disk|web-1", opened_at=now, updated_at=now,
        alerts=[alert], lane=Lane("sample", ["analyze"], []),
    )
