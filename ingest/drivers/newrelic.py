"""New Relic alert webhooks, both generations.

Classic notification channel (one document per incident event), default payload:
    incident_id, event_type, current_state open|acknowledged|closed, condition_name,
    policy_name, severity CRITICAL|WARNING|INFO, timestamp (ms), details, owner,
    account_id, condition_id, targets [{name, link, ...}], incident_url, runbook_url,
    violation_chart_url
https://docs.newrelic.com/docs/alerts-applied-intelligence/new-relic-alerts/advanced-alerts/advanced-techniques/customize-your-webhook-payload/
A channel test (event_type NOTIFICATION, current_state "test") parses to no alerts.

Workflows (issues), the default webhook template and the usual variable names:
    issueId (the default template calls it "id", next to "issueUrl"), state
    CREATED|ACTIVATED|ACKNOWLEDGED|CLOSED, priority CRITICAL|HIGH|MEDIUM|LOW, title,
    issueUrl, createdAt/updatedAt/closedAt (ms), alertPolicyNames, alertConditionNames,
    impactedEntities, totalIncidents, trigger, isCorrelated, workflowName
The fingerprint is the incident id or the issue id.
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
    joined,
    links,
    optional_str,
    present,
    require_list,
    require_mapping,
    template_str,
    timestamp,
)

NAME = "newrelic"

ISSUE_STATES = ("CREATED", "ACTIVATED", "ACKNOWLEDGED", "CLOSED")


def detect(payload: Any) -> bool:
    return isinstance(payload, dict) and (_is_classic(payload) or _is_issue(payload))


def _is_classic(payload: Mapping[str, Any]) -> bool:
    return "incident_id" in payload and "current_state" in payload


def _is_issue(payload: Mapping[str, Any]) -> bool:
    state = payload.get("state")
    return (
        isinstance(state, str)
        and state.upper() in ISSUE_STATES
        and ("issueId" in payload or "issueUrl" in payload)
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    return _classic(body) if "incident_id" in body else _issue(body)


def _classic(body: Mapping[str, Any]) -> list[NormalizedAlert]:
    def field(key: str) -> str:
        return template_str(NAME, body.get(key), key)

    state = field("current_state")
    if field("event_type").upper() == "NOTIFICATION" or state.lower() == "test":
        return []
    status = map_status(state)
    if status is None:
        raise ParseError(NAME, "current_state must be open, acknowledged or closed")
    incident_id = field("incident_id")
    if not incident_id:
        raise ParseError(NAME, "incident_id is required")
    name = field("condition_name") or field("policy_name")
    if not name:
        raise ParseError(NAME, "condition_name is required")
    happened_at = timestamp(NAME, field("timestamp"), "timestamp")
    return [
        NormalizedAlert(
            fingerprint=incident_id,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(field("severity")),
            labels=present(
                policy=field("policy_name"),
                condition_id=field("condition_id"),
                account_id=field("account_id"),
                targets=_target_names(body.get("targets")),
            ),
            annotations=present(
                details=field("details"),
                description=field("condition_description"),
                owner=field("owner"),
                account_name=field("account_name"),
                event_type=field("event_type"),
            ),
            starts_at=happened_at if status == "firing" else None,
            ends_at=happened_at if status == "resolved" else None,
            links=links(
                ("incident", field("incident_url")),
                ("runbook", field("runbook_url")),
                ("chart", field("violation_chart_url")),
            ),
            dedup_key=clamp_dedup_key(f"{NAME}:{incident_id}"),
        )
    ]


def _target_names(value: Any) -> str:
    if value is None:
        return ""
    names = []
    for i, item in enumerate(require_list(NAME, value, "targets")):
        target = require_mapping(NAME, item, f"targets[{i}]")
        names.append(optional_str(NAME, target.get("name"), f"targets[{i}].name"))
    return ",".join(name for name in names if name)


def _issue(body: Mapping[str, Any]) -> list[NormalizedAlert]:
    def field(key: str) -> str:
        return template_str(NAME, body.get(key), key)

    status = map_status(field("state"))
    if status is None:
        raise ParseError(NAME, f"state must be one of {', '.join(ISSUE_STATES)}")
    issue_id = field("issueId") or field("id")
    if not issue_id:
        raise ParseError(NAME, "issueId is required")
    conditions = joined(NAME, body.get("alertConditionNames"), "alertConditionNames")
    name = field("title") or conditions
    if not name:
        raise ParseError(NAME, "title is required")
    ended_at = field("closedAt") or field("updatedAt")
    return [
        NormalizedAlert(
            fingerprint=issue_id,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(field("priority")),
            labels=present(
                policy=joined(NAME, body.get("alertPolicyNames"), "alertPolicyNames"),
                condition=conditions,
                entities=joined(NAME, body.get("impactedEntities"), "impactedEntities"),
                workflow=field("workflowName"),
                priority=field("priority"),
            ),
            annotations=present(
                trigger=field("trigger"),
                total_incidents=field("totalIncidents"),
                is_correlated=field("isCorrelated"),
                sources=joined(NAME, body.get("sources"), "sources"),
            ),
            starts_at=timestamp(NAME, field("createdAt"), "createdAt"),
            ends_at=timestamp(NAME, ended_at, "closedAt") if status == "resolved" else None,
            links=links(("incident", field("issueUrl") or field("issuePageUrl"))),
            dedup_key=clamp_dedup_key(f"{NAME}:{issue_id}"),
        )
    ]
