"""Incident events for analysis tests, built the way the check stage builds them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alertstream.schemas.records import IncidentAlert, IncidentEvent, Lane

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def alert(name: str, *, source: str = "alertmanager", status: str = "firing", severity: str = "critical",
          labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
          fingerprint: str = "") -> IncidentAlert:
    return IncidentAlert(
        fingerprint=fingerprint or f"fp-{name}-{sorted((labels or {}).items())}", event_id="e-" + name,
        source=source, name=name, status=status, severity=severity, labels=dict(labels or {}),
        annotations=dict(annotations or {}), starts_at=T0,
    )


def incident(*alerts: IncidentAlert, title: str = "", severity: str = "", incident_id: str = "inc-1",
             version: int = 1, stages: tuple[str, ...] = ("analyze", "notify"), **extra: Any) -> IncidentEvent:
    first = alerts[0]
    return IncidentEvent(
        event_id=f"{incident_id}@{version}", trace_id="trace-" + incident_id, incident_id=incident_id,
        version=version, reason=extra.get("reason", "opened"), status=extra.get("status", "open"),
        severity=severity or first.severity, title=title or first.name, correlation_key=first.name,
        opened_at=T0, updated_at=T0, alerts=list(alerts), lane=Lane("catch-all", list(stages), ["webhook"]),
    )
