"""PagerDuty Events API v2: trigger, acknowledge and resolve one alert per incident.

settings: routing_key (integration key; a credential), base_url (default
https://events.pagerduty.com; POST {base_url}/v2/enqueue), source, component,
group, class, severity_map, timeout_s, max_alerts, templates {summary}.

dedup_key is the incident id (hashed when longer than 255 characters), so every
version of an incident updates the same PagerDuty alert, a resend after a crash
is deduplicated by PagerDuty, and resolving in alertstream resolves it there.
Vendor contract ("Events API v2 Overview", "Send an Alert Event"): 202 on
success; 400 invalid event (permanent); 429 too many events: retry with backoff;
5xx: retry. summary <= 1024 chars, a whole event <= 512 KB.

Follow-ups are not sent (FOLLOW_UPS = False). The Events API knows only trigger,
acknowledge and resolve: a second trigger with the same dedup_key is folded into an
open alert, but opens a new incident once the first was resolved, and notes need the
REST API with a user's token, which an integration key is not. The first event
already says "analysis pending"; the late analysis is stored and shown by alertstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .batch import largest_fitting, more_line, truncate
from .http import post_json
from .message import incident_state, message_context
from .templates import TITLE, render, validate_overrides

TYPE = "pagerduty"
SECRET_FIELDS = frozenset({"routing_key"})
FOLLOW_UPS = False
PENDING_NOTE = ("Analysis pending: it was not ready in time. It is not sent to PagerDuty when it comes;"
                " alertstream keeps it with the incident (/intelligence/recommendations/).")
DEFAULT_BASE_URL = "https://events.pagerduty.com"
DEFAULT_TEMPLATES = {"summary": TITLE}
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = {"firing": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}
MAX_EVENT_BYTES = 512 * 1024
MAX_ALERTS = 100


def dedup_key(incident_id: str) -> str:
    return incident_id if len(incident_id) <= 255 else "sha256:" + hashlib.sha256(incident_id.encode()).hexdigest()


def _analysis_note(ctx: Mapping[str, Any]) -> str:
    """The shared note, but a pending analysis is not promised here: no update follows on PagerDuty."""
    if ctx["analysis"]["status"] == "pending":
        return PENDING_NOTE
    return str(ctx["analysis_note"])


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    severity_map = settings.get("severity_map") or {}
    if not isinstance(severity_map, Mapping) or not all(v in SEVERITIES for v in severity_map.values()):
        raise fields.invalid(f"severity_map values must be among {list(SEVERITIES)}")
    return {
        "routing_key": fields.text(settings, "routing_key", max_len=64),
        "base_url": fields.url(settings, "base_url", DEFAULT_BASE_URL).rstrip("/"),
        "source": fields.optional_text(settings, "source", "alertstream", max_len=255),
        "component": fields.optional_text(settings, "component", max_len=255),
        "group": fields.optional_text(settings, "group", max_len=255),
        "class": fields.optional_text(settings, "class", max_len=255),
        "severity_map": dict(severity_map),
        "timeout_s": fields.timeout(settings),
        "max_alerts": fields.positive_int(settings, "max_alerts", MAX_ALERTS, 1000),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES),
    }


def build(settings: Mapping[str, Any], delivery: Delivery) -> bytes:
    incident = delivery.analysis.incident
    action = ACTIONS[incident_state(incident.status)]
    event: dict[str, Any] = {
        "routing_key": settings["routing_key"],
        "event_action": action,
        "dedup_key": dedup_key(incident.incident_id),
    }
    if action != "trigger":  # acknowledge and resolve take no payload
        return orjson.dumps(event)
    total = len(incident.alerts)

    def with_alerts(shown: int) -> bytes:
        ctx = message_context(delivery.analysis, delivery.key, min(shown, settings["max_alerts"]))
        payload: dict[str, Any] = {
            "summary": truncate(render("summary", DEFAULT_TEMPLATES, settings, ctx), 1024),
            "source": settings["source"] or "alertstream",
            "severity": settings["severity_map"].get(incident.severity, incident.severity
                                                     if incident.severity in SEVERITIES else "error"),
            "timestamp": incident.updated_at.isoformat(),
            "custom_details": {
                "incident_id": incident.incident_id, "version": incident.version, "reason": incident.reason,
                "lane": incident.lane.name, "summary": ctx["summary"], "probable_cause": ctx["probable_cause"],
                **({"analysis": _analysis_note(ctx)} if ctx["analysis_note"] else {}),
                "recommendations": [r["title"] for r in ctx["recommendations"]],
                "alerts": ctx["alerts"],
                **({"more": more_line(total - len(ctx["alerts"]))} if total > len(ctx["alerts"]) else {}),
            },
        }
        for key in ("component", "group", "class"):
            if settings[key]:
                payload[key] = settings[key]
        return orjson.dumps({
            **event, "payload": payload, "client": "alertstream",
            "links": [{"href": link["url"], "text": link["kind"] or "link"} for link in ctx["links"]],
        })

    body, _ = largest_fitting(with_alerts, total, MAX_EVENT_BYTES)
    return body


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    body = build(settings, delivery)
    response = await post_json(out.http, settings["base_url"] + "/v2/enqueue", body, timeout=settings["timeout_s"])
    return Sent(response.status_code)
