"""Routing lanes: which stages and channels an incident event goes through, and how its
notifications are grouped. Lanes are data (a JSON or YAML file), validated at load with
errors that name the lane and the field; `decide_lane` is pure.

    lanes:
      - name: pager
        priority: 10                      # lower wins
        match:                            # all must hold; none = matches everything
          - {field: severity, op: in, value: [critical, error]}
          - {field: "label:team", op: is, value: db}
        stages: [analyze, notify]
        channels: [pagerduty-db]
        group_wait: 30s
        group_interval: 5m
        repeat_interval: 4h
        analysis_deadline: 1500ms         # how long a page waits for analysis (default: the worker's)

Fields: source, severity, status (the incident's), label:<key> (the opening alert's labels).
Ops: is, is-not, in, not-in, matches (an anchored regex). The built-in lanes `all-clear`
(resolutions: notify only) and `catch-all` (analyze + notify) are added unless the file
defines lanes of those names; both send to every channel.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from alertstream.schemas.records import Lane

from .grouping import GroupTiming

log = logging.getLogger(__name__)

ALL_CLEAR = "all-clear"
CATCH_ALL = "catch-all"
# "analyze-follow-up": when analysis misses the deadline, the page goes out without it and the late
# analysis is sent as an update (streams/analyze.py FOLLOW_UP_STAGE).
STAGES = ("analyze", "analyze-follow-up", "notify")
DEFAULT_STAGES = ("analyze", "notify")  # a follow-up is opt-in per lane
OPS = ("is", "is-not", "in", "not-in", "matches")
_PLAIN_FIELDS = ("source", "severity", "status")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class LaneError(ValueError):
    """A lane definition that cannot be used; the message names the lane and the field."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str | tuple[str, ...]
    pattern: re.Pattern[str] | None = None

    def holds(self, facts: Mapping[str, str]) -> bool:
        actual = facts.get(self.field, "")
        if self.op == "is":
            return actual == self.value
        if self.op == "is-not":
            return actual != self.value
        if self.op == "in":
            return actual in self.value
        if self.op == "not-in":
            return actual not in self.value
        assert self.pattern is not None
        return self.pattern.fullmatch(actual) is not None


@dataclass(frozen=True)
class LaneRule:
    name: str
    priority: int
    stages: tuple[str, ...]
    channels: tuple[str, ...] = ()
    match: tuple[Condition, ...] = ()
    timing: GroupTiming = field(default_factory=GroupTiming)
    analysis_deadline: timedelta | None = None  # None: the worker's ALERTSTREAM_ANALYSIS_DEADLINE_S

    def matches(self, facts: Mapping[str, str]) -> bool:
        return all(c.holds(facts) for c in self.match)

    def record(self, stages: Collection[str] | None = None) -> Lane:
        chosen = self.stages if stages is None else [s for s in self.stages if s in stages]
        deadline = self.analysis_deadline.total_seconds() if self.analysis_deadline is not None else None
        return Lane(self.name, list(chosen), list(self.channels), deadline)


def facts_of(status: str, severity: str, source: str, labels: Mapping[str, str]) -> dict[str, str]:
    facts = {f"label:{k}": v for k, v in labels.items()}
    facts.update(status=status, severity=severity, source=source)
    return facts


def decide_lane(facts: Mapping[str, str], lanes: tuple[LaneRule, ...]) -> LaneRule:
    """The matching lane with the lowest priority (lanes are kept sorted); the catch-all otherwise."""
    for lane in lanes:
        if lane.matches(facts):
            return lane
    return next((lane for lane in lanes if lane.name == CATCH_ALL), default_lanes(())[-1])


def default_lanes(channels: Collection[str]) -> tuple[LaneRule, ...]:
    every = tuple(sorted(channels))
    return (
        LaneRule(ALL_CLEAR, 9998, ("notify",), every,
                 (Condition("status", "in", ("resolved", "closed")),)),
        LaneRule(CATCH_ALL, 9999, ("analyze", "notify"), every),
    )


