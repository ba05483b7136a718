"""Opsgenie Alert API: create, acknowledge and close one alert per incident.

settings: api_key (a credential), base_url (default https://api.opsgenie.com;
EU accounts use https://api.eu.opsgenie.com), priorities (severity -> P1..P5),
tags, responders, source, timeout_s, max_alerts, templates {message, description}.

alias is the incident id (hashed above 512 characters): Opsgenie keeps one
open alert per alias, so a resend after a crash is deduplicated, and
acknowledge/close address the alert by alias (`identifierType=alias`).
Vendor contract (Alert API): 202 "Request will be processed"; 400/422 invalid
(permanent), 401/403 bad key (permanent), 429 rate limited (retry), 5xx retry.
Limits: message 130 chars, description 15000, alias 512, tags 20, source 100.

A follow-up never creates an alert: it is a note on the incident's alert ("Add Note
to Alert", POST /v2/alerts/{alias}/notes?identifierType=alias, note <= 25000 chars,
202 like the rest), so the late analysis lands where the responder already looks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .batch import fit_lines, truncate
from .http import post_json
from .message import message_context
from .templates import ALERT_LINE, SUMMARY, TITLE, render, validate_overrides

TYPE = "opsgenie"
SECRET_FIELDS = frozenset({"api_key"})
FOLLOW_UPS = True
DEFAULT_BASE_URL = "https://api.opsgenie.com"
PRIORITIES = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P5"}
DEFAULT_TEMPLATES = {"message": TITLE, "description": SUMMARY, "alert": ALERT_LINE}
MESSAGE_CHARS, DESCRIPTION_CHARS, SOURCE_CHARS, NOTE_CHARS = 130, 15000, 100, 25000
MAX_ALERTS = 200


def alias(incident_id: str) -> str:
    return incident_id if len(incident_id) <= 512 else "sha256:" + hashlib.sha256(incident_id.encode()).hexdigest()


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    priorities = {**PRIORITIES, **(settings.get("priorities") or {})}
    if not all(p in ("P1", "P2", "P3", "P4", "P5") for p in priorities.values()):
        raise fields.invalid("priorities values must be P1..P5")
    responders = settings.get("responders") or []
    if not isinstance(responders, list) or not all(isinstance(r, Mapping) for r in responders):
        raise fields.invalid("responders must be a list of objects")
    tags = fields.string_list(settings, "tags")
    if len(tags) > 20 or any(len(t) > 50 for t in tags):
        raise fields.invalid("at most 20 tags of at most 50 characters")
    return {
        "api_key": fields.text(settings, "api_key", max_len=128),
        "base_url": fields.url(settings, "base_url", DEFAULT_BASE_URL).rstrip("/"),
        "priorities": priorities,
        "responders": [dict(r) for r in responders],
        "tags": tags,
        "source": fields.optional_text(settings, "source", "alertstream", max_len=SOURCE_CHARS),
        "timeout_s": fields.timeout(settings),
        "max_alerts": fields.positive_int(settings, "max_alerts", MAX_ALERTS, 1000),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES),
    }


def build(settings: Mapping[str, Any], delivery: Delivery) -> tuple[str, bytes]:
    """(path and query, body) of the one request this delivery makes."""
    ctx = message_context(delivery.analysis, delivery.key, settings["max_alerts"])
    key = alias(ctx["incident"]["id"])
    source = settings["source"] or "alertstream"
    note = truncate(render("message", DEFAULT_TEMPLATES, settings, ctx), NOTE_CHARS)
    if ctx["update"]:
        text = render("description", DEFAULT_TEMPLATES, settings, ctx).strip()
        steps = "".join(f"\n{i}. {r['title']}" for i, r in enumerate(ctx["recommendations"], 1))
        note = truncate(f"{note}\n\n{text}" + (f"\n\nNext steps:{steps}" if steps else ""), NOTE_CHARS)
        return f"/v2/alerts/{quote(key, safe='')}/notes?identifierType=alias", orjson.dumps({"source": source,
                                                                                             "note": note})
    if ctx["state"] == "resolved":
        return f"/v2/alerts/{quote(key, safe='')}/close?identifierType=alias", orjson.dumps({"source": source,
                                                                                             "note": note})
    if ctx["state"] == "acknowledged":
        return f"/v2/alerts/{quote(key, safe='')}/acknowledge?identifierType=alias", orjson.dumps(
            {"source": source, "note": note})
    lines = [render("alert", DEFAULT_TEMPLATES, settings, {**ctx, "alert": a}) for a in ctx["alerts"]]
    head = render("description", DEFAULT_TEMPLATES, settings, ctx).strip()
    room = DESCRIPTION_CHARS - len(head) - 2
    description = truncate(head + ("\n\n" + fit_lines(lines, room, hidden=ctx["more"]) if lines and room > 40
                                   else ""), DESCRIPTION_CHARS)
    incident = ctx["incident"]
    body: dict[str, Any] = {
        "message": truncate(render("message", DEFAULT_TEMPLATES, settings, ctx), MESSAGE_CHARS),
        "alias": key,
        "description": description,
        "priority": settings["priorities"].get(incident["severity"], "P3"),
        "source": source,
        "tags": settings["tags"],
        "details": {"incident_id": incident["id"], "version": str(incident["version"]), "lane": incident["lane"],
                    "reason": incident["reason"], "alerts": str(ctx["alerts_total"]),
                    **({"analysis": ctx["analysis"]["label"]} if ctx["analysis"]["label"] else {}),
                    **{f"link_{i}": link["url"] for i, link in enumerate(ctx["links"], 1)}},
    }
    if settings["responders"]:
        body["responders"] = settings["responders"]
    return "/v2/alerts", orjson.dumps(body)


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    path, body = build(settings, delivery)
    response = await post_json(
        out.http, settings["base_url"] + path, body, timeout=settings["timeout_s"],
        headers={"authorization": f"GenieKey {settings['api_key']}"},
    )
    return Sent(response.status_code)
