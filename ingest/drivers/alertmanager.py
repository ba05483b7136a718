"""Prometheus Alertmanager webhook_config, payload version 4.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config

Grafana's unified alerting sends the same document with additions of its own, so
grafana.py parses it through parse_group() under its own source name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertstream.schemas.records import Link, NormalizedAlert

from ..fingerprint import clamp_dedup_key, fingerprint_of
from ..severity import map_severity
from .base import ParseError, optional_str, require_list, require_mapping, string_map, timestamp

NAME = "alertmanager"

# Per-alert URL fields. Alertmanager sends only generatorURL; Grafana adds the other four.
URL_FIELDS = {
    "generatorURL": "generator",
    "dashboardURL": "dashboard",
    "panelURL": "panel",
    "silenceURL": "silence",
    "imageURL": "image",
}
# Annotations that conventionally hold URLs (Prometheus runbook/dashboard conventions).
LINK_ANNOTATIONS = {
    "runbook_url": "runbook",
    "runbook": "runbook",
    "dashboard_url": "dashboard",
    "dashboard": "dashboard",
}


def detect(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("alerts"), list)
        and "groupKey" in payload
        and str(payload.get("version", "")) == "4"
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    return parse_group(NAME, payload)


def parse_group(source: str, payload: Any) -> list[NormalizedAlert]:
    """An Alertmanager-shaped group notification, from whichever sender `source` names."""
    body = require_mapping(source, payload, "payload")
    alerts = require_list(source, body.get("alerts"), "alerts")
    group_key = optional_str(source, body.get("groupKey"), "groupKey")
    external_url = optional_str(source, body.get("externalURL"), "externalURL")
    common = string_map(source, body.get("commonAnnotations"), "commonAnnotations")
    return [_alert(source, i, item, group_key, external_url, common) for i, item in enumerate(alerts)]


def _alert(
    source: str, index: int, item: Any, group_key: str, external_url: str, common: dict[str, str]
) -> NormalizedAlert:
    where = f"alerts[{index}]"
    alert = require_mapping(source, item, where)
    labels = string_map(source, alert.get("labels"), f"{where}.labels")
    annotations = {**common, **string_map(source, alert.get("annotations"), f"{where}.annotations")}
    name = labels.get("alertname", "")
    if not name:
        raise ParseError(source, f"{where}.labels.alertname is required")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise ParseError(source, f"{where}.status must be 'firing' or 'resolved'")
    starts_at = timestamp(source, alert.get("startsAt"), f"{where}.startsAt")
    ends_at = timestamp(source, alert.get("endsAt"), f"{where}.endsAt")
    # Grafana adds the query values that crossed the threshold; Alertmanager sends neither.
    for ref_id, value in string_map(source, alert.get("values"), f"{where}.values").items():
        annotations.setdefault(f"value.{ref_id}", value)
    value_string = optional_str(source, alert.get("valueString"), f"{where}.valueString")
    if value_string:
        annotations.setdefault("value_string", value_string)
    fingerprint = optional_str(source, alert.get("fingerprint"), f"{where}.fingerprint") or fingerprint_of(
        source, name, labels
    )
    links = []
    for key, kind in URL_FIELDS.items():
        url = optional_str(source, alert.get(key), f"{where}.{key}")
        if url:
            links.append(Link(kind, url))
    for key, kind in LINK_ANNOTATIONS.items():
        if annotations.get(key):
            links.append(Link(kind, annotations[key]))
    if external_url:
        links.append(Link(source, external_url))
    return NormalizedAlert(
        fingerprint=fingerprint,
        source=source,
        name=name,
        status=status,
        severity=map_severity(labels.get("severity")),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at if status == "resolved" else None,
        links=links,
        group_key=group_key,
        dedup_key=clamp_dedup_key(f"{source}:{fingerprint}"),
    )
