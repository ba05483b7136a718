"""Linux software RAID (md) state from /proc/mdstat, one result per array.

    degraded (a member missing, nothing rebuilding)  critical
    inactive                                          critical
    rebuilding or reshaping (recovery, reshape)       warning, with progress
    resync after an unclean shutdown                  warning
    a failed member while the array is complete       warning (a spare took over)
    scheduled check (scrub) running, or all members   ok

Nothing is reported on a machine without md arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, Status

NAME = "raid"
DEFAULTS: dict[str, Any] = {
    "degraded_status": "critical",
    "rebuilding_status": "warning",
}

_HEADER = re.compile(r"^(?P<name>md\S*)\s*:\s*(?P<state>active|inactive)\b(?P<rest>.*)$")
_MEMBERS = re.compile(r"\[(?P<total>[0-9]+)/(?P<active>[0-9]+)\]\s+\[(?P<map>[U_]+)\]")
_ACTION = re.compile(r"\b(?P<action>recovery|resync|reshape|check|repair)\s*=\s*(?P<progress>[0-9.]+)%"
                     r"(?:.*?finish=(?P<finish>[0-9.]+)min)?")
_DELAYED = re.compile(r"\b(?P<action>recovery|resync|reshape|check|repair)\s*=\s*(?P<state>DELAYED|PENDING)")


@dataclass(frozen=True)
class MdArray:
    name: str
    active: bool
    level: str
    members: int  # devices listed on the header line
    failed: int  # members marked (F)
    total: int | None = None  # [total/active]; raid0 and linear have none
    working: int | None = None
    member_map: str = ""  # [UU_]
    action: str = ""  # recovery | resync | reshape | check | repair
    progress_pct: float | None = None
    finish_min: float | None = None


def parse_mdstat(text: str) -> list[MdArray]:
    arrays: list[MdArray] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            if current:
                arrays.append(MdArray(**current))
            words = header["rest"].split()
            level = next((w for w in words if w.startswith(("raid", "linear", "multipath", "faulty"))), "")
            members = [w for w in words if "[" in w]
            current = {
                "name": header["name"],
                "active": header["state"] == "active",
                "level": level,
                "members": len(members),
                "failed": sum(1 for w in members if w.endswith("(F)")),
            }
            continue
        if current is None:
            continue
        if not line.strip():
            arrays.append(MdArray(**current))
            current = None
            continue
        if m := _MEMBERS.search(line):
            current.update(total=int(m["total"]), working=int(m["active"]), member_map=m["map"])
        if m := _ACTION.search(line):
            current.update(action=m["action"], progress_pct=float(m["progress"]),
                           finish_min=float(m["finish"]) if m["finish"] else None)
        elif m := _DELAYED.search(line):
            current.update(action=m["action"])
    if current:
        arrays.append(MdArray(**current))
    return arrays


def _status_of(array: MdArray, options: Mapping[str, Any]) -> tuple[Status, str]:
    degraded = (array.total is not None and array.working is not None and array.working < array.total) or (
        "_" in array.member_map
    )
    if not array.active:
        return "critical", f"{array.name} is inactive"
    if array.action in ("recovery", "reshape"):
        progress = f" ({array.progress_pct:.1f}% done)" if array.progress_pct is not None else " (pending)"
        return options["rebuilding_status"], f"{array.name} ({array.level}) is rebuilding: {array.action}{progress}"
    if degraded:
        return options["degraded_status"], (
            f"{array.name} ({array.level}) is degraded: {array.working} of {array.total} members [{array.member_map}]"
        )
    if array.action == "resync":
        return "warning", f"{array.name} ({array.level}) is resyncing"
    if array.failed:
        return "warning", f"{array.name} ({array.level}) has {array.failed} failed member(s); the array is complete"
    scrub = f", {array.action} running" if array.action else ""
    return "ok", f"{array.name} ({array.level}) is healthy{scrub}"


def evaluate(arrays: Sequence[MdArray], options: Mapping[str, Any]) -> list[CheckResult]:
    for key in ("degraded_status", "rebuilding_status"):
        if options[key] not in ("warning", "critical"):
            raise ValueError(f"raid.{key} must be 'warning' or 'critical'")
    results = []
    for array in arrays:
        status, message = _status_of(array, options)
        metrics: dict[str, Any] = {"level": array.level, "failed": array.failed, "action": array.action or "idle"}
        if array.total is not None:
            metrics.update(members=array.total, working=array.working)
        if array.progress_pct is not None:
            metrics["progress_pct"] = array.progress_pct
        if array.finish_min is not None:
            metrics["finish_min"] = array.finish_min
        results.append(CheckResult(NAME, status, message, metrics, {"array": array.name}))
    return results


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    path = host.proc / "mdstat"
    if not path.exists():
        return []
    return evaluate(parse_mdstat(host.read(path)), options)
