"""Batches pushed by alertstream's own host agents.

    {"instance_id": "i-0abc", "hostname": "web-1",
     "alerts": [{"check": "disk", "status": "ok|warning|critical|unknown",
                 "message": "...", "metrics": {"used_pct": 91.5},
                 "labels": {...}, "since": "ISO-8601 or epoch"}]}

Each check result is one alert, named after the check. Its labels are the item's
labels plus instance_id, hostname and check (those three win), and its fingerprint
is derived from them, so a check on one host is one alert across batches. Metrics
become annotations "metric.<name>" and the message becomes "message". `since` (optional)
is when the check entered its status: starts_at when firing, ends_at when ok.

    status    alert       severity
    ok        resolved    info
    warning   firing      warning
    critical  firing      critical
    unknown   firing      info      (the check could not run: worth seeing, not paging)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertstream.schemas.records import NormalizedAlert

from ..fingerprint import clamp_dedup_key, fingerprint_of
from ..severity import map_severity
from .base import ParseError, optional_str, require_list, require_mapping, string_map, timestamp

NAME = "cluster"

CHECK_STATUSES = ("ok", "warning", "critical", "unknown")


def detect(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "instance_id" in payload
        and "hostname" in payload
        and isinstance(payload.get("alerts"), list)
    )


def parse(payload: Any, received_at: datetime) -> list[NormalizedAlert]:
    body = require_mapping(NAME, payload, "payload")
    instance_id = optional_str(NAME, body.get("instance_id"), "instance_id")
    hostname = optional_str(NAME, body.get("hostname"), "hostname")
    if not instance_id or not hostname:
        raise ParseError(NAME, "instance_id and hostname are required")
    items = require_list(NAME, body.get("alerts"), "alerts")
    return [_check(item, f"alerts[{i}]", instance_id, hostname) for i, item in enumerate(items)]


def _check(item: Any, where: str, instance_id: str, hostname: str) -> NormalizedAlert:
    result = require_mapping(NAME, item, where)
    check = optional_str(NAME, result.get("check"), f"{where}.check")
    if not check:
        raise ParseError(NAME, f"{where}.check is required")
    check_status = result.get("status")
    if check_status not in CHECK_STATUSES:
        raise ParseError(NAME, f"{where}.status must be one of {', '.join(CHECK_STATUSES)}")
    status = "resolved" if check_status == "ok" else "firing"
    labels = {
        **string_map(NAME, result.get("labels"), f"{where}.labels"),
        "instance_id": instance_id,
        "hostname": hostname,
        "check": check,
    }
    metrics = string_map(NAME, result.get("metrics"), f"{where}.metrics")
    annotations = {f"metric.{key}": value for key, value in metrics.items()}
    message = optional_str(NAME, result.get("message"), f"{where}.message")
    if message:
        annotations["message"] = message
    since = timestamp(NAME, result.get("since"), f"{where}.since")
    fingerprint = fingerprint_of(NAME, check, labels)
    return NormalizedAlert(
        fingerprint=fingerprint,
        source=NAME,
        name=check,
        status=status,
        severity=map_severity(check_status, vendor=NAME),
        labels=labels,
        annotations=annotations,
        starts_at=since if status == "firing" else None,
        ends_at=since if status == "resolved" else None,
        group_key=instance_id,
        dedup_key=clamp_dedup_key(f"{NAME}:{fingerprint}"),
    )
