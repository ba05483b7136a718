"""What replay and tail decide, without I/O: time arguments, --match filters, where a
partition's read starts, and the JSON line a record becomes."""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from alertstream.schemas.records import to_avro

_RELATIVE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ReplayError(ValueError):
    """An operator mistake (bad time, unknown topic, bad filter): a message and a non-zero exit."""


def parse_time(text: str, now: datetime) -> datetime:
    """ISO 8601 (no zone means UTC), `now`, or a duration back from now: 90s, 15m, 2h, 7d, 1w."""
    raw = text.strip()
    if raw == "now":
        return now
    relative = _RELATIVE.match(raw)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ReplayError(
            f"bad time {text!r}: use ISO 8601 (2026-11-29T10:00:00Z), 'now', or a duration ago (15m, 2h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_range(since: str, until: str | None, now: datetime) -> tuple[datetime, datetime | None]:
    start = parse_time(since, now)
    end = parse_time(until, now) if until else None
    if end is not None and end <= start:
        raise ReplayError(f"--until ({end.isoformat()}) must be after --since ({start.isoformat()})")
    return start, end


def parse_matches(items: Sequence[str]) -> list[tuple[str, str]]:
    """`label=value` (glob patterns allowed in the value: `instance=db-*`)."""
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ReplayError(f"bad --match {item!r}: use label=value")
        pairs.append((name.strip(), value))
    return pairs


def _candidates(record: Any, name: str) -> list[str]:
    """Values `name` can match in a record: a top-level field, or a label of the alert(s) it carries."""
    found: list[str] = []
    if dataclasses.is_dataclass(record):
        value = getattr(record, name, None)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            found.append(str(value))
        labels = getattr(record, "labels", None)
        if isinstance(labels, dict) and name in labels:
            found.append(labels[name])
        for nested in ("incident", "analysis"):
            inner = getattr(record, nested, None)
            if inner is not None:
                found.extend(_candidates(inner, name))
        for alert in getattr(record, "alerts", None) or ():
            found.extend(_candidates(alert, name))
    return found


def record_matches(record: Any, pairs: Sequence[tuple[str, str]]) -> bool:
    """Every pair must match (AND); with no pairs, everything matches."""
    return all(
        any(fnmatch.fnmatchcase(candidate, pattern) for candidate in _candidates(record, name))
        for name, pattern in pairs
    )


def start_offset(low: int, high: int, for_time: int) -> int:
    """Where to start reading a partition, from what offsets-for-times answered (-1: nothing after).

    Only a hint: the caller reads from here and checks the record just before it."""
    if for_time < 0:
        return high
    return min(max(for_time, low), high)


def seek_was_wrong(probe_timestamp_ms: int, since_ms: int) -> bool:
    """The record just before the seek position is at or after --since: the broker's answer is wrong
    (Kafka promises every earlier offset is older), so read the partition from its start."""
    return probe_timestamp_ms >= since_ms


def in_range(timestamp_ms: int, since_ms: int | None, until_ms: int | None) -> bool:
    return (since_ms is None or timestamp_ms >= since_ms) and (until_ms is None or timestamp_ms < until_ms)


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()


def json_line(*, topic: str, partition: int, offset: int, timestamp_ms: int, key: bytes | None,
              record: Any = None, value: bytes | None = None, error: str | None = None) -> bytes:
    """One JSON line per record: where it was, when, its key, and the decoded record (or why not)."""
    doc: dict[str, Any] = {
        "topic": topic, "partition": partition, "offset": offset,
        "timestamp": datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "key": _text(key),
    }
    if record is not None:
        doc["schema"] = type(record).SCHEMA
        doc["record"] = to_avro(record)
    else:
        doc["error"] = error
        doc["value_base64"] = base64.b64encode(value or b"").decode()
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS) + b"\n"
