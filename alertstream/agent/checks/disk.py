"""Disk usage per mounted filesystem, as df counts it: used / (used + available to users)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..host import FsStats, Host
from ..result import CheckResult, Metric, grade, unknown, worst
from .mounts import FILTER_DEFAULTS, Mount, read_usage

NAME = "disk"
DEFAULTS: dict[str, Any] = {
    "used_pct": {"warning": 85, "critical": 95},
    "free_bytes": {"warning": None, "critical": None},  # lower is worse, e.g. 5e9 for 5 GB
    **FILTER_DEFAULTS,
}


def evaluate(usage: Sequence[tuple[Mount, FsStats | str]], options: Mapping[str, Any]) -> list[CheckResult]:
    results = []
    for mount, stats in usage:
        labels = {"mount": mount.mountpoint}
        if isinstance(stats, str):
            results.append(unknown(NAME, stats, labels))
            continue
        if stats.total_bytes <= 0:
            continue  # nothing to fill (an empty pseudo filesystem that slipped through)
        used = stats.total_bytes - stats.free_bytes
        usable = used + stats.avail_bytes
        used_pct = round(100.0 * used / usable, 2) if usable > 0 else 100.0
        status = worst((
            grade(used_pct, options["used_pct"]),
            grade(stats.avail_bytes, options["free_bytes"], higher_is_worse=False),
        ))
        message = f"{mount.mountpoint} is {used_pct:.1f}% full ({stats.avail_bytes / 2**30:.1f} GiB free)"
        metrics: dict[str, Metric] = {
            "used_pct": used_pct,
            "free_bytes": stats.avail_bytes,
            "total_bytes": stats.total_bytes,
            "device": mount.device,
            "fstype": mount.fstype,
        }
        results.append(CheckResult(NAME, status, message, metrics, labels))
    return results


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read_usage(host, options), options)
