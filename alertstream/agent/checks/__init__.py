"""The checkers, in report order. Each is a module with:

    NAME        the check's name: the alert's name at the edge
    DEFAULTS    its options and thresholds ({"warning": x, "critical": y}; null turns a level off)
    collect(options, host) -> list[CheckResult]
                reads the host, then calls the module's pure evaluate() on what it read

A checker returns one result per item it watches (a mount, a device, a target), told apart by
labels, and nothing at all when there is nothing to watch (no md arrays, no targets configured).
It may raise: the runner turns that into an `unknown` result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..host import Host
from ..result import CheckResult
from . import cpu, disk, diskio, inodes, memory, network, ports, processes, raid, reboot, temperature


class Checker(Protocol):
    NAME: str
    DEFAULTS: dict[str, Any]

    def collect(self, options: Mapping[str, Any], host: Host) -> list[CheckResult]: ...


CHECKERS: tuple[Checker, ...] = (
    cpu, memory, disk, inodes, diskio, network, processes, ports, raid, reboot, temperature,  # type: ignore[assignment]
)
