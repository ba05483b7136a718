"""Microsoft Teams through a workflow webhook ("When a Teams webhook request is
received"), posting an Adaptive Card.

settings: url (the workflow URL; a credential), timeout_s, max_alerts,
templates {title, text}.

Vendor contract: the body is a message whose attachment has contentType
application/vnd.microsoft.card.adaptive; the workflow answers 202 (legacy
connectors 200). 400 bad card and 401/403/404 are permanent; 429 carries
Retry-After; 5xx retry. A Teams message holds at most ~28 KB.
A follow-up is a new card whose title starts "Update: analysis for" (a workflow
webhook cannot reply to the earlier card).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .batch import largest_fitting, more_line, truncate
from .http import post_json
from .message import message_context
from .templates import ALERT_LINE, SUMMARY, TITLE, render, validate_overrides

TYPE = "teams"
SECRET_FIELDS = frozenset({"url"})
FOLLOW_UPS = True
DEFAULT_TEMPLATES = {"title": TITLE, "text": SUMMARY, "alert": ALERT_LINE}
MAX_BYTES = 28_000
MAX_ALERTS = 30
# Adaptive Card colour names: a firing incident by severity, then acknowledged and resolved.
STYLES = {"critical": "attention", "error": "attention", "warning": "warning", "info": "accent",
          "acknowledged": "default", "resolved": "good"}


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": fields.url(settings, "url"),
        "timeout_s": fields.timeout(settings),
        "max_alerts": fields.positive_int(settings, "max_alerts", MAX_ALERTS, 200),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES),
    }


def card(settings: Mapping[str, Any], delivery: Delivery, shown: int) -> dict[str, Any]:
    ctx = message_context(delivery.analysis, delivery.key, shown)
    state = ctx["state"]
    colour = STYLES[state] if state != "firing" else STYLES.get(ctx["incident"]["severity"], "attention")
    body: list[dict[str, Any]] = [
        {"type": "Container", "style": "good" if state == "resolved" else ("emphasis" if state == "acknowledged"
                                                                            else colour),
         "bleed": True, "items": [
            {"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": True, "color": colour,
             "text": truncate(render("title", DEFAULT_TEMPLATES, settings, ctx), 300)},
            {"type": "TextBlock", "wrap": True,
             "text": truncate(render("text", DEFAULT_TEMPLATES, settings, ctx), 4000)},
        ]},
        {"type": "FactSet", "facts": [
            {"title": "Status", "value": ctx["state_label"]},
            {"title": "Severity", "value": ctx["incident"]["severity"]},
            {"title": "Incident", "value": f"{ctx['incident']['id']} v{ctx['incident']['version']}"},
            {"title": "Lane", "value": ctx["incident"]["lane"]},
            *([{"title": "Analysis", "value": ctx["analysis"]["label"]}] if ctx["analysis"]["label"] else []),
        ]},
    ]
    for alert in ctx["alerts"]:
        line = render("alert", DEFAULT_TEMPLATES, settings, {**ctx, "alert": alert})
        body.append({"type": "TextBlock", "wrap": True, "spacing": "Small", "text": "- " + truncate(line, 500)})
    if ctx["more"]:
        body.append({"type": "TextBlock", "isSubtle": True, "text": more_line(ctx["more"])})
    if ctx["recommendations"] and state == "firing":
        body.append({"type": "TextBlock", "weight": "Bolder", "text": "Next steps", "spacing": "Medium"})
        body.extend({"type": "TextBlock", "wrap": True, "text": f"{i}. {truncate(r['title'], 300)}"}
                    for i, r in enumerate(ctx["recommendations"], 1))
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"}, "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": truncate(link["kind"] or "link", 40), "url": link["url"]}
                    for link in ctx["links"]],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}]}


def build(settings: Mapping[str, Any], delivery: Delivery) -> bytes:
    total = min(len(delivery.analysis.incident.alerts), settings["max_alerts"])
    body, _ = largest_fitting(lambda n: orjson.dumps(card(settings, delivery, n)), total, MAX_BYTES)
    return body


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    response = await post_json(out.http, settings["url"], build(settings, delivery), timeout=settings["timeout_s"])
    return Sent(response.status_code)
