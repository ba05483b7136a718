"""CPU: busy share over a short sample of /proc/stat, and the 5-minute load per core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, grade, worst

NAME = "cpu"
DEFAULTS: dict[str, Any] = {
    "sample_s": 1.0,
    "usage_pct": {"warning": 90, "critical": 98},
    "load_per_core": {"warning": 2.0, "critical": 4.0},
    "iowait_pct": {"warning": None, "critical": None},
}


@dataclass(frozen=True)
class CpuTimes:
    total: int  # jiffies, all states
    idle: int  # idle + iowait
    iowait: int
    cores: int


@dataclass(frozen=True)
class CpuReading:
    before: CpuTimes
    after: CpuTimes
    load: tuple[float, float, float]


def parse_stat(text: str) -> CpuTimes:
    """The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal
    guest guest_nice. guest time is already counted in user, so only the first eight add up."""
    total = idle = iowait = cores = 0
    found = False
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            values = [int(v) for v in fields[1:9]]
            values += [0] * (8 - len(values))
            total, idle, iowait, found = sum(values), values[3] + values[4], values[4], True
        elif fields[0].startswith("cpu") and fields[0][3:].isdigit():
            cores += 1
    if not found:
        raise ValueError("no aggregate cpu line in /proc/stat")
    return CpuTimes(total, idle, iowait, max(cores, 1))


def parse_loadavg(text: str) -> tuple[float, float, float]:
    one, five, fifteen = (float(v) for v in text.split()[:3])
    return one, five, fifteen


def evaluate(reading: CpuReading, options: Mapping[str, Any]) -> list[CheckResult]:
    elapsed = reading.after.total - reading.before.total
    idle = reading.after.idle - reading.before.idle
    iowait = reading.after.iowait - reading.before.iowait
    usage = round(100.0 * (elapsed - idle) / elapsed, 2) if elapsed > 0 else 0.0
    iowait_pct = round(100.0 * iowait / elapsed, 2) if elapsed > 0 else 0.0
    cores = reading.after.cores
    per_core = round(reading.load[1] / cores, 2)
    statuses = {
        "usage": grade(usage, options["usage_pct"]),
        "load": grade(per_core, options["load_per_core"]),
        "iowait": grade(iowait_pct, options["iowait_pct"]),
    }
    status = worst(statuses.values())
    message = f"cpu {usage:.1f}% busy ({iowait_pct:.1f}% iowait), load {reading.load[1]:.2f} on {cores} cores"
    if status != "ok":
        message += " — " + ", ".join(f"{name} {s}" for name, s in statuses.items() if s != "ok")
    metrics = {
        "usage_pct": usage,
        "iowait_pct": iowait_pct,
        "load1": reading.load[0],
        "load5": reading.load[1],
        "load15": reading.load[2],
        "load_per_core": per_core,
        "cores": cores,
    }
    return [CheckResult(NAME, status, message, metrics)]


def read(host: Host, sample_s: float) -> CpuReading:
    before = parse_stat(host.read(host.proc / "stat"))
    host.sleep(sample_s)
    after = parse_stat(host.read(host.proc / "stat"))
    return CpuReading(before, after, parse_loadavg(host.read(host.proc / "loadavg")))


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read(host, float(options["sample_s"] or 0)), options)
