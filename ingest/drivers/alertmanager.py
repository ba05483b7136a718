"""Prometheus Alertmanager webhook_config, payload version 4.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertstream.schemas.records import Link, NormalizedAlert

from ..fingerprint import clamp_dedup_key, fingerprint_of
from ..severity import map_severity
from ..timeparse import TimestampError, parse_timestamp
from .base import ParseError, optional_str, require_list, require_mapping, string_map

NAME = "alertmanager"

# Annotations that conventionally hold URLs (Prometheus runbook/dashboard conventions).
LINK_ANNOTATIONS = {"runbook_url": "runbook", "runbook": "runbook", "dashboard_url": "dashboard", "dashboard": "dashboard"}


def detect(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("alerts"), list)
        and "groupKey" in payload
        and str(payload.get("version", "")) == "4"
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    alerts = require_list(NAME, body.get("alerts"), "alerts")
    group_key = optional_str(NAME, body.get("groupKey"), "groupKey")
    external_url = optional_str(NAME, body.get("externalURL"), "externalURL")
    common = string_map(NAME, body.get("commonAnnotations"), "commonAnnotations")
    return [_alert(i, item, group_key, external_url, common) for i, item in enumerate(alerts)]


def _alert(index: int, item: Any, group_key: str, external_url: str, common: dict[str, str]) -> NormalizedAlert:
    where = f"alerts[{index}]"
    alert = require_mapping(NAME, item, where)
    labels = string_map(NAME, alert.get("labels"), f"{where}.labels")
    annotations = {**common, **string_map(NAME, alert.get("annotations"), f"{where}.annotations")}
    name = labels.get("alertname", "")
    if not name:
        raise ParseError(NAME, f"{where}.labels.alertname is required")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise ParseError(NAME, f"{where}.status must be 'firing' or 'resolved'")
    try:
        starts_at = parse_timestamp(alert.get("startsAt"))
        ends_at = parse_timestamp(alert.get("endsAt"))
    except TimestampError as exc:
        raise ParseError(NAME, f"{where}: {exc}") from exc
    fingerprint = optional_str(NAME, alert.get("fingerprint"), f"{where}.fingerprint") or fingerprint_of(
        NAME, name, labels
    )
    links = []
    generator = optional_str(NAME, alert.get("generatorURL"), f"{where}.generatorURL")
    if generator:
        links.append(Link("generator", generator))
    for key, kind in LINK_ANNOTATIONS.items():
        if annotations.get(key):
            links.append(Link(kind, annotations[key]))
    if external_url:
        links.append(Link("alertmanager", external_url))
    return NormalizedAlert(
        fingerprint=fingerprint,
        source=NAME,
        name=name,
        status=status,
        severity=map_severity(labels.get("severity")),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at if status == "resolved" else None,
        links=links,
        group_key=group_key,
        dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
    )
