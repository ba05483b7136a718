"""Wiring of the outbound URL guard (alertstream.ssrf) into the notify stage.

- HTTP drivers send through notify/client.py's `ChannelHTTP`: each name is checked
  where it is resolved (DNS rebinding included); redirects are not followed.
- The SMTP driver resolves its host with `checked_address` and connects to that
  address only.
- On save, `check_channel_urls` runs the cheap config-time check on every URL field.

ALERTSTREAM_OUTBOUND_ALLOW lists hosts or host:ports exempt from the guard; the
env-configured default webhook (ALERTSTREAM_WEBHOOK_URL) is an operator's choice,
so its host:port is allowed implicitly.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from alertstream.errors import Permanent, Retryable
from alertstream.ssrf import AllowList, blocked_reason, check_url

from .base import Outbound
from .client import ChannelHTTP

URL_FIELDS = ("url", "base_url")
_PORTS = {"http": 80, "https": 443}


def allow_list(entries: Iterable[str], default_webhook_url: str = "") -> AllowList:
    extra = []
    if default_webhook_url:
        parsed = httpx.URL(default_webhook_url)
        if parsed.host:
            host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
            extra.append(f"{host}:{parsed.port or _PORTS.get(parsed.scheme, 80)}")
    return AllowList([*entries, *extra])


class RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; a channel URL carries its token in the
    path or query. Keep scheme, host and port only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                a.copy_with(path="/…", query=None, fragment=None, username=None, password=None)
                if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_REDACT = RedactUrls()


def make_outbound(allow: AllowList) -> Outbound:
    httpx_log = logging.getLogger("httpx")
    if _REDACT not in httpx_log.filters:
        httpx_log.addFilter(_REDACT)
    return Outbound(http=ChannelHTTP(allow), allow=allow)


def check_channel_urls(settings: Mapping[str, Any], allow: AllowList) -> None:
    for name in URL_FIELDS:
        value = settings.get(name)
        if isinstance(value, str) and value:
            try:
                check_url(value, allow)
            except Permanent as exc:
                # check_url's detail names the host, not the path or query where tokens live.
                raise Permanent("ssrf_blocked", f"{name}: {exc.detail}") from None


async def checked_address(host: str, port: int, out: Outbound) -> str:
    """The address to connect to for host:port, refusing any non-public address
    unless allow-listed. Raises Permanent('ssrf_blocked') or Retryable('dns_error')."""
    if out.allow.allows(host, port):
        return host
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a) for a in await out.resolver(host, port)]
        except OSError:
            raise Retryable("dns_error") from None
    if not addresses:
        raise Retryable("dns_error")
    for ip in addresses:
        if (reason := blocked_reason(ip)) is not None:
            raise Permanent("ssrf_blocked", f"{host} is {reason}")
    return str(addresses[0])
