"""Vendor status words -> firing | acknowledged | resolved. An acknowledgement is never a resolution."""

from __future__ import annotations

STATUS_TABLE: dict[str, str] = {
    "firing": "firing", "alerting": "firing", "triggered": "firing", "trigger": "firing", "open": "firing",
    "problem": "firing", "active": "firing", "critical": "firing", "warning": "firing", "nodata": "firing",
    "no_data": "firing", "error": "firing", "activated": "firing", "create": "firing", "created": "firing",
    "acknowledged": "acknowledged", "acknowledge": "acknowledged", "ack": "acknowledged",
    "acked": "acknowledged",
    "resolved": "resolved", "resolve": "resolved", "ok": "resolved", "closed": "resolved",
    "close": "resolved", "recovered": "resolved", "recovery": "resolved", "normal": "resolved",
    "inactive": "resolved",
}


def map_status(word: object) -> str | None:
    """None when the word is not a known status; each driver decides what that means."""
    if not isinstance(word, str):
        return None
    return STATUS_TABLE.get(word.strip().lower())
