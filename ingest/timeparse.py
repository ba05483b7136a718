"""Timestamps as alert sources send them: ISO-8601, epoch seconds or epoch milliseconds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

# Alertmanager (Go) writes the zero time for "not ended yet".
_GO_ZERO_PREFIX = "0001-01-01"
# Beyond this an epoch number is taken as milliseconds (year 5138 in seconds).
_MILLIS_THRESHOLD = 100_000_000_000


class TimestampError(ValueError):
    pass


def parse_timestamp(value: object) -> datetime | None:
    """None, "" and Go's zero time mean "no timestamp". The result is always UTC-aware."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TimestampError("a boolean is not a timestamp")
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise TimestampError("timestamp must be a string or a number")
    text = value.strip()
    if text.startswith(_GO_ZERO_PREFIX):
        return None
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(_trim_fraction(text.replace("Z", "+00:00").replace("z", "+00:00")))
    except ValueError as exc:
        raise TimestampError(f"not an ISO-8601 or epoch timestamp: {text[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(number: float) -> datetime:
    if not math.isfinite(number) or number < 0:
        raise TimestampError("epoch timestamp must be a finite, non-negative number")
    if number >= _MILLIS_THRESHOLD:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise TimestampError("epoch timestamp out of range") from exc


def _trim_fraction(text: str) -> str:
    """Go and others write nanoseconds; Python takes at most microseconds."""
    dot = text.find(".")
    if dot < 0:
        return text
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    digits = text[dot + 1 : end][:6]
    return text[: dot + 1] + digits.ljust(6, "0") + text[end:] if digits else text[:dot] + text[end:]
