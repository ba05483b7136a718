"""Mounted filesystems worth watching, shared by the disk and inodes checkers."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..host import FsStats, Host

# Kernel and virtual filesystems, read-only images and RAM-backed mounts: their fill level is
# not a disk running out (or cannot change).
IGNORE_FSTYPES = [
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "efivarfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fusectl", "hugetlbfs", "iso9660",
    "mqueue", "nsfs", "overlay", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs",
    "squashfs", "sysfs", "tmpfs", "tracefs",
]
IGNORE_MOUNTS = ["/snap/*", "/var/lib/docker/*", "/var/lib/containers/*", "/run/*", "/proc/*", "/sys/*"]

FILTER_DEFAULTS: dict[str, Any] = {
    "mounts": [],  # when set, only these mount points (glob patterns)
    "ignore_mounts": IGNORE_MOUNTS,
    "ignore_fstypes": IGNORE_FSTYPES,
}


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str


def parse_mounts(text: str) -> list[Mount]:
    """/proc/self/mounts (fstab format; spaces in names are octal escapes such as \\040)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append(Mount(_unescape(fields[0]), _unescape(fields[1]), fields[2]))
    return mounts


def select(mounts: list[Mount], options: Mapping[str, Any]) -> list[Mount]:
    """The mounts to check, each filesystem once: a later mount over the same point hides the
    earlier one, and bind mounts of one device count once (the first, usually the shortest path)."""
    only = [str(p) for p in options.get("mounts", [])]
    ignored_points = [str(p) for p in options.get("ignore_mounts", [])]
    ignored_types = {str(t) for t in options.get("ignore_fstypes", [])}
    by_point: dict[str, Mount] = {}
    for mount in mounts:
        by_point.pop(mount.mountpoint, None)
        by_point[mount.mountpoint] = mount
    chosen: list[Mount] = []
    devices: set[str] = set()
    for mount in by_point.values():
        if only:
            if not _matches(mount.mountpoint, only):
                continue
        elif mount.fstype in ignored_types or _matches(mount.mountpoint, ignored_points):
            continue
        if mount.device.startswith("/") and mount.device in devices:
            continue
        devices.add(mount.device)
        chosen.append(mount)
    return chosen


def read_usage(host: Host, options: Mapping[str, Any]) -> list[tuple[Mount, FsStats | str]]:
    """statvfs of every selected mount; a mount that cannot be read carries the error instead."""
    mounts = select(parse_mounts(host.read(host.proc / "self" / "mounts")), options)
    usage: list[tuple[Mount, FsStats | str]] = []
    for mount in mounts:
        try:
            usage.append((mount, host.statvfs(mount.mountpoint)))
        except OSError as exc:
            usage.append((mount, f"cannot stat {mount.mountpoint}: {exc.strerror or exc}"))
    return usage


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
