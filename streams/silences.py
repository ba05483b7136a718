"""Silences and maintenance windows: which alerts are muted right now. Pure.

Matchers work like Alertmanager's: `name="value"`, `name!="value"`, `name=~"regex"`,
`name!~"regex"`; regexes are anchored; a label that is absent has the value "". Besides
labels, a matcher may name `source`, `severity` or `alertname` (the alert's name when it
has no such label). A silence is active between starts_at and ends_at and, when it has
weekly windows, only inside one of them (local time in the window's time zone).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alertstream.schemas.records import IncidentAlert, Silence, SilenceMatcher, WeeklyRecurrence

OPS = ("=", "!=", "=~", "!~")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*$')


class SilenceError(ValueError):
    """A silence that cannot be accepted; the message says which part and why."""


def parse_matcher(text: str) -> SilenceMatcher:
    found = _MATCHER.match(text)
    if not found:
        raise SilenceError(f"matcher {text!r} is not NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX")
    name, op, quoted, bare = found.groups()
    try:
        # latin-1 + backslashreplace, not UTF-8: unicode_escape reads bytes as latin-1, so "é" must stay one byte
        value = quoted.encode("latin-1", "backslashreplace").decode("unicode_escape") if quoted is not None else bare
    except UnicodeDecodeError as exc:
        raise SilenceError(f"matcher {text!r}: bad escape in the value ({exc.reason})") from None
    matcher = SilenceMatcher(name, op, value)
    _regex(matcher)  # fail now, not on the hot path
    return matcher


def _regex(matcher: SilenceMatcher) -> re.Pattern[str] | None:
    if matcher.op not in OPS:
        raise SilenceError(f"matcher on {matcher.name!r}: unknown operator {matcher.op!r} (use {', '.join(OPS)})")
    if matcher.op in ("=~", "!~"):
        try:
            return _compiled(matcher.value)
        except re.error as exc:
            raise SilenceError(f"matcher on {matcher.name!r}: bad regex {matcher.value!r}: {exc}") from None
    return None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matcher_matches(matcher: SilenceMatcher, value: str) -> bool:
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    hit = _compiled(matcher.value).fullmatch(value) is not None
    return hit if matcher.op == "=~" else not hit


def alert_fields(alert: IncidentAlert) -> dict[str, str]:
    return {"alertname": alert.name, **alert.labels, "source": alert.source, "severity": alert.severity}


def silence_matches(silence: Silence, fields: Mapping[str, str]) -> bool:
    return all(matcher_matches(m, fields.get(m.name, "")) for m in silence.matchers)


def _clock(text: str, what: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SilenceError(f"weekly window {what} {text!r} is not HH:MM") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SilenceError(f"unknown time zone {name!r}") from None


def in_window(window: WeeklyRecurrence, now: datetime) -> bool:
    """Inside this weekly window at `now`? A window whose end is not after its start runs past midnight."""
    local = now.astimezone(_zone(window.timezone))
    start, end = _clock(window.start, "start"), _clock(window.end, "end")
    for back in (0, 1):  # a window that started yesterday may still run
        day = local.date() - timedelta(days=back)
        if DAYS[day.weekday()] not in window.days:
            continue
        begins = datetime.combine(day, start, local.tzinfo)
        ends = datetime.combine(day + timedelta(days=1 if end <= start else 0), end, local.tzinfo)
        if begins <= local < ends:
            return True
    return False


def is_active(silence: Silence, now: datetime) -> bool:
    if now < silence.starts_at or (silence.ends_at is not None and now >= silence.ends_at):
        return False
    return not silence.weekly or any(in_window(w, now) for w in silence.weekly)


def validate(silence: Silence) -> Silence:
    """Raise SilenceError unless this silence is well formed; returns it for chaining."""
    if not silence.matchers:
        raise SilenceError("a silence needs at least one matcher")
    for matcher in silence.matchers:
        _regex(matcher)
    if all(matcher_matches(m, "") for m in silence.matchers):
        raise SilenceError("a silence needs a matcher that does not match an absent label (it would mute everything)")
    if not silence.author.strip():
        raise SilenceError("a silence needs an author")
    if silence.ends_at is None and not silence.weekly:
        raise SilenceError("a silence needs an end, or weekly windows")
    if silence.ends_at is not None and silence.ends_at < silence.starts_at:
        raise SilenceError("a silence must end after it starts")
    for window in silence.weekly:
        bad = [d for d in window.days if d not in DAYS]
        if not window.days or bad:
            raise SilenceError(f"weekly window days must be among {', '.join(DAYS)}; got {window.days}")
        _clock(window.start, "start"), _clock(window.end, "end"), _zone(window.timezone)
    return silence


def new_silence(
    *, matchers: list[SilenceMatcher], starts_at: datetime, ends_at: datetime | None, author: str, comment: str,
    weekly: list[WeeklyRecurrence], now: datetime,
) -> Silence:
    if ends_at is not None and (ends_at <= starts_at or ends_at <= now):
        raise SilenceError("a silence must end after it starts and in the future")
    return validate(Silence(
        silence_id=uuid.uuid4().hex, matchers=matchers, starts_at=starts_at, ends_at=ends_at, weekly=weekly,
        author=author, comment=comment, created_at=now, updated_at=now,
    ))


def expired(silence: Silence, now: datetime) -> Silence:
    """The silence as it is once expired now (an already ended one is returned unchanged)."""
    if silence.ends_at is not None and silence.ends_at <= now:
        return silence
    return Silence(
        silence_id=silence.silence_id, matchers=silence.matchers, starts_at=min(silence.starts_at, now),
        ends_at=now, weekly=silence.weekly, author=silence.author, comment=silence.comment,
        created_at=silence.created_at, updated_at=now,
    )


def state_of(silence: Silence, now: datetime) -> str:
    """active | pending | expired | waiting (between weekly windows)."""
    if silence.ends_at is not None and now >= silence.ends_at:
        return "expired"
    if now < silence.starts_at:
        return "pending"
    return "active" if is_active(silence, now) else "waiting"


@dataclass
class SilenceBook:
    """The silences one worker knows (fed from the compacted `silences` topic)."""

    silences: dict[str, Silence] = field(default_factory=dict)

    def put(self, silence: Silence) -> None:
        known = self.silences.get(silence.silence_id)
        if known is None or known.updated_at <= silence.updated_at:
            self.silences[silence.silence_id] = silence

    def forget(self, silence_id: str) -> None:
        self.silences.pop(silence_id, None)

    def muting(self, alerts: Iterable[IncidentAlert], now: datetime) -> list[str]:
        """The ids of active silences that together mute every one of these alerts ([] if any is not muted)."""
        active = [s for s in self.silences.values() if is_active(s, now)]
        if not active:
            return []
        used: set[str] = set()
        count = 0
        for alert in alerts:
            count += 1
            fields = alert_fields(alert)
            hits = [s.silence_id for s in active if silence_matches(s, fields)]
            if not hits:
                return []
            used.update(hits)
        return sorted(used) if count else []
