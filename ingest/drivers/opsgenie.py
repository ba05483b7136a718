"""Opsgenie's outgoing Webhook integration.

    {"action": "Create", "alert": {"alertId", "alias", "message", "description",
     "priority": "P1".."P5", "tags": [...], "entity", "source", "tinyId", "createdAt",
     "updatedAt", "username", "details": {...}, "teams", ...},
     "source": {"name", "type"}, "integrationName", "integrationId", "integrationType"}
https://support.atlassian.com/opsgenie/docs/integrate-opsgenie-with-outgoing-webhooks/

The payload carries the action, not the alert's status, so the status follows from the
action (ACTION_STATUS). Actions that change no state (AddNote, AddTags, AssignOwnership,
Escalate, Snooze, UpdatePriority, custom actions, ...) parse to no alerts. createdAt is
in milliseconds, updatedAt in nanoseconds; timeparse reads both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key
from ..severity import map_severity
from .base import (
    ParseError,
    optional_mapping,
    optional_str,
    present,
    require_mapping,
    string_map,
    tag_labels,
    timestamp,
)

NAME = "opsgenie"

ACTION_STATUS = {
    "create": "firing",
    "unacknowledge": "firing",
    "acknowledge": "acknowledged",
    "close": "resolved",
    # A deleted alert is gone from Opsgenie; nothing will ever close it.
    "delete": "resolved",
}


def detect(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    alert = payload.get("alert")
    return (
        isinstance(payload.get("action"), str)
        and isinstance(alert, dict)
        and ("alertId" in alert or "alias" in alert)
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    action = optional_str(NAME, body.get("action"), "action")
    if not action:
        raise ParseError(NAME, "action is required")
    alert = require_mapping(NAME, body.get("alert"), "alert")
    status = ACTION_STATUS.get(action.lower())
    if status is None:
        return []
    fingerprint = optional_str(NAME, alert.get("alertId"), "alert.alertId") or optional_str(
        NAME, alert.get("alias"), "alert.alias"
    )
    if not fingerprint:
        raise ParseError(NAME, "alert.alertId or alert.alias is required")
    name = optional_str(NAME, alert.get("message"), "alert.message")
    if not name:
        raise ParseError(NAME, "alert.message is required")
    priority = optional_str(NAME, alert.get("priority"), "alert.priority")

    def field(key: str) -> str:
        return optional_str(NAME, alert.get(key), f"alert.{key}")

    labels = {
        **tag_labels(NAME, alert.get("tags"), "alert.tags"),
        **present(entity=field("entity"), source=field("source"), team=field("team"), priority=priority),
    }
    origin = optional_mapping(NAME, body.get("source"), "source")
    closed_at = timestamp(NAME, alert.get("updatedAt"), "alert.updatedAt")  # nanoseconds
    annotations = {
        **string_map(NAME, alert.get("details"), "alert.details"),
        **present(
            description=field("description"),
            alias=field("alias"),
            tiny_id=field("tinyId"),
            action=action,
            user=field("username"),
            note=field("note"),
            action_source=optional_str(NAME, origin.get("name"), "source.name"),
            integration=optional_str(NAME, body.get("integrationName"), "integrationName"),
        ),
    }
    return [
        NormalizedAlert(
            fingerprint=fingerprint,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(priority),
            labels=labels,
            annotations=annotations,
            starts_at=timestamp(NAME, alert.get("createdAt"), "alert.createdAt"),
            ends_at=closed_at if status == "resolved" else None,
            dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
        )
    ]
