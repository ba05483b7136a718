"""Disk I/O strain per block device over a short sample of /proc/diskstats: how busy the
device was (util) and how long each request waited (await), as iostat -x computes them."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, grade, worst

NAME = "disk_io"
DEFAULTS: dict[str, Any] = {
    "sample_s": 1.0,
    "util_pct": {"warning": 95, "critical": None},
    "await_ms": {"warning": 100, "critical": 500},
    "devices": [],  # when set, only these devices (glob patterns)
    "ignore_devices": ["loop*", "ram*", "zram*", "sr*", "fd*", "nbd*"],
}


@dataclass(frozen=True)
class DiskCounters:
    reads: int
    read_ms: int
    sectors_read: int
    writes: int
    write_ms: int
    sectors_written: int
    io_ms: int  # time the device had I/O in flight


@dataclass(frozen=True)
class DiskIoReading:
    before: Mapping[str, DiskCounters]
    after: Mapping[str, DiskCounters]
    elapsed_s: float


def parse_diskstats(text: str) -> dict[str, DiskCounters]:
    """Documentation/admin-guide/iostats.rst: major minor name, then reads completed, merged,
    sectors, ms reading, writes completed, merged, sectors, ms writing, in flight, ms doing I/O …"""
    counters = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 14:
            continue
        v = [int(x) for x in fields[3:14]]
        counters[fields[2]] = DiskCounters(v[0], v[3], v[2], v[4], v[7], v[6], v[9])
    return counters


def evaluate(reading: DiskIoReading, options: Mapping[str, Any]) -> list[CheckResult]:
    elapsed_ms = reading.elapsed_s * 1000.0
    if elapsed_ms <= 0:
        raise ValueError("the disk I/O sample has no duration")
    results = []
    for device, after in sorted(reading.after.items()):
        before = reading.before.get(device)
        if before is None:
            continue  # appeared during the sample
        ios = (after.reads - before.reads) + (after.writes - before.writes)
        waited = (after.read_ms - before.read_ms) + (after.write_ms - before.write_ms)
        util = round(min(100.0, 100.0 * (after.io_ms - before.io_ms) / elapsed_ms), 2)
        await_ms = round(waited / ios, 2) if ios > 0 else 0.0
        status = worst((grade(util, options["util_pct"]), grade(await_ms, options["await_ms"])))
        message = f"{device} {util:.0f}% busy, {await_ms:.1f} ms per request, {ios / reading.elapsed_s:.0f} IO/s"
        metrics = {
            "util_pct": util,
            "await_ms": await_ms,
            "iops": round(ios / reading.elapsed_s, 2),
            "read_bytes_per_s": round((after.sectors_read - before.sectors_read) * 512 / reading.elapsed_s),
            "write_bytes_per_s": round((after.sectors_written - before.sectors_written) * 512 / reading.elapsed_s),
        }
        results.append(CheckResult(NAME, status, message, metrics, {"device": device}))
    return results


def wanted(devices: list[str], whole_disks: set[str] | None, options: Mapping[str, Any]) -> list[str]:
    """Whole disks only (partitions would count the same I/O twice), filtered by the options."""
    only = [str(p) for p in options["devices"]]
    ignored = [str(p) for p in options["ignore_devices"]]
    chosen = []
    for device in devices:
        if whole_disks is not None and device not in whole_disks:
            continue
        if only and not any(fnmatch.fnmatchcase(device, p) for p in only):
            continue
        if not only and any(fnmatch.fnmatchcase(device, p) for p in ignored):
            continue
        chosen.append(device)
    return chosen


def read(host: Host, options: Mapping[str, Any]) -> DiskIoReading:
    block = host.sys / "block"
    whole = {entry.name for entry in block.iterdir()} if block.is_dir() else None
    started = host.monotonic()
    before = parse_diskstats(host.read(host.proc / "diskstats"))
    host.sleep(float(options["sample_s"] or 0))
    after = parse_diskstats(host.read(host.proc / "diskstats"))
    elapsed = host.monotonic() - started
    keep = set(wanted(list(after), whole, options))
    return DiskIoReading(
        {d: c for d, c in before.items() if d in keep}, {d: c for d, c in after.items() if d in keep}, elapsed
    )


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read(host, options), options)
