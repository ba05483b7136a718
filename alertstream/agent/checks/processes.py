"""Named processes: each configured name must have at least its minimum number running.

A name is matched (glob patterns allowed) against the kernel's short name (/proc/PID/comm) and
the base name of the program (argv[0]); "nginx>=4" asks for at least four. Nothing is
reported until names are configured.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, unknown

NAME = "process"
DEFAULTS: dict[str, Any] = {
    "names": [],
    "missing_status": "critical",
}

_SPEC = re.compile(r"\s*(?P<name>[^\s>=]+)\s*(?:>=\s*(?P<min>[0-9]+))?\s*")


@dataclass(frozen=True)
class Proc:
    comm: str
    program: str  # base name of argv[0]; empty for kernel threads


def parse_spec(spec: str) -> tuple[str, int]:
    match = _SPEC.fullmatch(spec)
    if not match:
        raise ValueError(f"process {spec!r} must be a name, optionally followed by >=N")
    return match["name"], int(match["min"] or 1)


def count(procs: Sequence[Proc], pattern: str) -> int:
    return sum(
        1 for p in procs
        if fnmatch.fnmatchcase(p.comm, pattern) or (p.program and fnmatch.fnmatchcase(p.program, pattern))
    )


def evaluate(procs: Sequence[Proc], options: Mapping[str, Any]) -> list[CheckResult]:
    missing_status = options["missing_status"]
    if missing_status not in ("warning", "critical"):
        raise ValueError("process.missing_status must be 'warning' or 'critical'")
    results = []
    for spec in (str(s) for s in options["names"]):
        try:
            name, minimum = parse_spec(spec)
        except ValueError as exc:
            results.append(unknown(NAME, str(exc), {"process": spec}))
            continue
        running = count(procs, name)
        labels = {"process": name}
        metrics = {"running": running, "minimum": minimum}
        if running < minimum:
            message = f"{name}: {running} running, expected at least {minimum}"
            results.append(CheckResult(NAME, missing_status, message, metrics, labels))
        else:
            results.append(CheckResult(NAME, "ok", f"{name}: {running} running", metrics, labels))
    return results


def read(host: Host) -> list[Proc]:
    procs = []
    for entry in host.proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = host.read(entry / "comm").strip()
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode("utf-8", "replace")
        except OSError:  # gone since the listing, or not ours to read
            continue
        procs.append(Proc(comm, argv0.rsplit("/", 1)[-1]))
    return procs


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    if not options["names"]:
        return []
    return evaluate(read(host), options)
