"""The channels' HTTP client: aiohttp behind the address guard of alertstream/ssrf.py.

Channel sends are the notify stage's hot path. httpx, through httpcore's pool and anyio, cost
~1.4 ms of CPU per request on the bench machine; aiohttp ~0.12 ms (bench/profile.md).

The guard is the one httpx's GuardedTransport applies, moved to where aiohttp resolves names:
`GuardedResolver` refuses the connection if any address of the name is not public, and aiohttp
dials the addresses it returned, never the name again (TLS still sends the name for SNI and
checks the certificate against it). aiohttp never asks a resolver about a literal address, so
`post` checks the URL text first, on the very `yarl.URL` aiohttp will dial: two parsers must not
disagree about which host that is. Redirects are never followed (a 3xx is an answer, classified
like any other) and the environment's proxies are not used: either would bypass the guard.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from alertstream.errors import Permanent
from alertstream.ssrf import AllowList, Resolver, check_target, refuse_blocked, system_resolver

MAX_CONNECTIONS = 100
DNS_CACHE_S = 10  # the guard checks each answer before it is cached; a rebinding name waits it out


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)


class GuardedResolver(AbstractResolver):
    def __init__(self, allow: AllowList, resolver: Resolver) -> None:
        self.allow = allow
        self.resolver = resolver

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = await self.resolver(host, port)  # OSError for an unknown name: aiohttp's DNS error
        if not self.allow.allows(host, port):
            refuse_blocked(host, addresses)
        return [ResolveResult(hostname=host, host=address, port=port,
                              family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for address in addresses]

    async def close(self) -> None:
        return None


class ChannelHTTP:
    """One session per event loop, made on first use (aiohttp binds a session to the loop that
    made it; the edge's channel test and the worker each run their own)."""

    def __init__(self, allow: AllowList | Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self.allow = allow if isinstance(allow, AllowList) else AllowList(allow)
        self.resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session.loop is not loop:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ttl_dns_cache=DNS_CACHE_S,
                                             resolver=GuardedResolver(self.allow, self.resolver))
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """Raises Permanent: "invalid_config" for a URL that does not parse, "ssrf_blocked" for a
        target the guard refuses; aiohttp's errors (timeouts are TimeoutError) for the rest."""
        try:
            target = URL(url)
        except (ValueError, TypeError):
            raise Permanent("invalid_config", "the channel URL is not valid") from None
        check_target(target.scheme, target.host, target.port, self.allow)
        async with self._current().post(target, data=body, headers=dict(headers), allow_redirects=False,
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            await answer.read()  # the connection goes back to the pool only once its body is read
            return Response(answer.status, answer.headers)

    async def __aenter__(self) -> ChannelHTTP:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
