"""Builders for the check stage's pure tests: alerts and commands at a deterministic clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertstream.schemas.records import IncidentCommand, NormalizedAlert

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def alert(fp: str, status: str = "firing", severity: str = "warning", at: timedelta = timedelta(0),
          host: str = "web-1", name: str = "CPUHigh", source: str = "generic", **labels: str) -> NormalizedAlert:
    return NormalizedAlert(fingerprint=fp, source=source, name=name, status=status, severity=severity,
                           labels={"alertname": name, "instance": host, **labels},
                           event_id=f"{fp}-{status}-{severity}-{at}", trace_id=f"trace-{fp}", received_at=T0 + at)


def command(kind: str, incident_id: str, at: timedelta, key: str = "CPUHigh|web-1", note: str = "",
            actor: str = "alice") -> IncidentCommand:
    return IncidentCommand(command_id=f"cmd-{kind}-{at}", kind=kind, incident_id=incident_id, correlation_key=key,
                           issued_at=T0 + at, actor=actor, note=note)
