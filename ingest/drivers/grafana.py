"""Grafana's webhook contact point, both generations.

Unified alerting (Grafana 8 and later) sends Alertmanager's group document with
additions: orgId, title, state, message, version "1", and per alert silenceURL,
dashboardURL, panelURL, imageURL and the query values. It is parsed by
alertmanager.parse_group() under the name "grafana".
https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/

Legacy dashboard alerting (before 8) sends one document per rule: ruleId, ruleName,
ruleUrl, state, evalMatches [{metric, value, tags}], tags {}, title, message,
imageUrl, orgId, dashboardId, panelId. It carries no timestamps. Its states:

    alerting  -> firing
    no_data   -> firing    (the data source stopped answering: still a problem to look at)
    ok        -> resolved
    pending   -> no alert  (the condition holds but not yet for long enough; Grafana does not notify)
    paused    -> no alert  (the rule stopped evaluating, which says nothing about the condition)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key, fingerprint_of
from ..severity import map_severity
from . import alertmanager
from .base import ParseError, links, optional_str, present, require_list, require_mapping, string_map

NAME = "grafana"

LEGACY_STATES: dict[str, str | None] = {
    "alerting": "firing",
    "no_data": "firing",
    "ok": "resolved",
    "pending": None,
    "paused": None,
}


def detect(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    # Unified: Alertmanager's shape, told apart by orgId, which Alertmanager never sends.
    unified = isinstance(payload.get("alerts"), list) and all(
        k in payload for k in ("orgId", "groupKey", "receiver")
    )
    legacy = (
        "evalMatches" in payload and "state" in payload and ("ruleId" in payload or "ruleName" in payload)
    )
    return unified or legacy


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    if "alerts" in body:
        return alertmanager.parse_group(NAME, body)
    return _legacy(body)


def _legacy(body: Mapping[str, Any]) -> list[NormalizedAlert]:
    state = body.get("state")
    if not isinstance(state, str) or state not in LEGACY_STATES:
        raise ParseError(NAME, f"state must be one of {', '.join(LEGACY_STATES)}")
    status = LEGACY_STATES[state]
    if status is None:
        return []
    name = optional_str(NAME, body.get("ruleName"), "ruleName")
    if not name:
        raise ParseError(NAME, "ruleName is required")
    labels = string_map(NAME, body.get("tags"), "tags")
    fingerprint = optional_str(NAME, body.get("ruleId"), "ruleId") or fingerprint_of(NAME, name, labels)
    annotations = present(
        title=optional_str(NAME, body.get("title"), "title"),
        message=optional_str(NAME, body.get("message"), "message"),
        eval_matches=_eval_matches(body.get("evalMatches")),
    )
    return [
        NormalizedAlert(
            fingerprint=fingerprint,
            source=NAME,
            name=name,
            status=status,
            severity=map_severity(labels.get("severity")),
            labels=labels,
            annotations=annotations,
            links=links(
                ("generator", optional_str(NAME, body.get("ruleUrl"), "ruleUrl")),
                ("image", optional_str(NAME, body.get("imageUrl"), "imageUrl")),
            ),
            dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
        )
    ]


def _eval_matches(value: Any) -> str:
    """The series that matched, as "metric=value" pairs (an ok notification has none)."""
    if value is None:
        return ""
    pairs = []
    for i, item in enumerate(require_list(NAME, value, "evalMatches")):
        match = require_mapping(NAME, item, f"evalMatches[{i}]")
        metric = optional_str(NAME, match.get("metric"), f"evalMatches[{i}].metric")
        pairs.append(f"{metric}={optional_str(NAME, match.get('value'), f'evalMatches[{i}].value')}")
    return ", ".join(pairs)
