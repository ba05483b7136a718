from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest

import alertstream.ssrf as ssrf
from alertstream.errors import Permanent
from alertstream.ssrf import (
    AllowList,
    GuardedBackend,
    GuardedTransport,
    blocked_reason,
    check_url,
    guarded_client,
)

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "shared",
    "0.0.0.0": "unspecified",
    "224.0.0.1": "multicast",
    "240.0.0.1": "private",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fd12:3456::1": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback (IPv4 inside IPv6)",
    "::ffff:169.254.169.254": "link-local (IPv4 inside IPv6)",
    "64:ff9b::a00:1": "private (IPv4 inside IPv6)",
    "2002:7f00:1::": "loopback (IPv4 inside 6to4)",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), BLOCKED.items())
def test_blocked_addresses(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "ws://example.com/",
        "//example.com/x",
    ],
)
def test_check_url_scheme(url: str) -> None:
    with pytest.raises(Permanent) as info:
        check_url(url)
    assert info.value.reason == "ssrf_blocked"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1:8080/hook",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/",
        "http://[::ffff:10.0.0.1]/",
        "http://localhost/",
        "http://api.localhost./",
    ],
)
def test_check_url_literal_private(url: str) -> None:
    with pytest.raises(Permanent, match="ssrf_blocked"):
        check_url(url)


def test_check_url_accepts_public_and_allowed() -> None:
    assert check_url("https://hooks.example.com/x").host == "hooks.example.com"
    assert check_url("https://93.184.216.34/").host == "93.184.216.34"
    assert check_url("http://10.0.0.5:8443/hook", ["10.0.0.5:8443"]).port == 8443
    assert check_url("http://LocalHost/", ["localhost"]).host == "localhost"
    with pytest.raises(Permanent):
        check_url("http://10.0.0.5:9999/hook", ["10.0.0.5:8443"])  # another port is not allowed


def test_allow_list_entries() -> None:
    allow = AllowList(["Hooks.Internal", "10.0.0.5:8443", "[fd00::1]:443", "fd00::2"])
    assert allow.allows("hooks.internal", 1) and allow.allows("HOOKS.INTERNAL.", 80)
    assert allow.allows("10.0.0.5", 8443) and not allow.allows("10.0.0.5", 80)
    assert allow.allows("fd00::1", 443) and allow.allows("fd00::2", 1)
    with pytest.raises(ValueError):
        AllowList(["host:port"])


class _Recorder(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded")


def _resolver(table: dict[str, list[str]]) -> ssrf.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


async def test_backend_connects_to_the_checked_address() -> None:
    inner = _Recorder()
    backend = GuardedBackend(resolver=_resolver({"hooks.example": ["93.184.216.34", "8.8.8.8"]}), inner=inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("hooks.example", 443)
    assert inner.hosts == ["93.184.216.34", "8.8.8.8"]  # the IPs, never the name again


async def test_backend_blocks_if_any_address_is_private() -> None:
    inner = _Recorder()
    backend = GuardedBackend(
        resolver=_resolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]}), inner=inner
    )
    with pytest.raises(Permanent, match="mixed.example resolves to 10.0.0.7, which is private"):
        await backend.connect_tcp("mixed.example", 443)
    assert inner.hosts == []


async def test_backend_unknown_name_is_a_connect_error() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(resolver=fail).connect_tcp("nope.invalid", 443)


async def test_transport_refuses_other_schemes() -> None:
    transport = GuardedTransport()
    with pytest.raises(Permanent, match="scheme 'ftp'"):
        await transport.handle_async_request(httpx.Request("GET", "ftp://example.com/"))


@pytest.mark.parametrize(
    "url", ["http://localhost:9/", "http://127.0.0.1:9/", "http://[::1]:9/", "http://10.0.0.1/"]
)
async def test_client_blocks_at_connect_time(url: str) -> None:
    async with guarded_client() as client:
        with pytest.raises(Permanent) as info:
            await client.get(url)
    assert info.value.reason == "ssrf_blocked"


# A real local server: one path redirects wherever ?to= says, others echo the Host header.
class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Handler.hits.append(f"{self.server.server_address[1]}{self.path}")
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        body = (self.headers.get("Host") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    started = [ThreadingHTTPServer(("127.0.0.1", 0), _Handler) for _ in range(2)]
    for server in started:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield started[0].server_address[1], started[1].server_address[1]
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "target", ["http://localhost:{port}/", "http://127.0.0.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/"]
)
async def test_redirect_to_blocked_address_is_refused(servers: tuple[int, int], target: str) -> None:
    first, second = servers
    _Handler.hits.clear()
    to = target.format(port=second)
    async with guarded_client([f"127.0.0.1:{first}"], follow_redirects=True) as client:
        with pytest.raises(Permanent, match="ssrf_blocked"):
            await client.get(f"http://127.0.0.1:{first}/redirect?to={to}")
    assert _Handler.hits == [f"{first}/redirect?to={to}"]  # the blocked server was never contacted


async def test_redirect_within_allow_list_is_followed(servers: tuple[int, int]) -> None:
    first, second = servers
    allow = [f"127.0.0.1:{first}", f"127.0.0.1:{second}"]
    async with guarded_client(allow, follow_redirects=True) as client:
        response = await client.get(f"http://127.0.0.1:{first}/redirect?to=http://127.0.0.1:{second}/ok")
    assert response.status_code == 200
    assert response.text == f"127.0.0.1:{second}"


async def test_name_is_kept_while_the_checked_ip_is_dialled(
    servers: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the socket goes to the resolved IP, the Host header keeps the name."""
    first, _ = servers
    monkeypatch.setattr(ssrf, "blocked_reason", lambda ip: None)  # let loopback stand in for a public IP
    resolver = _resolver({"hooks.example": ["127.0.0.1"]})
    async with guarded_client(resolver=resolver) as client:
        response = await client.get(f"http://hooks.example:{first}/echo")
    assert response.text == f"hooks.example:{first}"
