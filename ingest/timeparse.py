"""Timestamps as alert sources send them: ISO-8601, or epoch seconds, milliseconds,
microseconds or nanoseconds (Opsgenie's updatedAt is in nanoseconds)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

# Alertmanager (Go) writes the zero time for "not ended yet".
_GO_ZERO_PREFIX = "0001-01-01"
# An epoch number is read in the smallest unit that keeps it below year 5138 in seconds
# (10**11 s): seconds, then milliseconds, microseconds, nanoseconds.
_EPOCH_UNITS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))


class TimestampError(ValueError):
    pass


def parse_timestamp(value: object) -> datetime | None:
    """None, "" and Go's zero time mean "no timestamp". The result is always UTC-aware."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TimestampError("a boolean is not a timestamp")
    if isinstance(value, (int, float)):
        try:
            return _from_epoch(float(value))
        except OverflowError as exc:  # an int too large for a float
            raise TimestampError("epoch timestamp out of range") from exc
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
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-05:00 is past year 9999 in UTC
        raise TimestampError(f"timestamp out of range: {text[:40]!r}") from exc


def _from_epoch(number: float) -> datetime:
    if not math.isfinite(number) or number < 0:
        raise TimestampError("epoch timestamp must be a finite, non-negative number")
    for threshold, per_second in _EPOCH_UNITS:
        if number >= threshold:
            number /= per_second
            break
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
