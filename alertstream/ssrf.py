"""Outbound URL guard: notification channels may only reach the public internet.

A channel URL is user-supplied, so a check of the URL text alone is not enough:
a public-looking name can resolve to 127.0.0.1 or 169.254.169.254, resolve
differently on the next lookup (DNS rebinding), or redirect inward. The guard
therefore sits where the socket is opened. Two clients carry it: the channels'
aiohttp client (notify/client.py, a resolver) and, for everything else,
`GuardedTransport`, which gives httpcore a
network backend that resolves the host itself, refuses the connection if ANY
address is not public, and connects to the checked IP — never to the name
again. TLS still uses the URL's host name for SNI and certificate checks
(httpcore passes the origin host to start_tls), and the Host header is
untouched. Each redirect hop is a new request through the same transport, so it
is checked the same way.

`check_url` is the cheap config-time check (no DNS). Blocks raise
`Permanent("ssrf_blocked", ...)`: retrying a forbidden address never helps.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import anyio
import httpcore
import httpx

from alertstream.errors import Permanent

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: last 32 bits are an IPv4 address
_CHECKS = ("unspecified", "loopback", "link_local", "multicast", "private", "reserved")


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped and NAT64 (DNS64 synthesises these in IPv6-only clusters) ARE
        # the IPv4 address they carry: judge that. 6to4 must pass both checks.
        carried = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if carried is not None:
            reason = blocked_reason(carried)
            return None if reason is None else f"{reason} (IPv4 inside IPv6)"
        if ip.sixtofour is not None and (reason := blocked_reason(ip.sixtofour)) is not None:
            return f"{reason} (IPv4 inside 6to4)"
    for check in _CHECKS:
        if getattr(ip, f"is_{check}"):
            return check.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared"
    if not ip.is_global:
        return "not-global"
    return None


class AllowList:
    """Hosts (`hooks.internal`) or host:ports (`10.0.0.5:8443`, `[fd00::1]:443`) exempt
    from the address check: an operator's explicit choice, matched on the name as written."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.host_ports: set[tuple[str, int]] = set()
        for entry in entries:
            host, port = _split_entry(entry.strip().lower())
            if port is None:
                self.hosts.add(host)
            else:
                self.host_ports.add((host, port))

    def allows(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".").strip("[]")
        return host in self.hosts or (host, port) in self.host_ports

    def __bool__(self) -> bool:
        return bool(self.hosts or self.host_ports)


def _split_entry(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:  # a bare name, IPv4 or unbracketed IPv6 address
        host, port = entry, ""
    if not host or (port and not port.isdigit()):
        raise ValueError(f"allow-list entry {entry!r} must be 'host' or 'host:port'")
    return host.rstrip("."), int(port) if port else None


def _as_allow(allow: AllowList | Iterable[str]) -> AllowList:
    return allow if isinstance(allow, AllowList) else AllowList(allow)


def check_url(url: str | httpx.URL, allow: AllowList | Iterable[str] = ()) -> httpx.URL:
    """Config-time validation: scheme, host, literal addresses and `localhost` names.

    Names are not resolved here (DNS at config load is flaky and proves nothing
    about connect time); the connection guards check the resolved addresses."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise Permanent("ssrf_blocked", f"not a valid URL: {exc}") from None
    check_target(parsed.scheme, parsed.host, parsed.port, allow)
    return parsed


def check_target(scheme: str, host: str | None, port: int | None, allow: AllowList | Iterable[str] = ()) -> None:
    """The URL-text part of the guard, for whichever parser read the URL: the connection must be
    made to exactly the host that parser will dial, so each client checks its own parse."""
    if scheme not in SCHEMES:
        raise Permanent("ssrf_blocked", f"scheme {scheme!r} is not allowed; use http or https")
    if not host:
        raise Permanent("ssrf_blocked", "URL has no host")
    if _as_allow(allow).allows(host, port or _DEFAULT_PORTS[scheme]):
        return
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        # RFC 6761: these names always mean this machine.
        if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
            raise Permanent("ssrf_blocked", f"{host} is loopback") from None
        return
    if (reason := blocked_reason(ip)) is not None:
        raise Permanent("ssrf_blocked", f"{host} is {reason}")


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host, in its preference order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refuse_blocked(host: str, addresses: Iterable[str]) -> None:
    """Permanent("ssrf_blocked") unless every address `host` resolved to is public: one private
    answer among public ones is how a rebinding name gets a chance at the inside."""
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if (reason := blocked_reason(ip)) is not None:
            where = host if address == host else f"{host} resolves to {ip}, which"
            raise Permanent("ssrf_blocked", f"{where} is {reason}")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that only opens sockets to checked public addresses."""

    def __init__(
        self,
        allow: AllowList | Iterable[str] = (),
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow = _as_allow(allow)
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.allow.allows(host, port):
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = await self._resolve(host, port, timeout)
        refuse_blocked(host, addresses)
        error: Exception = httpcore.ConnectError(f"{host} has no addresses")
        for address in addresses:  # all checked: try them in resolver order
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def _resolve(self, host: str, port: int, timeout: float | None) -> Sequence[str]:
        try:
            with anyio.fail_after(timeout):
                return await self.resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:  # socket.gaierror: an unknown name is a connect error (retryable)
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise Permanent("ssrf_blocked", "unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose connections go through GuardedBackend. No proxy and no
    UDS options: a proxy resolves names itself, which would bypass the check."""

    def __init__(
        self,
        allow: AllowList | Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
        retries: int = 0,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify)
        super().__init__(verify=ssl_context, http2=http2, limits=limits, retries=retries)
        # httpx has no hook for a network backend, so the pool it built is swapped
        # for an identical one that has ours (httpcore's public constructor).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            retries=retries,
            network_backend=GuardedBackend(allow, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in SCHEMES:
            raise Permanent("ssrf_blocked", f"scheme {request.url.scheme!r} is not allowed")
        return await super().handle_async_request(request)


def guarded_client(
    allow: AllowList | Iterable[str] = (), *, resolver: Resolver = system_resolver, **kwargs: Any
) -> httpx.AsyncClient:
    """An AsyncClient whose every request, redirects included, goes through GuardedTransport.
    trust_env=False: with HTTP(S)_PROXY set, httpx would mount proxy transports that skip ours."""
    if "transport" in kwargs or "mounts" in kwargs or "proxy" in kwargs:
        raise TypeError("guarded_client sets its own transport; it takes no transport, mounts or proxy")
    return httpx.AsyncClient(transport=GuardedTransport(allow, resolver=resolver), trust_env=False, **kwargs)


__all__ = [
    "AllowList",
    "GuardedBackend",
    "GuardedTransport",
    "blocked_reason",
    "check_target",
    "check_url",
    "guarded_client",
    "refuse_blocked",
    "system_resolver",
]
