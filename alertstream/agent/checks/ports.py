"""Unexpected listening TCP ports: every listener must be in the allowed list.

Allowed entries are a port (any address: 22 or "22") or an address and port
("127.0.0.1:5432", "[::1]:25"). Loopback listeners are ignored by default. Nothing is
reported until an allowed list is configured. The agent sees the sockets of its own network
namespace: run it on the host's, not in a container's.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult

NAME = "ports"
DEFAULTS: dict[str, Any] = {
    "allowed": [],
    "ignore_loopback": True,
    "unexpected_status": "warning",
}
_LISTEN = "0A"  # TCP_LISTEN in include/net/tcp_states.h, as /proc/net/tcp prints it


@dataclass(frozen=True, order=True)
class Listener:
    address: str
    port: int

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


def parse_proc_net_tcp(text: str, *, v6: bool) -> list[Listener]:
    """Listening sockets of /proc/net/tcp or tcp6. Addresses are the kernel's words printed in
    host byte order, so they are packed back with the native order."""
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != _LISTEN:
            continue
        address_hex, _, port_hex = fields[1].partition(":")
        raw = b"".join(struct.pack("=I", int(address_hex[i : i + 8], 16)) for i in range(0, len(address_hex), 8))
        address = socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, raw)
        listeners.append(Listener(address, int(port_hex, 16)))
    return listeners


def parse_allowed(entries: Iterable[str | int | float]) -> tuple[set[int], set[Listener]]:
    ports: set[int] = set()
    exact: set[Listener] = set()
    for entry in entries:
        text = str(int(entry)) if isinstance(entry, (int, float)) else str(entry).strip()
        if text.isdigit():
            ports.add(int(text))
            continue
        host, sep, port = text.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not port.isdigit():
            raise ValueError(f"allowed port {entry!r} must be a port or address:port")
        if host in ("*", ""):
            ports.add(int(port))
        else:
            exact.add(Listener(str(ipaddress.ip_address(host)), int(port)))
    return ports, exact


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def evaluate(listeners: Sequence[Listener], options: Mapping[str, Any]) -> list[CheckResult]:
    status_if_unexpected = options["unexpected_status"]
    if status_if_unexpected not in ("warning", "critical"):
        raise ValueError("ports.unexpected_status must be 'warning' or 'critical'")
    ports, exact = parse_allowed(options["allowed"])
    unexpected = sorted({
        listener for listener in listeners
        if listener.port not in ports
        and Listener(str(ipaddress.ip_address(listener.address)), listener.port) not in exact
        and not (options["ignore_loopback"] and _loopback(listener.address))
    })
    metrics: dict[str, Any] = {"listening": len(set(listeners)), "unexpected_count": len(unexpected)}
    if not unexpected:
        return [CheckResult(NAME, "ok", f"{metrics['listening']} listening ports, all expected", metrics)]
    shown = ", ".join(str(listener) for listener in unexpected[:20])
    more = f" and {len(unexpected) - 20} more" if len(unexpected) > 20 else ""
    metrics["unexpected"] = shown
    return [CheckResult(NAME, status_if_unexpected, f"unexpected listening ports: {shown}{more}", metrics)]


def read(host: Host) -> list[Listener]:
    listeners: list[Listener] = []
    for name, v6 in (("tcp", False), ("tcp6", True)):
        path = host.proc / "net" / name
        if path.exists():  # tcp6 is absent when IPv6 is off
            listeners.extend(parse_proc_net_tcp(host.read(path), v6=v6))
    return listeners


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    if not options["allowed"]:
        return []
    return evaluate(read(host), options)
