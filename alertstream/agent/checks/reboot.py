"""Reboot required: Debian and Ubuntu packages (kernel, libc, …) create
/var/run/reboot-required when an update only takes effect after a reboot, and list themselves
in reboot-required.pkgs. Graded by how long the file has been there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, grade

NAME = "reboot_required"
DEFAULTS: dict[str, Any] = {
    "age_days": {"warning": 0, "critical": None},
}


@dataclass(frozen=True)
class RebootFlag:
    required: bool
    age_s: float = 0.0
    packages: Sequence[str] = ()


def evaluate(flag: RebootFlag, options: Mapping[str, Any]) -> list[CheckResult]:
    if not flag.required:
        return [CheckResult(NAME, "ok", "no reboot required", {"required": False})]
    age_days = round(max(flag.age_s, 0.0) / 86_400, 2)
    status = grade(age_days, options["age_days"])
    shown = ", ".join(flag.packages[:10]) + (f" and {len(flag.packages) - 10} more" if len(flag.packages) > 10 else "")
    message = f"reboot required for {age_days:.1f} days" + (f" by {shown}" if shown else "")
    metrics = {"required": True, "age_days": age_days, "packages": len(flag.packages)}
    return [CheckResult(NAME, status, message, metrics)]


def read(host: Host) -> RebootFlag:
    flag = host.run / "reboot-required"
    try:
        mtime = flag.stat().st_mtime
    except FileNotFoundError:
        return RebootFlag(False)
    try:
        packages = sorted({p.strip() for p in host.read(host.run / "reboot-required.pkgs").splitlines() if p.strip()})
    except FileNotFoundError:
        packages = []
    return RebootFlag(True, host.clock() - mtime, packages)


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read(host), options)