def parse_duration(raw: Any, where: str) -> timedelta:
    if isinstance(raw, bool):
        raise LaneError(f"{where}: a duration like 30s, 5m, 4h, 1d or a number of seconds, not {raw!r}")
    if isinstance(raw, int | float):
        seconds = float(raw)
    else:
        found = _DURATION.match(str(raw))
        if not found:
            raise LaneError(f"{where}: a duration like 30s, 5m, 4h, 1d or a number of seconds, not {raw!r}")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds < 0:
        raise LaneError(f"{where}: must not be negative")
    return timedelta(seconds=seconds)


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, Mapping) or set(raw) - {"field", "op", "value"} or not {"field", "op"} <= set(raw):
        raise LaneError(f"{where}: a condition is {{field, op, value}}, got {raw!r}")
    name, op, value = raw["field"], raw["op"], raw.get("value")
    if not isinstance(name, str) or not (name in _PLAIN_FIELDS or (name.startswith("label:") and len(name) > 6)):
        raise LaneError(f"{where}: field must be one of {', '.join(_PLAIN_FIELDS)} or label:<key>, not {name!r}")
    if op not in OPS:
        raise LaneError(f"{where}: op must be one of {', '.join(OPS)}, not {op!r}")
    if op in ("in", "not-in"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise LaneError(f"{where}: op {op!r} needs a non-empty list of strings as value")
        return Condition(name, op, tuple(value))
    if not isinstance(value, str):
        raise LaneError(f"{where}: op {op!r} needs a string value")
    if op == "matches":
        try:
            return Condition(name, op, value, re.compile(value))
        except re.error as exc:
            raise LaneError(f"{where}: bad regex {value!r}: {exc}") from None
    return Condition(name, op, value)


_LANE_KEYS = {
    "name", "priority", "match", "stages", "channels", "group_wait", "group_interval", "repeat_interval",
    "analysis_deadline",
}
MAX_ANALYSIS_DEADLINE = timedelta(minutes=10)  # past this a page waits longer than anyone would


def _lane(raw: Any, index: int, known_channels: Collection[str] | None) -> LaneRule:
    if not isinstance(raw, Mapping):
        raise LaneError(f"lanes[{index}]: a lane is a mapping, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LaneError(f"lanes[{index}]: a lane needs a name")
    where = f"lane {name!r}"
    unknown = set(raw) - _LANE_KEYS
    if unknown:
        raise LaneError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    priority = raw.get("priority", 100)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise LaneError(f"{where}: priority must be an integer")
    stages = raw.get("stages", list(DEFAULT_STAGES))
    if not isinstance(stages, list) or any(s not in STAGES for s in stages) or len(set(stages)) != len(stages):
        raise LaneError(f"{where}: stages must be a list drawn from {', '.join(STAGES)}, got {stages!r}")
    channels = raw.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise LaneError(f"{where}: channels must be a list of channel names")
    if "notify" in stages and not channels:
        raise LaneError(f"{where}: a lane that notifies needs at least one channel")
    if known_channels is not None:
        missing = [c for c in channels if c not in known_channels]
        if missing:
            known = ", ".join(sorted(known_channels)) or "none"
            raise LaneError(f"{where}: unknown channel(s) {', '.join(missing)} (known: {known})")
    match = raw.get("match", [])
    if not isinstance(match, list):
        raise LaneError(f"{where}: match must be a list of conditions")
    timing = GroupTiming(*(parse_duration(raw.get(k, 0), f"{where}: {k}")
                           for k in ("group_wait", "group_interval", "repeat_interval")))
    conditions = tuple(_condition(c, f"{where}: match[{i}]") for i, c in enumerate(match))
    deadline = None
    if raw.get("analysis_deadline") is not None:
        deadline = parse_duration(raw["analysis_deadline"], f"{where}: analysis_deadline")
        if deadline > MAX_ANALYSIS_DEADLINE:
            raise LaneError(f"{where}: analysis_deadline must be at most {MAX_ANALYSIS_DEADLINE.total_seconds():g}s")
    return LaneRule(name, priority, tuple(stages), tuple(channels), conditions, timing, deadline)


def parse_lanes(document: Any, known_channels: Collection[str] | None = None) -> tuple[LaneRule, ...]:
    """Validate a lanes document; the result is sorted by priority, built-in lanes included."""
    raw = document.get("lanes") if isinstance(document, Mapping) else None
    if not isinstance(raw, list):
        raise LaneError("a lanes file is a mapping with a `lanes` list")
    lanes = [_lane(item, i, known_channels) for i, item in enumerate(raw)]
    names = [lane.name for lane in lanes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LaneError(f"duplicate lane name(s): {', '.join(dupes)}")
    lanes += [d for d in default_lanes(known_channels or ()) if d.name not in names]
    return tuple(sorted(lanes, key=lambda lane: (lane.priority, lane.name)))


def read_lanes(path: Path, known_channels: Collection[str] | None = None) -> tuple[LaneRule, ...]:
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml  # PyYAML comes with uvicorn[standard]

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LaneError(f"{path}: not valid YAML: {exc}") from None
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LaneError(f"{path}: not valid JSON: {exc}") from None
    try:
        return parse_lanes(document, known_channels)
    except LaneError as exc:
        raise LaneError(f"{path}: {exc}") from None


class LaneBook:
    """The lanes a worker routes by. `refresh()` reloads the file when it changed, and rebuilds the
    lanes when the set of channels changed; a file that no longer validates is refused (logged, kept
    in `error`) and the last good lanes stay."""

    def __init__(self, path: Path | None, channels: Callable[[], Collection[str]]) -> None:
        self.path = path
        self.channels = channels
        self.error = ""
        self.known_channels = set(channels())
        self._stamp: tuple[int, int] | None = _stamp(path) if path else None
        self.lanes = read_lanes(path, self.known_channels) if path else default_lanes(self.known_channels)

    def refresh(self) -> bool:
        """Reload if the file or the channels changed; True when new lanes took effect."""
        known = set(self.channels())
        try:
            stamp = _stamp(self.path) if self.path else None
            if stamp == self._stamp and known == self.known_channels:
                return False
            self._stamp = stamp
            self.lanes = read_lanes(self.path, known) if self.path else default_lanes(known)
            self.known_channels = known
        except (OSError, LaneError) as exc:
            if str(exc) != self.error:
                log.error("lanes not reloaded, keeping the previous ones: %s", exc)
            self.error = str(exc)
            return False
        self.error = ""
        log.info("lanes now: %s", ", ".join(lane.name for lane in self.lanes))
        return True

    def by_name(self, name: str) -> LaneRule | None:
        return next((lane for lane in self.lanes if lane.name == name), None)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size
