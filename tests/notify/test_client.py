"""The channels' aiohttp client carries the same address guard as httpx's GuardedTransport
(tests/security/test_ssrf.py): against a real local server, every way in is refused before a
connection is made, and an allowed or public target is dialled by its checked address."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alertstream import ssrf
from alertstream.errors import Permanent, Retryable
from alertstream.notify.client import ChannelHTTP
from alertstream.notify.http import post_json


class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Handler.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/inside")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (self.headers.get("Host") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Host", body.decode())
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _resolver(table: dict[str, list[str]]) -> ssrf.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize("target", ["localhost", "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "app.localhost"])
async def test_literal_and_local_targets_are_refused_before_connecting(port: int, target: str) -> None:
    _Handler.hits.clear()
    async with ChannelHTTP() as http:
        with pytest.raises(Permanent, match="ssrf_blocked"):
            await http.post(f"http://{target}:{port}/hook", b"{}", {}, 5)
    assert _Handler.hits == []


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["93.184.216.34", "10.0.0.7"], ["::ffff:169.254.169.254"]])
async def test_a_name_that_resolves_inside_is_refused(port: int, answers: list[str]) -> None:
    _Handler.hits.clear()
    async with ChannelHTTP(resolver=_resolver({"hooks.example": answers})) as http:
        with pytest.raises(Permanent, match="hooks.example resolves to") as info:
            await post_json(http, f"http://hooks.example:{port}/hook", b"{}")
    assert info.value.reason == "ssrf_blocked"
    assert _Handler.hits == []


async def test_the_checked_address_is_dialled_and_the_name_kept(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "blocked_reason", lambda ip: None)  # loopback stands in for a public address
    async with ChannelHTTP(resolver=_resolver({"hooks.example": ["127.0.0.1"]})) as http:
        response = await post_json(http, f"http://hooks.example:{port}/hook", b"{}")
    assert response.status_code == 200
    assert response.headers["x-host"] == f"hooks.example:{port}"


async def test_an_allowed_host_port_is_reached_and_redirects_are_answers(port: int) -> None:
    _Handler.hits.clear()
    async with ChannelHTTP([f"127.0.0.1:{port}"]) as http:
        assert (await http.post(f"http://127.0.0.1:{port}/hook", b"{}", {}, 5)).status_code == 200
        with pytest.raises(Permanent, match="http_302"):  # never followed inward
            await post_json(http, f"http://127.0.0.1:{port}/redirect", b"{}")
        with pytest.raises(Permanent, match="ssrf_blocked"):  # the allowance is for that port only
            await http.post(f"http://127.0.0.1:{port + 1}/hook", b"{}", {}, 5)
    assert _Handler.hits == ["/hook", "/redirect"]


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/x", "ssrf_blocked"), ("file:///etc/passwd", "ssrf_blocked"), ("http:///nohost", "ssrf_blocked"),
    ("http://[::1", "invalid_config"), ("http://host:99999/x", "invalid_config"),
])
async def test_urls_refused_before_any_connection(url: str, reason: str) -> None:
    async with ChannelHTTP() as http:
        with pytest.raises(Permanent) as info:
            await post_json(http, url, b"{}")
    assert info.value.reason == reason


async def test_an_unknown_name_is_a_retryable_connection_error() -> None:
    async def unknown(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    async with ChannelHTTP(resolver=unknown) as http:
        with pytest.raises(Retryable, match="connection_error"):
            await post_json(http, "https://hooks.example/hook", b"{}")


def test_each_event_loop_gets_its_own_session(port: int) -> None:
    """aiohttp binds a session to the loop that made it: a client outliving one loop works in the next."""
    http = ChannelHTTP([f"127.0.0.1:{port}"])

    async def send() -> int:
        return (await http.post(f"http://127.0.0.1:{port}/hook", b"{}", {}, 5)).status_code

    assert asyncio.run(send()) == 200
    assert asyncio.run(send()) == 200
    asyncio.run(http.aclose())


async def test_a_header_aiohttp_refuses_is_an_invalid_config_not_a_crash(port: int) -> None:
    async with ChannelHTTP([f"127.0.0.1:{port}"]) as http:
        with pytest.raises(Permanent, match="invalid_config"):
            await post_json(http, f"http://127.0.0.1:{port}/hook", b"{}", headers={"x-sig": "a\r\nInjected: 1"})
