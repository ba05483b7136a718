"""What the check stage keeps per correlation key: one incident and how it was notified.

Stored as JSON (never pickle) in the faust table `incidents`; every field has a default
so states written by an older worker still load.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertstream.schemas.records import SEVERITIES, IncidentAlert, Link, NormalizedAlert, to_avro

_RANK = {s: len(SEVERITIES) - i for i, s in enumerate(SEVERITIES)}  # critical highest
_TIMES = ("opened_at", "updated_at", "resolved_at", "notified_at", "pending_due")


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
    # Routing facts: the opening alert's, so one incident stays in one lane while it lives.
    source: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    lane: str = ""
    # Notification bookkeeping (grouping.py): what was last sent, what waits, what is muted.
    notified_version: int = 0
    notified_at: datetime | None = None
    pending_reason: str | None = None
    pending_due: datetime | None = None
    silenced_by: list[str] = field(default_factory=list)
    # Exactly-once bookkeeping: the table partition, and the last input offset applied per topic.
    partition: int = -1
    offsets: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # What dataclasses.asdict gives, without its deep copy of every field (the incident agent
        # writes one row per changed incident per batch).
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        for key in _TIMES:
            data[key] = data[key].isoformat() if data[key] else None
        data["members"] = {fp: _member_json(m) for fp, m in self.members.items()}
        data["labels"] = dict(self.labels)
        data["silenced_by"] = list(self.silenced_by)
        data["offsets"] = dict(self.offsets)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentState:
        data = {k: v for k, v in data.items() if k in _FIELDS}
        for key in _TIMES:
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        data["members"] = {fp: _member_from_json(m) for fp, m in data["members"].items()}
        return cls(**data)

    def firing(self) -> bool:
        """Still a live problem: not resolved by status, and some member alert not resolved."""
        return self.status in ("open", "acknowledged") and any(m.status != "resolved" for m in self.members.values())

    def applied(self, topic: str, offset: int) -> bool:
        """Did this state already take in that input? (A redelivery after a crash.)"""
        return offset >= 0 and offset <= self.offsets.get(topic, -1)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(IncidentState))
_FIELDS = set(_FIELD_NAMES)


def _member_json(member: IncidentAlert) -> dict[str, Any]:
    # asdict's shape from the codec's cached field plan (links too): asdict deep-copies field by
    # field through a generic recursion, ~3 % of the worker's CPU (each changed row, every batch).
    data = to_avro(member)
    data["labels"], data["annotations"] = dict(member.labels), dict(member.annotations)
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
