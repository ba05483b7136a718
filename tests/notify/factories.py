"""Analysis records for notify tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alertstream.notify.base import Delivery, key_of
from alertstream.schemas.records import Analysis, IncidentAlert, IncidentEvent, Lane, Link, Recommendation

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def analysis(
    status: str = "open", severity: str = "critical", alerts: int = 2, incident_id: str | None = None,
    version: int = 1, channels: tuple[str, ...] = ("default-webhook",), title: str = "DiskFull on db-1",
    analysis_status: str = "ok", follow_up: bool = False, fallback_used: bool = False, reason: str = "",
    stages: tuple[str, ...] = ("analyze", "notify"), provider: str = "local",
) -> Analysis:
    """An incident event and its analysis; `analysis_status` pending or unavailable carries no findings,
    as the analyze stage publishes them past the deadline."""
    incident_id = incident_id or f"inc-{uuid.uuid4().hex[:12]}"
    alert_status = {"open": "firing", "acknowledged": "acknowledged"}.get(status, "resolved")
    members = [
        IncidentAlert(
            fingerprint=f"fp-{i}", event_id=f"ev-{i}", source="alertmanager", name=f"DiskFull-{i}",
            status=alert_status, severity=severity, labels={"instance": f"db-{i}"},
            annotations={"summary": f"disk {90 + i % 10}% full on db-{i}"},
            links=[Link("runbook", "https://runbooks.example/disk")] if i == 0 else [],
        )
        for i in range(alerts)
    ]
    event = IncidentEvent(
        event_id=f"e-{uuid.uuid4().hex[:8]}", trace_id=f"t-{uuid.uuid4().hex[:8]}", incident_id=incident_id,
        version=version, reason={"open": "opened"}.get(status, status), status=status, severity=severity,
        title=title, correlation_key="DiskFull|db-1", opened_at=T0, updated_at=T0, alerts=members,
        lane=Lane("catch-all", list(stages), list(channels)),
    )
    if analysis_status in ("pending", "unavailable", "skipped"):
        return Analysis(analysis_id=f"a-{uuid.uuid4().hex[:8]}", incident=event, status=analysis_status,
                        provider=provider, started_at=T0, finished_at=T0, reason=reason, follow_up=follow_up)
    return Analysis(
        analysis_id=f"a-{uuid.uuid4().hex[:8]}", incident=event, status=analysis_status, provider=provider,
        started_at=T0, finished_at=T0, summary="Disk usage is climbing on the database hosts.",
        probable_cause="log rotation stopped",
        recommendations=[Recommendation("action", 1, "Rotate logs", "", ["logrotate -f"]),
                         Recommendation("action", 2, "Grow the volume", "", [])],
        fallback_used=fallback_used, reason=reason, follow_up=follow_up,
    )


def delivery(status: str = "open", alerts: int = 2, channel: str = "ch", **kw: object) -> Delivery:
    a = analysis(status=status, alerts=alerts, **kw)  # type: ignore[arg-type]
    return Delivery(key_of(a, channel), 1, a)
