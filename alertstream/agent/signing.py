"""Standard Webhooks signatures on what the agent sends, the scheme the edge verifies
(ingest/auth/signatures.py, verify_standard_webhook):

    webhook-id         a fresh id per message ("msg_" + 32 hex); a retry of the message keeps it
    webhook-timestamp  Unix seconds when this attempt was signed
    webhook-signature  "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))

The key is the base64 part of the "whsec_…" secret.
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from alertstream.ingest.auth.signatures import standard_webhooks_secret
from alertstream.secrets import Secret

__all__ = ["new_message_id", "parse_secret", "sign", "signature_headers"]

parse_secret = standard_webhooks_secret  # "whsec_<base64>" -> Secret[bytes]; ValueError otherwise


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def sign(body: bytes, key: Secret[bytes], *, message_id: str, timestamp: int) -> str:
    mac = hmac.new(key.reveal(), f"{message_id}.{timestamp}.".encode("ascii"), hashlib.sha256)
    mac.update(body)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def signature_headers(body: bytes, key: Secret[bytes], *, message_id: str, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(body, key, message_id=message_id, timestamp=timestamp),
    }
