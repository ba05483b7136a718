"""PagerDuty outbound webhooks: V3 webhook subscriptions and the older V2 extensions.

V3 sends one event per request, {"event": {"id", "event_type", "resource_type",
"occurred_at", "agent", "data"}}, where for incident events data is the incident.
https://developer.pagerduty.com/docs/webhooks-overview
V2 sends {"messages": [{"id", "event": "incident.trigger", "created_on", "incident"}]}.

The alert is the incident: its id is the fingerprint, so the triggered, acknowledged
and resolved events of one incident update one alert. The state comes from the event
type where that is a state change, else from the incident's status (reassigned,
escalated, priority_updated, ...). Events whose data is not an incident (notes,
responders, status updates, services, pagey.ping) carry no alert state and parse to
no alerts. Severity is the incident priority (P1..P5) when the account uses
priorities, else its urgency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key
from ..severity import map_severity
from ..status import map_status
from .base import (
    ParseError,
    links,
    optional_mapping,
    optional_str,
    present,
    require_list,
    require_mapping,
    timestamp,
)

NAME = "pagerduty"

V3_EVENT_STATUS = {
    "incident.triggered": "firing",
    "incident.reopened": "firing",
    "incident.unacknowledged": "firing",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
}
V2_EVENT_STATUS = {
    "incident.trigger": "firing",
    "incident.unacknowledge": "firing",
    "incident.acknowledge": "acknowledged",
    "incident.resolve": "resolved",
}


def detect(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    event = payload.get("event")
    if isinstance(event, dict):
        return isinstance(event.get("event_type"), str) and "resource_type" in event and "data" in event
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return False
    first = messages[0].get("event")
    return isinstance(first, str) and first.startswith("incident.")


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    if "event" in body:
        return _v3(require_mapping(NAME, body["event"], "event"))
    messages = require_list(NAME, body.get("messages"), "messages")
    return [
        _v2(require_mapping(NAME, item, f"messages[{i}]"), f"messages[{i}]")
        for i, item in enumerate(messages)
    ]


def _v3(event: Mapping[str, Any]) -> list[NormalizedAlert]:
    event_type = optional_str(NAME, event.get("event_type"), "event.event_type")
    data = require_mapping(NAME, event.get("data"), "event.data")
    if not event_type.startswith("incident.") or data.get("type", "incident") != "incident":
        return []
    status = V3_EVENT_STATUS.get(event_type) or map_status(data.get("status"))
    changed_at = timestamp(NAME, event.get("occurred_at"), "event.occurred_at")
    agent = optional_mapping(NAME, event.get("agent"), "event.agent")
    extra = present(
        event_type=event_type, agent=optional_str(NAME, agent.get("summary"), "event.agent.summary")
    )
    return [_incident(data, "event.data", status, changed_at, extra)]


def _v2(message: Mapping[str, Any], where: str) -> NormalizedAlert:
    event = optional_str(NAME, message.get("event"), f"{where}.event")
    incident = require_mapping(NAME, message.get("incident"), f"{where}.incident")
    status = V2_EVENT_STATUS.get(event) or map_status(incident.get("status"))
    changed_at = timestamp(NAME, message.get("created_on"), f"{where}.created_on")
    return _incident(incident, f"{where}.incident", status, changed_at, present(event_type=event))


def _incident(
    data: Mapping[str, Any],
    where: str,
    status: str | None,
    changed_at: datetime | None,
    extra: dict[str, str],
) -> NormalizedAlert:
    if status is None:
        raise ParseError(NAME, f"{where}.status must be triggered, acknowledged or resolved")
    incident_id = optional_str(NAME, data.get("id"), f"{where}.id")
    if not incident_id:
        raise ParseError(NAME, f"{where}.id is required")
    title = _text(data, where, "title", "summary", "description")
    if not title:
        raise ParseError(NAME, f"{where}.title is required")
    service = _ref(data, where, "service")
    priority = _ref(data, where, "priority")  # null when the account does not use priorities
    urgency = optional_str(NAME, data.get("urgency"), f"{where}.urgency")
    labels = present(
        service=_text(service, f"{where}.service", "summary", "name"),
        service_id=optional_str(NAME, service.get("id"), f"{where}.service.id"),
        escalation_policy=_text(
            _ref(data, where, "escalation_policy"), f"{where}.escalation_policy", "summary"
        ),
        teams=_summaries(data, where, "teams"),
        urgency=urgency,
        priority=_text(priority, f"{where}.priority", "summary", "name"),
    )
    annotations = present(
        incident_number=_text(data, where, "number", "incident_number"),
        incident_key=optional_str(NAME, data.get("incident_key"), f"{where}.incident_key"),
        assignees=_summaries(data, where, "assignees"),
        resolve_reason=_text(data, where, "resolve_reason"),
        **extra,
    )
    return NormalizedAlert(
        fingerprint=incident_id,
        source=NAME,
        name=title,
        status=status,
        severity=map_severity(labels.get("priority"), default=map_severity(urgency, vendor=NAME)),
        labels=labels,
        annotations=annotations,
        starts_at=timestamp(NAME, data.get("created_at"), f"{where}.created_at"),
        ends_at=changed_at if status == "resolved" else None,
        links=links(
            ("incident", optional_str(NAME, data.get("html_url"), f"{where}.html_url")),
            ("service", optional_str(NAME, service.get("html_url"), f"{where}.service.html_url")),
        ),
        dedup_key=clamp_dedup_key(f"{NAME}:{incident_id}"),
    )


def _ref(data: Mapping[str, Any], where: str, key: str) -> Mapping[str, Any]:
    return optional_mapping(NAME, data.get(key), f"{where}.{key}")


def _text(data: Mapping[str, Any], where: str, *keys: str) -> str:
    """The first of `keys` with a value; a reference object ({"summary": ...}) gives its summary."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, Mapping):
            value = value.get("summary")
        text = optional_str(NAME, value, f"{where}.{key}")
        if text:
            return text
    return ""


def _summaries(data: Mapping[str, Any], where: str, key: str) -> str:
    """A list of references (assignees, teams) as their comma-joined summaries."""
    value = data.get(key)
    if value is None:
        return ""
    names = []
    for i, item in enumerate(require_list(NAME, value, f"{where}.{key}")):
        ref = require_mapping(NAME, item, f"{where}.{key}[{i}]")
        names.append(optional_str(NAME, ref.get("summary"), f"{where}.{key}[{i}].summary"))
    return ",".join(name for name in names if name)
