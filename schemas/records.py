"""Python views of the Avro records. The `.avsc` files are the source of truth;
tests/schemas/test_records.py keeps these dataclasses in step with them."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, TypeVar

STATUSES = ("firing", "acknowledged", "resolved")
SEVERITIES = ("critical", "error", "warning", "info")  # PagerDuty Events v2 set, most severe first
INCIDENT_STATUSES = ("open", "acknowledged", "resolved", "closed")


@dataclass(frozen=True, slots=True)
class Link:
    SCHEMA: ClassVar[str] = "io.alertstream.Link"
    kind: str
    url: str


@dataclass(frozen=True, slots=True)
class NormalizedAlert:
    SCHEMA: ClassVar[str] = "io.alertstream.NormalizedAlert"
    fingerprint: str
    source: str
    name: str
    status: str
    severity: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: list[Link] = field(default_factory=list)
    group_key: str = ""
    dedup_key: str = ""
    # Envelope, filled in by the edge when it accepts the alert; drivers leave them empty.
    event_id: str = ""
    trace_id: str = ""
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IncidentAlert:
    SCHEMA: ClassVar[str] = "io.alertstream.IncidentAlert"
    fingerprint: str
    event_id: str
    source: str
    name: str
    status: str
    severity: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Lane:
    SCHEMA: ClassVar[str] = "io.alertstream.Lane"
    name: str
    stages: list[str]
    channels: list[str] = field(default_factory=list)
    analysis_deadline_s: float | None = None


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    SCHEMA: ClassVar[str] = "io.alertstream.IncidentEvent"
    event_id: str
    trace_id: str
    incident_id: str
    version: int
    reason: str
    status: str
    severity: str
    title: str
    correlation_key: str
    opened_at: datetime
    updated_at: datetime
    alerts: list[IncidentAlert]
    lane: Lane
    # Added in version 2 (with defaults, so older writers' records still read):
    actor: str = ""
    note: str = ""
    silenced_by: list[str] = field(default_factory=list)
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recommendation:
    SCHEMA: ClassVar[str] = "io.alertstream.Recommendation"
    type: str
    priority: int
    title: str
    description: str
    actions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Analysis:
    SCHEMA: ClassVar[str] = "io.alertstream.Analysis"
    analysis_id: str
    incident: IncidentEvent
    status: str
    provider: str
    started_at: datetime
    finished_at: datetime
    model: str = ""
    category: str = "general"
    summary: str = ""
    probable_cause: str = ""
    confidence: float = 0.0
    recommendations: list[Recommendation] = field(default_factory=list)
    fallback_used: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    # Added in version 2 (analysis stage: why a fallback, provider budgets, audit hashes).
    reason: str = ""
    latency_ms: int = 0
    cache_hit: bool = False
    follow_up: bool = False
    prompt_sha256: str = ""
    response_sha256: str = ""


@dataclass(frozen=True, slots=True)
class NotificationResult:
    SCHEMA: ClassVar[str] = "io.alertstream.NotificationResult"
    delivery_key: str
    incident_id: str
    incident_version: int
    channel: str
    channel_type: str
    trace_id: str
    status: str
    started_at: datetime
    finished_at: datetime
    attempt: int = 1
    status_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationRetry:
    SCHEMA: ClassVar[str] = "io.alertstream.NotificationRetry"
    delivery_key: str
    channel: str
    attempt: int
    first_attempt_at: datetime
    due_at: datetime
    reason: str
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class AuditRef:
    SCHEMA: ClassVar[str] = "io.alertstream.AuditRef"
    ref_id: str
    trace_id: str
    run_id: str
    stage: str
    input_ref: str
    output_ref: str
    content_sha256: str
    status: str
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    prev_hash: str = ""
    # Added in version 2: the hash chain this ref belongs to and its position (alertstream/chain.py).
    chain_id: str = ""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class SilenceMatcher:
    SCHEMA: ClassVar[str] = "io.alertstream.SilenceMatcher"
    name: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class WeeklyRecurrence:
    SCHEMA: ClassVar[str] = "io.alertstream.WeeklyRecurrence"
    days: list[str]
    start: str
    end: str
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Silence:
    SCHEMA: ClassVar[str] = "io.alertstream.Silence"
    silence_id: str
    matchers: list[SilenceMatcher]
    starts_at: datetime
    author: str
    created_at: datetime
    updated_at: datetime
    ends_at: datetime | None = None
    weekly: list[WeeklyRecurrence] = field(default_factory=list)
    comment: str = ""


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    SCHEMA: ClassVar[str] = "io.alertstream.IncidentCommand"
    command_id: str
    kind: str
    incident_id: str
    correlation_key: str
    issued_at: datetime
    actor: str = ""
    note: str = ""


TOP_LEVEL_RECORDS: tuple[type[Any], ...] = (
    NormalizedAlert, IncidentEvent, Analysis, NotificationResult, AuditRef, NotificationRetry,
    Silence, IncidentCommand,
)
ALL_RECORDS: tuple[type[Any], ...] = (
    Link, IncidentAlert, Lane, Recommendation, SilenceMatcher, WeeklyRecurrence, *TOP_LEVEL_RECORDS,
)

R = TypeVar("R")


def to_avro(record: Any) -> Any:
    """Dataclass tree -> plain dicts/lists, the shape fastavro writes. Every record is encoded
    through here, so each class's fields are looked up once (_field_plan), not per record."""
    plan = _field_plan(record.__class__)
    if plan is None:
        return [to_avro(item) for item in record] if isinstance(record, list) else record
    out: dict[str, Any] = {}
    for name, shape in plan:
        value = getattr(record, name)
        if shape is None or value is None:
            out[name] = value
        elif shape == "one":
            out[name] = to_avro(value)
        else:
            out[name] = [to_avro(item) for item in value]
    return out


@cache
def _field_plan(cls: type) -> tuple[tuple[str, str | None], ...] | None:
    """Each field of a record class, with 'one'/'many' where it holds records (see _nested_fields);
    None for anything that is not a record class."""
    if not dataclasses.is_dataclass(cls):
        return None
    nested = _nested_fields(cls)
    return tuple((f.name, nested[f.name][0] if f.name in nested else None) for f in dataclasses.fields(cls))


@cache
def _nested_fields(cls: type) -> dict[str, tuple[str, type]]:
    """Which fields hold a record ('one') or a list of records ('many')."""
    nested: dict[str, tuple[str, type]] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            nested[name] = ("one", typing.cast(type, hint))
        elif typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            if dataclasses.is_dataclass(item):
                nested[name] = ("many", typing.cast(type, item))
    return nested


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def from_avro(cls: type[R], data: dict[str, Any]) -> R:
    """Plain dicts from fastavro -> the dataclass tree (unknown keys are ignored)."""
    nested = _nested_fields(typing.cast(type, cls))
    names = _field_names(typing.cast(type, cls))
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue
        shape = nested.get(key)
        if shape is None or value is None:
            kwargs[key] = value
        elif shape[0] == "one":
            kwargs[key] = from_avro(shape[1], value)
        else:
            kwargs[key] = [from_avro(shape[1], item) for item in value]
    return cls(**kwargs)


def is_optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
