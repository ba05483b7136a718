"""Network reachability: a TCP connection to each configured target ("host:port", "[v6]:port").
Nothing is reported until targets are configured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, grade, unknown

NAME = "network"
DEFAULTS: dict[str, Any] = {
    "targets": [],
    "timeout_s": 3.0,
    "connect_ms": {"warning": 1000, "critical": None},
    "failure_status": "critical",  # or "warning" for targets that are allowed to be down
}


@dataclass(frozen=True)
class Probe:
    target: str
    connect_ms: float | None  # None: the connection failed
    error: str = ""


def parse_target(target: str) -> tuple[str, int]:
    host, sep, port = target.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"target {target!r} must be host:port")
    return host, int(port)


def evaluate(probes: Sequence[Probe], options: Mapping[str, Any]) -> list[CheckResult]:
    failure_status = options["failure_status"]
    if failure_status not in ("warning", "critical"):
        raise ValueError("network.failure_status must be 'warning' or 'critical'")
    results = []
    for probe in probes:
        labels = {"target": probe.target}
        if probe.connect_ms is None:
            results.append(CheckResult(NAME, failure_status, f"{probe.target} unreachable: {probe.error}",
                                       {"reachable": False}, labels))
            continue
        status = grade(probe.connect_ms, options["connect_ms"])
        message = f"{probe.target} reachable in {probe.connect_ms:.0f} ms"
        results.append(CheckResult(NAME, status, message, {"reachable": True, "connect_ms": probe.connect_ms}, labels))
    return results


def probe(host: Host, target: str, timeout_s: float) -> Probe:
    name, port = parse_target(target)
    started = host.monotonic()
    try:
        host.connect(name, port, timeout_s)
    except OSError as exc:  # refused, timed out, no route, name not resolved
        return Probe(target, None, exc.strerror or type(exc).__name__)
    return Probe(target, round((host.monotonic() - started) * 1000.0, 2))


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    targets = [str(t) for t in options["targets"]]
    if not targets:
        return []
    timeout_s = float(options["timeout_s"] or 3.0)
    results: list[CheckResult] = []
    good: list[str] = []
    for target in targets:
        try:
            parse_target(target)
            good.append(target)
        except ValueError as exc:
            results.append(unknown(NAME, str(exc), {"target": target}))
    with ThreadPoolExecutor(max_workers=min(16, len(good) or 1), thread_name_prefix="probe") as pool:
        probes = list(pool.map(lambda t: probe(host, t, timeout_s), good))
    return evaluate(probes, options) + results

