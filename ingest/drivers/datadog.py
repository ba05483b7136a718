"""Datadog monitor notifications through the Webhooks integration.

Datadog posts whatever JSON the admin writes as the webhook payload, with its $VARIABLES
expanded (https://docs.datadoghq.com/integrations/webhooks/). This driver reads these
fields, the names of Datadog's default payload plus common additions:

    field                 variable            used for
    aggreg_key            $AGGREG_KEY         fingerprint: one per monitor and group (also: aggregation_key)
    alert_id              $ALERT_ID           the monitor id: group_key, label monitor_id, and the
                                              fingerprint when there is no aggregation key (all groups
                                              of a multi-alert monitor then share it)
    alert_transition      $ALERT_TRANSITION   status: Recovered -> resolved; Triggered, Warn, No Data,
                                              their Re- forms and Renotify -> firing
    alert_type            $ALERT_TYPE         status without a transition (success -> resolved, else
                                              firing); severity without a priority
    alert_priority        $ALERT_PRIORITY     severity (P1..P5)
    alert_title, title    $ALERT_TITLE,       name, without Datadog's "[Triggered on {...}]" and
                          $EVENT_TITLE        "[P1]" prefixes
    alert_scope           $ALERT_SCOPE        label scope
    hostname, host_name   $HOSTNAME           label host
    tags                  $TAGS               labels (key:value; bare tags under "tags")
    link                  $LINK               Link("incident")
    date, date_posix, last_updated   $DATE (ms), $DATE_POSIX (s), $LAST_UPDATED
                                              when it happened: starts_at when firing, ends_at when resolved
    alert_status, alert_metric, alert_query, alert_cycle_key, body/event_msg/text_only_msg, id, event_type
                                              annotations
A variable Datadog left unexpanded ("$ALERT_PRIORITY") counts as absent. The default
payload's `org` object is not read: other senders have one too, so it identifies nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key
from ..severity import map_severity
from .base import ParseError, links, present, require_mapping, tag_labels, template_str, timestamp

NAME = "datadog"

_ID_KEYS = ("aggreg_key", "aggregation_key", "alert_id")
_STATE_KEYS = ("alert_transition", "alert_type")
TRANSITION_STATUS = {
    "triggered": "firing",
    "re-triggered": "firing",
    "warn": "firing",
    "re-warn": "firing",
    "no data": "firing",
    "re-no data": "firing",
    "renotify": "firing",
    "recovered": "resolved",
}
ALERT_TYPE_STATUS = {"error": "firing", "warning": "firing", "info": "firing", "success": "resolved"}
# Leading "[Triggered on {host:web-1}]", "[Re-Warn]", "[P2]" ... that Datadog puts on titles.
_TITLE_PREFIX = re.compile(
    r"^(?:\s*\[(?:P[1-5]|(?:Re-)?(?:Triggered|Warn|No Data)|Recovered|Renotify)\b[^\]]*\])+\s*", re.IGNORECASE
)


def detect(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and any(key in payload for key in _ID_KEYS)
        and any(key in payload for key in _STATE_KEYS)
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")

    def field(*keys: str) -> str:
        """The first of `keys` that has a value."""
        for key in keys:
            text = template_str(NAME, body.get(key), key)
            if text:
                return text
        return ""

    monitor_id = field("alert_id")
    fingerprint = field("aggreg_key", "aggregation_key") or monitor_id
    if not fingerprint:
        raise ParseError(NAME, "aggreg_key or alert_id is required")
    title = field("alert_title", "title")
    name = _TITLE_PREFIX.sub("", title) or title
    if not name:
        raise ParseError(NAME, "alert_title or title is required")
    transition, alert_type = field("alert_transition"), field("alert_type")
    status = TRANSITION_STATUS.get(transition.lower()) or ALERT_TYPE_STATUS.get(alert_type.lower())
    if status is None:
        raise ParseError(
            NAME, f"alert_transition must be one of {', '.join(TRANSITION_STATUS)} (got {transition!r})"
        )
    happened_at = _when(body)
    labels = {
        **tag_labels(NAME, field("tags") if isinstance(body.get("tags"), str) else body.get("tags"), "tags"),
        **present(monitor_id=monitor_id, scope=field("alert_scope"), host=field("hostname", "host_name")),
    }
    annotations = present(
        title=title,
        transition=transition,
        alert_type=alert_type,
        summary=field("alert_status"),
        metric=field("alert_metric"),
        query=field("alert_query"),
        message=field("body", "event_msg", "text_only_msg"),
        alert_cycle_key=field("alert_cycle_key"),
        event_id=field("id"),
        event_type=field("event_type"),
    )
    return [
        NormalizedAlert(
            fingerprint=fingerprint,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(field("alert_priority"), default=map_severity(alert_type, vendor=NAME)),
            labels=labels,
            annotations=annotations,
            starts_at=happened_at if status == "firing" else None,
            ends_at=happened_at if status == "resolved" else None,
            links=links(("incident", field("link"))),
            group_key=monitor_id,
            dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
        )
    ]


def _when(body: Mapping[str, Any]) -> datetime | None:
    for key in ("date", "date_posix", "last_updated"):
        text = template_str(NAME, body.get(key), key)
        if text:
            return timestamp(NAME, text, key)
    return None
