"""Generic webhook channel: HTTP POST of the JSON notification document.

settings: url (required), headers (optional mapping), timeout_s (optional).
The delivery key goes in `webhook-id` so a receiver can drop a resend of a
delivery it already has (the key is stable across retries and replays).
"""

from __future__ import annotations

import httpx
import orjson

from alertstream.errors import Permanent

from .base import ChannelConfig, Delivery, Sent
from .http import post_json
from .message import notification_document

TYPE = "webhook"


async def send(channel: ChannelConfig, delivery: Delivery, http: httpx.AsyncClient) -> Sent:
    url = channel.settings.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Permanent("invalid_config", "webhook channel needs an http(s) url")
    body = orjson.dumps(notification_document(delivery.analysis, delivery.key))
    headers = {"webhook-id": delivery.key, **dict(channel.settings.get("headers") or {})}
    response = await post_json(http, url, body, headers=headers, timeout=float(channel.settings.get("timeout_s", 10)))
    return Sent(response.status_code)
