"""The generic format: one alert object, or {"alerts": [...]} of them.

    {"name": "DiskFull", "status": "firing", "severity": "critical",
     "labels": {...}, "annotations": {...}, "fingerprint": "optional",
     "starts_at": "ISO-8601 or epoch", "ends_at": ..., "links": [{"kind": "runbook", "url": "..."}]}

Accepted aliases: alertname/title for name, startsAt/endsAt, description/summary
folded into annotations. Status defaults to firing, severity to warning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertstream.schemas.records import Link, NormalizedAlert

from ..fingerprint import clamp_dedup_key, fingerprint_of
from ..severity import map_severity
from ..status import map_status
from ..timeparse import TimestampError, parse_timestamp
from .base import ParseError, optional_str, require_list, require_mapping, string_map

NAME = "generic"
_NAME_KEYS = ("name", "alertname", "title")


def _looks_like_alert(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(value.get(k), str) and value.get(k) for k in _NAME_KEYS)


def detect(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    alerts = payload.get("alerts")
    if isinstance(alerts, list):
        return bool(alerts) and all(_looks_like_alert(a) for a in alerts)
    return _looks_like_alert(payload)


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    if "alerts" in body:
        items = require_list(NAME, body["alerts"], "alerts")
        if not items:
            raise ParseError(NAME, "alerts must not be empty")
        return [_alert(item, f"alerts[{i}]") for i, item in enumerate(items)]
    return [_alert(body, "payload")]


def _alert(item: Any, where: str) -> NormalizedAlert:
    alert = require_mapping(NAME, item, where)
    name = next((optional_str(NAME, alert.get(k), f"{where}.{k}") for k in _NAME_KEYS if alert.get(k)), "")
    if not name:
        raise ParseError(NAME, f"{where} needs a non-empty 'name' (or 'alertname'/'title')")
    raw_status = alert.get("status", "firing")
    status = map_status(raw_status)
    if status is None:
        raise ParseError(NAME, f"{where}.status must be firing, acknowledged or resolved")
    labels = string_map(NAME, alert.get("labels"), f"{where}.labels")
    annotations = string_map(NAME, alert.get("annotations"), f"{where}.annotations")
    for key in ("summary", "description"):
        if key in alert and key not in annotations:
            annotations[key] = optional_str(NAME, alert[key], f"{where}.{key}")
    try:
        starts_at = parse_timestamp(alert.get("starts_at", alert.get("startsAt")))
        ends_at = parse_timestamp(alert.get("ends_at", alert.get("endsAt")))
    except TimestampError as exc:
        raise ParseError(NAME, f"{where}: {exc}") from exc
    severity = map_severity(alert.get("severity", labels.get("severity")))
    fingerprint = optional_str(NAME, alert.get("fingerprint"), f"{where}.fingerprint") or fingerprint_of(
        NAME, name, labels
    )
    return NormalizedAlert(
        fingerprint=fingerprint,
        source=NAME,
        name=name,
        status=status,
        severity=severity,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        links=_links(alert.get("links"), where),
        group_key=optional_str(NAME, alert.get("group_key"), f"{where}.group_key"),
        dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
    )


def _links(value: Any, where: str) -> list[Link]:
    if value is None:
        return []
    links = []
    for i, item in enumerate(require_list(NAME, value, f"{where}.links")):
        link = require_mapping(NAME, item, f"{where}.links[{i}]")
        url = optional_str(NAME, link.get("url"), f"{where}.links[{i}].url")
        if not url:
            raise ParseError(NAME, f"{where}.links[{i}].url is required")
        links.append(Link(optional_str(NAME, link.get("kind"), f"{where}.links[{i}].kind") or "other", url))
    return links
