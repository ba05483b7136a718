"""Webhook signature checks over the raw request body, one function per vendor scheme.

Each check is pure: header values, the body bytes exactly as received, the active
secrets and `now` (Unix seconds) in; None when the request verifies, else a
Rejection saying why. The body is never parsed or decoded. Nothing a client sends
makes a check raise, and no secret or received signature appears in what it returns.

Any active secret may match (rotation), and where a vendor sends several
signatures any one of them may match. All are HMAC-SHA256 compared with
hmac.compare_digest over the decoded digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeAlias

from alertstream.secrets import Secret

DEFAULT_TOLERANCE_S = 300

Secrets: TypeAlias = Sequence[Secret[bytes]]  # every active secret; any one may match

# Unix seconds; 12 digits reach the year 33658, so int() stays small.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# Standard Webhooks ids are opaque strings (msg_…, UUIDs); printable ASCII without spaces keeps
# the signed content and the replay key unambiguous.
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,256}")
_WHSEC_PREFIX = "whsec_"


class Rejection(StrEnum):
    """Why a signed request is refused. The value is the reason the client and metrics see."""

    BAD_SIGNATURE = "bad_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    MALFORMED_ID = "malformed_id"


def check_timestamp(timestamp: str, now: float, tolerance_s: int) -> Rejection | None:
    """Unix seconds within tolerance_s of now, either way: exactly at the limit passes."""
    if not _TIMESTAMP.fullmatch(timestamp.strip()):
        return Rejection.MALFORMED_TIMESTAMP
    if abs(now - int(timestamp)) > tolerance_s:
        return Rejection.STALE_TIMESTAMP
    return None


def verify_grafana(
    body: bytes,
    signature: str,
    secrets: Secrets,
    *,
    timestamp: str | None,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> Rejection | None:
    """Grafana webhook contact point, hmac_config: hex HMAC of the body, or of "<timestamp>:<body>"
    when a timestamp header is configured.
    https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
    """
    received = _hex_digest(signature)
    if received is None:
        return Rejection.MALFORMED_SIGNATURE
    parts: tuple[bytes, ...] = (body,)
    if timestamp is not None:
        problem = check_timestamp(timestamp, now, tolerance_s)
        if problem is not None:
            return problem
        # The timestamp is signed exactly as sent, so use the header's own characters.
        parts = (timestamp.strip().encode("ascii") + b":", body)
    return _verdict([received], _macs(secrets, *parts))


def verify_pagerduty(body: bytes, signature_header: str, secrets: Secrets) -> Rejection | None:
    """PagerDuty webhooks V3: "v1=<hex>[,v1=<hex>…]", one entry per signing secret PagerDuty holds.
    Entries of other versions are ignored; an unreadable v1 entry simply matches nothing.
    https://developer.pagerduty.com/docs/webhooks/webhook-signatures/
    """
    received = _digests(
        _hex_digest(value) for version, value in _pairs(signature_header.split(","), "=") if version == "v1"
    )
    if not received:
        return Rejection.MALFORMED_SIGNATURE
    return _verdict(received, _macs(secrets, body))


def verify_github(body: bytes, signature: str, secrets: Secrets) -> Rejection | None:
    """GitHub-style "X-Hub-Signature-256: sha256=<hex>" over the body.
    https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    """
    algorithm, sep, value = signature.strip().partition("=")
    received = _hex_digest(value) if sep and algorithm == "sha256" else None
    if received is None:
        return Rejection.MALFORMED_SIGNATURE
    return _verdict([received], _macs(secrets, body))


def verify_standard_webhook(
    body: bytes,
    *,
    webhook_id: str,
    timestamp: str,
    signature_header: str,
    secrets: Secrets,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> Rejection | None:
    """Standard Webhooks v1: space-separated "v1,<base64>" entries, each an HMAC of
    "<webhook-id>.<webhook-timestamp>.<body>". Other versions (v1a: asymmetric) are ignored.
    Replays are the caller's to refuse: this check is pure and remembers nothing.
    https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    """
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        return Rejection.MALFORMED_ID
    received = _digests(
        _base64_digest(value) for version, value in _pairs(signature_header.split(), ",") if version == "v1"
    )
    if not received:
        return Rejection.MALFORMED_SIGNATURE
    problem = check_timestamp(timestamp, now, tolerance_s)
    if problem is not None:
        return problem
    prefix = f"{webhook_id}.{timestamp.strip()}.".encode("ascii")
    return _verdict(received, _macs(secrets, prefix, body))


def standard_webhooks_secret(text: str) -> Secret[bytes]:
    """A "whsec_<base64>" signing secret as its key bytes. The message never repeats the secret."""
    if not text.startswith(_WHSEC_PREFIX):
        raise ValueError("a Standard Webhooks secret must start with 'whsec_'")
    try:
        key = base64.b64decode(text[len(_WHSEC_PREFIX) :], validate=True)
    except ValueError:
        raise ValueError("a Standard Webhooks secret must be 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("a Standard Webhooks secret must not be empty")
    return Secret(key)


def _macs(secrets: Secrets, *parts: bytes) -> list[bytes]:
    """One digest per active secret, fed in parts so a large body is never copied."""
    digests = []
    for secret in secrets:
        mac = hmac.new(secret.reveal(), digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        digests.append(mac.digest())
    return digests


def _verdict(received: Sequence[bytes], expected: Sequence[bytes]) -> Rejection | None:
    matched = False
    for candidate in received:  # no early exit: every pair is compared
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    return None if matched else Rejection.BAD_SIGNATURE


def _pairs(entries: Iterable[str], separator: str) -> Iterable[tuple[str, str]]:
    for entry in entries:
        version, sep, value = entry.strip().partition(separator)
        if sep:
            yield version, value


def _digests(candidates: Iterable[bytes | None]) -> list[bytes]:
    return [candidate for candidate in candidates if candidate is not None]


def _hex_digest(text: str) -> bytes | None:
    text = text.strip()
    return bytes.fromhex(text) if _HEX_SHA256.fullmatch(text) else None


def _base64_digest(text: str) -> bytes | None:
    try:
        digest = base64.b64decode(text.strip(), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        return None
    return digest if len(digest) == hashlib.sha256().digest_size else None
