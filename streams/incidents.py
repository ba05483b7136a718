"""Incident state: how alert changes become incident events. Pure: the clock is the
alert's own received_at, ids are derived from the data, so a replay from scratch
rebuilds exactly the same incidents."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alertstream.schemas.records import SEVERITIES, IncidentAlert, Link, NormalizedAlert

_ID_NAMESPACE = uuid.UUID("6f1d3c52-5a8e-4f0c-9d5e-2b7b8c1e4a10")
_RANK = {s: len(SEVERITIES) - i for i, s in enumerate(SEVERITIES)}  # critical highest


@dataclass(frozen=True)
class IncidentPolicy:
    correlation_labels: tuple[str, ...] = ("alertname",)
    host_labels: tuple[str, ...] = ("instance_id", "instance", "hostname", "host")
    reopen_window: timedelta = timedelta(hours=1)
    max_lifetime: timedelta = timedelta(days=7)


def correlation_key(alert: NormalizedAlert, policy: IncidentPolicy) -> str:
    parts = [
        alert.labels.get(label) or (alert.name if label == "alertname" else "") for label in policy.correlation_labels
    ]
    host = next((alert.labels[h] for h in policy.host_labels if alert.labels.get(h)), "")
    return "|".join([*parts, host])


def higher_severity(a: str, b: str) -> str:
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


@dataclass
class IncidentState:
    incident_id: str
    version: int
    status: str  # open | acknowledged | resolved | closed
    severity: str
    title: str
    correlation_key: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    members: dict[str, IncidentAlert] = field(default_factory=dict)
    last_trace_id: str = ""
    last_event_id: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("opened_at", "updated_at", "resolved_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["members"] = {fp: _member_json(m) for fp, m in self.members.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentState:
        data = dict(data)
        for key in ("opened_at", "updated_at", "resolved_at"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        data["members"] = {fp: _member_from_json(m) for fp, m in data["members"].items()}
        return cls(**data)


def _member_json(member: IncidentAlert) -> dict[str, Any]:
    data = dataclasses.asdict(member)
    for key in ("starts_at", "ends_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _member_from_json(data: dict[str, Any]) -> IncidentAlert:
    data = dict(data)
    for key in ("starts_at", "ends_at"):
        data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
    data["links"] = [Link(**link) for link in data.get("links", [])]
    return IncidentAlert(**data)


def as_member(alert: NormalizedAlert) -> IncidentAlert:
    return IncidentAlert(
        fingerprint=alert.fingerprint,
        event_id=alert.event_id,
        source=alert.source,
        name=alert.name,
        status=alert.status,
        severity=alert.severity,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        links=list(alert.links),
    )


def _title(alert: NormalizedAlert, key: str) -> str:
    host = key.rsplit("|", 1)[-1]
    return f"{alert.name} on {host}" if host else alert.name


def _expired(state: IncidentState, now: datetime, policy: IncidentPolicy) -> bool:
    if state.status == "closed":
        return True
    if state.status == "resolved":
        return state.resolved_at is None or now - state.resolved_at > policy.reopen_window
    return now - state.opened_at > policy.max_lifetime


def apply_alert(
    state: IncidentState | None, alert: NormalizedAlert, policy: IncidentPolicy
) -> tuple[IncidentState | None, str | None]:
    """The incident after this alert change, and the reason for an event (None: nothing to announce)."""
    now = alert.received_at or alert.starts_at
    if now is None:
        raise ValueError("an alert reaching the check stage must carry received_at")
    key = correlation_key(alert, policy)
    member = as_member(alert)

    if state is None or _expired(state, now, policy):
        if alert.status == "resolved":
            return state, None  # nothing open to resolve
        incident_id = str(uuid.uuid5(_ID_NAMESPACE, f"{key}|{alert.event_id}"))
        opened = IncidentState(
            incident_id=incident_id,
            version=1,
            status="acknowledged" if alert.status == "acknowledged" else "open",
            severity=alert.severity,
            title=_title(alert, key),
            correlation_key=key,
            opened_at=now,
            updated_at=now,
            members={alert.fingerprint: member},
        )
        return _stamp(opened, alert, bump=False), "opened"

    new = dataclasses.replace(state, members={**state.members, alert.fingerprint: member}, updated_at=now)
    if state.status == "resolved":
        if alert.status != "firing":
            return _stamp(new, alert, bump=False), None
        new.status, new.resolved_at, new.severity = "open", None, alert.severity
        return _stamp(new, alert), "reopened"

    previous = state.members.get(alert.fingerprint)
    if alert.status == "resolved":
        if all(m.status == "resolved" for m in new.members.values()):
            new.status, new.resolved_at = "resolved", now
            return _stamp(new, alert), "resolved"
        return _stamp(new, alert, bump=False), None
    if alert.status == "acknowledged":
        active = [m for m in new.members.values() if m.status != "resolved"]
        if state.status == "open" and all(m.status == "acknowledged" for m in active):
            new.status = "acknowledged"
            return _stamp(new, alert), "acknowledged"
        return _stamp(new, alert, bump=False), None
    # firing
    raised = higher_severity(alert.severity, state.severity)
    if previous is None or previous.status == "resolved":
        new.severity = raised
        return _stamp(new, alert), "alert_added"
    if raised != state.severity:
        new.severity = raised
        return _stamp(new, alert), "severity_raised"
    return _stamp(new, alert, bump=False), None


def _stamp(state: IncidentState, alert: NormalizedAlert, bump: bool = True) -> IncidentState:
    if bump:
        state.version += 1
    state.last_trace_id = alert.trace_id
    state.last_event_id = alert.event_id
    return state


def is_material(previous: dict[str, Any] | None, alert: NormalizedAlert) -> bool:
    """Dedup: only a new alert, a status change or a severity change goes on."""
    return previous is None or previous.get("status") != alert.status or previous.get("severity") != alert.severity
