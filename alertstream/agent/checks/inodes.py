"""Inode usage per mounted filesystem: a disk can be "full" with free space left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..host import FsStats, Host
from ..result import CheckResult, Metric, grade, pct, unknown
from .mounts import FILTER_DEFAULTS, Mount, read_usage

NAME = "inodes"
DEFAULTS: dict[str, Any] = {
    "used_pct": {"warning": 85, "critical": 95},
    **FILTER_DEFAULTS,
}


def evaluate(usage: Sequence[tuple[Mount, FsStats | str]], options: Mapping[str, Any]) -> list[CheckResult]:
    results = []
    for mount, stats in usage:
        labels = {"mount": mount.mountpoint}
        if isinstance(stats, str):
            results.append(unknown(NAME, stats, labels))
            continue
        if stats.inodes <= 0:
            continue  # btrfs, ZFS and others allocate inodes on demand and report none
        used = stats.inodes - stats.inodes_free
        used_pct = pct(used, stats.inodes)
        status = grade(used_pct, options["used_pct"])
        message = f"{mount.mountpoint} has {used_pct:.1f}% of its inodes in use ({stats.inodes_free} free)"
        metrics: dict[str, Metric] = {
            "used_pct": used_pct, "free": stats.inodes_free, "total": stats.inodes, "device": mount.device,
        }
        results.append(CheckResult(NAME, status, message, metrics, labels))
    return results


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read_usage(host, options), options)
