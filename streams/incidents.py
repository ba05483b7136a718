"""Incident rules: how alert changes and operator actions become incident changes.

Pure: the clock is the input's own time (an alert's received_at, a command's issued_at)
and ids are derived from the data, so a replay from scratch rebuilds exactly the same
incidents, versions and event ids.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alertstream.ids import name_id
from alertstream.schemas.records import IncidentCommand, NormalizedAlert

from .incident_state import IncidentState, as_member, higher_severity

__all__ = [
    "ACTIONS", "Change", "IncidentPolicy", "IncidentState", "Step", "action_refused", "apply_action", "apply_alert",
    "correlation_key",
    "higher_severity", "is_material", "step_alert", "step_tick",
]

_ID_NAMESPACE = uuid.UUID("6f1d3c52-5a8e-4f0c-9d5e-2b7b8c1e4a10")
ACTIONS = ("acknowledge", "resolve", "close", "note")


@dataclass(frozen=True)
class IncidentPolicy:
    correlation_labels: tuple[str, ...] = ("alertname",)
    host_labels: tuple[str, ...] = ("instance_id", "instance", "hostname", "host")
    reopen_window: timedelta = timedelta(hours=1)
    max_lifetime: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Change:
    """One incident event to announce: the incident as of this change and why it changed."""

    state: IncidentState
    reason: str
    actor: str = ""
    note: str = ""
    notify: bool = True  # False: recorded and visible, never sent (bookkeeping such as an expiry close)


@dataclass(frozen=True)
class Step:
    """The state to keep for the correlation key (None: forget the key) and the changes to announce."""

    state: IncidentState | None
    changes: list[Change] = field(default_factory=list)
    rejected: str = ""  # an operator action that does not apply, and why


def correlation_key(alert: NormalizedAlert, policy: IncidentPolicy) -> str:
    parts = [
        alert.labels.get(label) or (alert.name if label == "alertname" else "") for label in policy.correlation_labels
    ]
    host = next((alert.labels[h] for h in policy.host_labels if alert.labels.get(h)), "")
    return "|".join([*parts, host])


def is_material(previous: dict[str, Any] | None, alert: NormalizedAlert) -> bool:
    """Dedup: only a new alert, a status change or a severity change goes on."""
    return previous is None or previous.get("status") != alert.status or previous.get("severity") != alert.severity


def _title(alert: NormalizedAlert, key: str) -> str:
    host = key.rsplit("|", 1)[-1]
    return f"{alert.name} on {host}" if host else alert.name


def _bump(state: IncidentState, now: datetime, **changes: Any) -> IncidentState:
    return dataclasses.replace(state, version=state.version + 1, updated_at=now, **changes)


def _expiry(state: IncidentState, now: datetime, policy: IncidentPolicy) -> Change | None | bool:
    """Is this incident past absorbing alerts? False: no. True: yes, nothing to announce. A Change: close it so."""
    if state.status == "closed":
        return True
    if state.status == "resolved":
        if state.resolved_at is not None and now - state.resolved_at <= policy.reopen_window:
            return False
        return Change(_bump(state, now, status="closed"), "closed", note="reopen window passed", notify=False)
    if now - state.opened_at <= policy.max_lifetime:
        return False
    return Change(_bump(state, now, status="closed"), "closed", note="maximum lifetime reached")


def step_alert(state: IncidentState | None, alert: NormalizedAlert, policy: IncidentPolicy) -> Step:
    """The incident after this alert change, and what to announce."""
    now = alert.received_at or alert.starts_at
    if now is None:
        raise ValueError("an alert reaching the check stage must carry received_at")
    closing: list[Change] = []
    if state is not None:
        expiry = _expiry(state, now, policy)
        if expiry is not False:
            closing = [expiry] if isinstance(expiry, Change) else []
            state = None
    if state is None:
        if alert.status == "resolved":
            return Step(None, closing)  # nothing open to resolve
        return Step(_open(alert, now, policy), [*closing, Change(_open(alert, now, policy), "opened")])
    new, reason = _absorb(state, alert, now)
    new = dataclasses.replace(new, last_trace_id=alert.trace_id, last_event_id=alert.event_id)
    return Step(new, [Change(new, reason)] if reason else [])


def _open(alert: NormalizedAlert, now: datetime, policy: IncidentPolicy) -> IncidentState:
    key = correlation_key(alert, policy)
    return IncidentState(
        incident_id=name_id(_ID_NAMESPACE, f"{key}|{alert.event_id}"),
        version=1,
        status="acknowledged" if alert.status == "acknowledged" else "open",
        severity=alert.severity,
        title=_title(alert, key),
        correlation_key=key,
        opened_at=now,
        updated_at=now,
        members={alert.fingerprint: as_member(alert)},
        last_trace_id=alert.trace_id,
        last_event_id=alert.event_id,
        source=alert.source,
        labels={"alertname": alert.name, **alert.labels},
    )


def _absorb(state: IncidentState, alert: NormalizedAlert, now: datetime) -> tuple[IncidentState, str | None]:
    members = {**state.members, alert.fingerprint: as_member(alert)}
    quiet = dataclasses.replace(state, members=members, updated_at=now)  # member update, no new version
    if state.status == "resolved":
        if alert.status != "firing":
            return quiet, None
        return _bump(state, now, members=members, status="open", resolved_at=None, severity=alert.severity), "reopened"

    previous = state.members.get(alert.fingerprint)
    if alert.status == "resolved":
        if all(m.status == "resolved" for m in members.values()):
            return _bump(state, now, members=members, status="resolved", resolved_at=now), "resolved"
        return quiet, None
    if alert.status == "acknowledged":
        active = [m for m in members.values() if m.status != "resolved"]
        if state.status == "open" and all(m.status == "acknowledged" for m in active):
            return _bump(state, now, members=members, status="acknowledged"), "acknowledged"
        return quiet, None
    # firing: severity only rises while the incident lives
    raised = higher_severity(alert.severity, state.severity)
    if previous is None or previous.status == "resolved":
        return _bump(state, now, members=members, severity=raised), "alert_added"
    if raised != state.severity:
        return _bump(state, now, members=members, severity=raised), "severity_raised"
    return quiet, None


def action_refused(status: str, kind: str, note: str = "") -> str:
    """Why an operator action cannot apply to an incident in this status ("" when it can)."""
    if kind not in ACTIONS:
        return f"unknown action {kind!r} (use {', '.join(ACTIONS)})"
    if kind == "acknowledge" and status != "open":
        return f"cannot acknowledge an incident that is {status}"
    if kind == "resolve" and status not in ("open", "acknowledged"):
        return f"cannot resolve an incident that is {status}"
    if kind == "close" and status == "closed":
        return "already closed"
    if kind == "note" and not note.strip():
        return "a note needs text"
    return ""


_ACTION_EFFECT = {"acknowledge": "acknowledged", "resolve": "resolved", "close": "closed", "note": "note"}


def apply_action(state: IncidentState | None, command: IncidentCommand) -> Step:
    """An operator's acknowledge / resolve / close / note on the incident it names."""
    if state is None or state.incident_id != command.incident_id:
        return Step(state, rejected="not the live incident of its correlation key (closed or superseded)")
    refused = action_refused(state.status, command.kind, command.note)
    if refused:
        return Step(state, rejected=refused)
    now, reason = command.issued_at, _ACTION_EFFECT[command.kind]
    changes: dict[str, Any] = {"last_trace_id": command.command_id, "last_event_id": command.command_id}
    if reason != "note":
        changes["status"] = reason
    if reason == "resolved":
        changes["resolved_at"] = now
    new = _bump(state, now, **changes)
    return Step(None if reason == "closed" else new, [Change(new, reason, command.actor, command.note)])


def step_tick(state: IncidentState, now: datetime, policy: IncidentPolicy) -> Step:
    """Time passing: a resolved incident past its reopen window is closed (recorded, not sent)."""
    if state.status == "resolved":
        expiry = _expiry(state, now, policy)
        if isinstance(expiry, Change):
            return Step(None, [expiry])
    return Step(state)


def apply_alert(
    state: IncidentState | None, alert: NormalizedAlert, policy: IncidentPolicy
) -> tuple[IncidentState | None, str | None]:
    """The incident after this alert and the reason of its last change (None: nothing to announce)."""
    step = step_alert(state, alert, policy)
    return step.state, (step.changes[-1].reason if step.changes and step.state is not None else None)
