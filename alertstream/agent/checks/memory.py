"""Memory: the share of RAM not available to new work (MemAvailable), and swap in use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..host import Host
from ..result import CheckResult, grade, pct, worst

NAME = "memory"
DEFAULTS: dict[str, Any] = {
    "used_pct": {"warning": 90, "critical": 97},
    "swap_used_pct": {"warning": 80, "critical": None},
}


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as name -> bytes ("MemTotal:  16316412 kB")."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            scale = 1024 if len(fields) > 1 and fields[1] == "kB" else 1
            values[name.strip()] = int(fields[0]) * scale
    return values


def evaluate(meminfo: Mapping[str, int], options: Mapping[str, Any]) -> list[CheckResult]:
    total = meminfo.get("MemTotal", 0)
    if total <= 0:
        raise ValueError("MemTotal missing from /proc/meminfo")
    # Kernels before 3.14 have no MemAvailable: free plus page cache is the old estimate.
    available = meminfo.get("MemAvailable")
    if available is None:
        available = meminfo.get("MemFree", 0) + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)
    used_pct = pct(total - available, total)
    swap_total = meminfo.get("SwapTotal", 0)
    swap_used = swap_total - meminfo.get("SwapFree", swap_total)
    swap_pct = pct(swap_used, swap_total)
    status_ram = grade(used_pct, options["used_pct"])
    status_swap = grade(swap_pct, options["swap_used_pct"]) if swap_total > 0 else "ok"
    status = worst((status_ram, status_swap))
    message = f"memory {used_pct:.1f}% used ({_gib(available)} GiB available of {_gib(total)} GiB)"
    if swap_total > 0:
        message += f", swap {swap_pct:.1f}% used"
    metrics = {
        "used_pct": used_pct,
        "total_bytes": total,
        "available_bytes": available,
        "swap_used_pct": swap_pct,
        "swap_total_bytes": swap_total,
    }
    return [CheckResult(NAME, status, message, metrics)]


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(parse_meminfo(host.read(host.proc / "meminfo")), options)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}"
