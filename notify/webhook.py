"""Generic webhook: HTTP POST signed with Standard Webhooks.

settings: url (a credential: it may carry a token), secret (optional
`whsec_<base64>`; without it nothing is signed), headers (custom, optional),
timeout_s, max_bytes, content_type, templates {body} (empty: the JSON document).

Standard Webhooks headers: `webhook-id` is the delivery key, the same on every
retry and replay of one delivery, so a receiver drops a resend it already has
(this closes the crash window for receivers that honour it); `webhook-timestamp`
is the send time in Unix seconds (fresh on every attempt, as the spec asks);
`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
A 410 Gone is permanent, like every other 4xx but 408/429.
A follow-up is a new POST with its own webhook-id (`…:update`); the document says
`"update": true` and names the delivery it updates in `update_of`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import orjson

from . import fields
from .base import ChannelConfig, Delivery, Outbound, Sent
from .batch import largest_fitting
from .http import post_json
from .message import message_context, notification_document
from .templates import render, validate_overrides

TYPE = "webhook"
SECRET_FIELDS = frozenset({"url", "secret", "headers"})
FOLLOW_UPS = True
DEFAULT_TEMPLATES = {"body": ""}  # empty: the JSON notification document
MAX_BYTES = 1024 * 1024
RESERVED = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length",
                      "host"})


def signing_key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise fields.invalid("secret must be whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise fields.invalid("secret must decode to 24..64 bytes")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    secret = fields.optional_text(settings, "secret", max_len=200)
    if secret:
        signing_key(secret)
    return {
        "url": fields.url(settings, "url"),
        "secret": secret,
        "headers": fields.headers(settings, RESERVED),
        "timeout_s": fields.timeout(settings),
        "max_bytes": fields.positive_int(settings, "max_bytes", MAX_BYTES, 16 * MAX_BYTES),
        "content_type": fields.optional_text(settings, "content_type", "application/json", max_len=100),
        "templates": validate_overrides(settings.get("templates"), DEFAULT_TEMPLATES),
    }


def build_body(settings: Mapping[str, Any], delivery: Delivery) -> bytes:
    if (settings.get("templates") or {}).get("body"):
        ctx = message_context(delivery.analysis, delivery.key)
        return render("body", DEFAULT_TEMPLATES, settings, ctx).encode()[: settings["max_bytes"]]
    total = len(delivery.analysis.incident.alerts)
    body, _ = largest_fitting(
        lambda n: orjson.dumps(notification_document(delivery.analysis, delivery.key, n)), total, settings["max_bytes"]
    )
    return body


def build_headers(settings: Mapping[str, Any], delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
    timestamp = int(now)
    headers = {**settings["headers"], "webhook-id": delivery.key, "webhook-timestamp": str(timestamp)}
    if settings["secret"]:
        headers["webhook-signature"] = sign(signing_key(settings["secret"]), delivery.key, timestamp, body)
    return headers


async def send(channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent:
    settings = validate(channel.settings)
    body = build_body(settings, delivery)
    response = await post_json(
        out.http, settings["url"], body, headers=build_headers(settings, delivery, body, time.time()),
        timeout=settings["timeout_s"], content_type=settings["content_type"],
    )
    return Sent(response.status_code)
