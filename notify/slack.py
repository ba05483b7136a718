"""Slack incoming webhook with a Block Kit message.

settings: url (the incoming-webhook URL; a credential), timeout_s, max_alerts,
templates {title, text}. The URL *is* the vendor base URL, so tests and
air-gapped installs point it at their own endpoint.

Vendor contract (Slack "Sending messages using incoming webhooks"): 200 "ok" on
success; 400 invalid_payload, 403 action_prohibited, 404 channel_not_found,
410 channel_is_archived are permanent; 429 carries Retry-After; 5xx retry.
Limits: 50 blocks, header text 150 chars, section text 3000 chars.
The colour bar needs a (secondary) attachment; the blocks inside it render the same.
A follow-up is a new message whose header starts "Update: analysis for" (an incoming
webhook cannot reply in a thread: it learns no message ts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .batch import fit_lines, truncate
from .http import post_json
from .message import message_context
from .templates import ALERT_LINE, SUMMARY, TITLE, render, validate_overrides

TYPE = "slack"
SECRET_FIELDS = frozenset({"url"})
FOLLOW_UPS = True
DEFAULT_TEMPLATES = {"title": TITLE, "text": SUMMARY, "alert": ALERT_LINE}
HEADER_CHARS = 150
SECTION_CHARS = 3000
MAX_ALERTS = 20
STATE_EMOJI = {"firing": ":rotating_light:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:"}


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": fields.url(settings, "url"),
        "timeout_s": fields.timeout(settings),
        "max_alerts": fields.positive_int(settings, "max_alerts", MAX_ALERTS, 45),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES),
    }


def build(settings: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    ctx = message_context(delivery.analysis, delivery.key, int(settings.get("max_alerts", MAX_ALERTS)))
    title = truncate(render("title", DEFAULT_TEMPLATES, settings, ctx), HEADER_CHARS)
    text = render("text", DEFAULT_TEMPLATES, settings, ctx).strip()
    status = f"{STATE_EMOJI[ctx['state']]} *{ctx['state_label']}* · severity *{ctx['incident']['severity']}*"
    if ctx["analysis"]["label"]:  # said outside the templates, so an override cannot lose it
        status += f" · _{ctx['analysis']['label']}_"
    if ctx["update"]:
        status = f"*Update* · {status}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(f"{status}\n{text}".strip(), SECTION_CHARS)}},
    ]
    lines = [f"• {render('alert', DEFAULT_TEMPLATES, settings, {**ctx, 'alert': a})}" for a in ctx["alerts"]]
    detail: list[dict[str, Any]] = []
    if lines:
        body = fit_lines(lines, SECTION_CHARS, hidden=ctx["more"])
        detail.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    if ctx["recommendations"] and ctx["state"] == "firing":
        recs = [f"{i}. {r['title']}" for i, r in enumerate(ctx["recommendations"], 1)]
        text = truncate("*Next steps*\n" + "\n".join(recs), SECTION_CHARS)
        detail.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if ctx["links"]:
        detail.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": truncate(link["kind"] or "link", 75)},
             "url": link["url"][:3000]}
            for link in ctx["links"]
        ]})
    detail.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": truncate(f"incident `{ctx['incident']['id']}` v{ctx['incident']['version']}"
                                            f" · lane {ctx['incident']['lane']}", SECTION_CHARS)}]})
    return {"text": title, "blocks": blocks, "attachments": [{"color": ctx["colour"], "blocks": detail}]}


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    body = orjson.dumps(build(settings, delivery))
    response = await post_json(out.http, settings["url"], body, timeout=settings["timeout_s"])
    return Sent(response.status_code)
