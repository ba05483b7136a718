"""What one check reports, and the grading helpers every checker shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Status: TypeAlias = Literal["ok", "warning", "critical", "unknown"]
Metric: TypeAlias = float | int | str | bool

# How bad a status is when several readings of one check are combined. unknown sits between
# ok and warning: it is worth seeing, but a definite warning says more.
_RANK: dict[str, int] = {"ok": 0, "unknown": 1, "warning": 2, "critical": 3}
MAX_MESSAGE = 500


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    message: str
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    # Tell apart the items of one check (a mount, a device, a target); with the host they make
    # the alert's identity at the edge, so keep them stable and free of readings.
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "check": self.check,
            "status": self.status,
            "message": self.message[:MAX_MESSAGE],
            "metrics": {key: _plain(value) for key, value in self.metrics.items()},
        }
        if self.labels:
            doc["labels"] = dict(self.labels)
        return doc


def unknown(check: str, problem: str, labels: Mapping[str, str] | None = None) -> CheckResult:
    return CheckResult(check, "unknown", problem[:MAX_MESSAGE], {}, dict(labels or {}))


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="ok")


def grade(value: float, level: Mapping[str, Any], *, higher_is_worse: bool = True) -> Status:
    """ok, warning or critical for a reading against {"warning": x, "critical": y}; a null
    level is off. Exactly at a threshold counts as past it."""
    critical, warning = level.get("critical"), level.get("warning")
    if higher_is_worse:
        if critical is not None and value >= critical:
            return "critical"
        if warning is not None and value >= warning:
            return "warning"
        return "ok"
    if critical is not None and value <= critical:
        return "critical"
    if warning is not None and value <= warning:
        return "warning"
    return "ok"


def pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole > 0 else 0.0


def _plain(value: Metric) -> Metric:
    return round(value, 3) if isinstance(value, float) else value
