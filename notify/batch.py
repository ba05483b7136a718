"""Fitting a batch of alerts into a vendor's limits: show what fits, then say
"+N more". Pure functions; drivers pass their vendor's numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
ELLIPSIS = "…"


def split_alerts(alerts: Sequence[T], max_items: int | None) -> tuple[list[T], int]:
    """(the first max_items, how many are left out)."""
    if max_items is None or len(alerts) <= max_items:
        return list(alerts), 0
    return list(alerts[:max_items]), len(alerts) - max_items


def more_line(n: int, noun: str = "alerts") -> str:
    return f"+{n} more {noun}" if n else ""


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def fit_lines(lines: Sequence[str], limit: int, hidden: int = 0, sep: str = "\n") -> str:
    """Join as many whole lines as fit in `limit` characters, counting `hidden` lines
    already left out, and end with "+N more alerts" when any are missing."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1 + hidden
        candidate = sep.join([*kept, line] + ([more_line(rest)] if rest else []))
        if len(candidate) > limit:
            missing = len(lines) - len(kept) + hidden
            return truncate(sep.join([*kept, more_line(missing)]), limit)
        kept.append(line)
    return truncate(sep.join(kept + ([more_line(hidden)] if hidden else [])), limit)


def largest_fitting(build: Callable[[int], bytes], total: int, max_bytes: int) -> tuple[bytes, int]:
    """The body with the most alerts (out of `total`) whose size is within max_bytes:
    bisects on how many alerts to show. Returns (body, alerts shown)."""
    body = build(total)
    if len(body) <= max_bytes:
        return body, total
    low, high, best = 0, total - 1, build(0)
    shown = 0
    while low <= high:
        mid = (low + high) // 2
        candidate = build(mid)
        if len(candidate) <= max_bytes:
            best, shown, low = candidate, mid, mid + 1
        else:
            high = mid - 1
    return best, shown
