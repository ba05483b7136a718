"""Stable identities for alerts whose vendor gives none."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

DEDUP_KEY_MAX = 255


def fingerprint_of(source: str, name: str, labels: Mapping[str, str]) -> str:
    """SHA-256 over source, name and sorted labels, truncated to 16 bytes (hex)."""
    digest = hashlib.sha256()
    for part in (source, name, *(f"{k}={labels[k]}" for k in sorted(labels))):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def clamp_dedup_key(key: str) -> str:
    """Vendors cap dedup keys at 255 characters (PagerDuty Events v2); hash the tail of longer ones."""
    if len(key) <= DEDUP_KEY_MAX:
        return key
    tail = hashlib.sha256(key.encode()).hexdigest()[:32]
    return key[: DEDUP_KEY_MAX - 33] + ":" + tail
