"""Which address a request came from.

The socket peer is the only address nobody can forge. X-Forwarded-For is
believed only when that peer is one of our own proxies (configured CIDRs), and
then it is read right to left: each trusted proxy appends the address it saw,
so the right-most address that is NOT a trusted proxy is the client. Anything
further left was written by the client and may be invented (e.g. to dodge a
per-IP rate limit).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ip(text: str) -> IPAddress | None:
    """An address from a peer or an X-Forwarded-For item; None when it is not one.
    Tolerates the ports and brackets some proxies add ("1.2.3.4:5678", "[::1]:80")."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; key them as IPv4.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """Resolves the client address; `cidrs` are our load balancers / reverse proxies."""

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        networks = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted proxy {cidr!r} is not an IP address or CIDR") from None
        self.networks = tuple(networks)

    def is_trusted(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def client_ip(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str | None:
        """The client address as text. `forwarded_for` holds every X-Forwarded-For
        header value in arrival order (a proxy may add a second header instead of
        appending). None only when the peer is unknown (e.g. a unix socket)."""
        peer_ip = _parse_ip(peer) if peer else None
        if peer_ip is None:
            return peer or None
        if not self.networks or not self.is_trusted(peer_ip):
            return str(peer_ip)
        hops = [item for value in forwarded_for for item in value.split(",") if item.strip()]
        client = peer_ip
        for item in reversed(hops):
            ip = _parse_ip(item)
            if ip is None:
                # Garbage where a proxy should have written an address: stop at the
                # last hop we could trust rather than key anything on free text.
                break
            client = ip
            if not self.is_trusted(ip):
                break
        # When every hop is a trusted proxy, the left-most is the best we know.
        return str(client)

    def from_scope(self, scope: Any) -> str | None:
        """client_ip for an ASGI HTTP scope."""
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
        return self.client_ip(peer, forwarded)


__all__ = ["TrustedProxies"]
