"""What every channel driver is: a module with

- `TYPE`: the channel type name (`slack`, `email`, ...);
- `SECRET_FIELDS`: settings that are credentials (never shown, never logged);
- `validate(settings) -> dict`: the normalised settings, or `Permanent("invalid_config", why)`;
- `async send(channel, delivery, out) -> Sent`: one attempt, raising Retryable or Permanent;
  `out` is the Outbound: the SSRF-guarded HTTP client and the allow-list.

A driver never puts a URL, token or password into an exception or a log line:
URLs of incoming webhooks *are* credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from alertstream.schemas.records import Analysis

from alertstream.ssrf import AllowList, Resolver, system_resolver


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # may hold secrets: never log it
    enabled: bool = True

    def __repr__(self) -> str:
        return f"ChannelConfig(name={self.name!r}, type={self.type!r}, settings=<{len(self.settings)} keys>)"


@dataclass(frozen=True)
class Delivery:
    key: str  # incident_id:version:channel — stable across retries and replays
    attempt: int
    analysis: Analysis


@dataclass(frozen=True)
class Sent:
    status_code: int | None


@dataclass(frozen=True)
class Outbound:
    """How drivers reach the world. `http` is built by `notify.outbound.make_outbound`:
    every connection goes through alertstream.ssrf's guard; non-HTTP drivers (SMTP)
    check their host against the same allow-list with `resolver`."""

    http: httpx.AsyncClient
    allow: AllowList = field(default_factory=AllowList)
    resolver: Resolver = system_resolver


class ChannelDriver(Protocol):
    TYPE: str
    SECRET_FIELDS: frozenset[str]

    def validate(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    async def send(self, channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent: ...
