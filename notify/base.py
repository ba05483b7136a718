"""What every channel driver is: a module with

- `TYPE`: the channel type name (`slack`, `email`, ...);
- `SECRET_FIELDS`: settings that are credentials (never shown, never logged);
- `validate(settings) -> dict`: the normalised settings, or `Permanent("invalid_config", why)`;
- `async send(channel, delivery, out) -> Sent`: one attempt, raising Retryable or Permanent;
  `out` is the Outbound: the SSRF-guarded HTTP client and the allow-list;
- `FOLLOW_UPS`: whether the channel takes a follow-up (the late analysis of an incident
  version that was notified as "analysis pending"). False: the notify stage skips
  follow-ups for it (a vendor that would open a new incident/alert for it).

A driver never puts a URL, token or password into an exception or a log line:
URLs of incoming webhooks *are* credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from alertstream.schemas.records import Analysis
from alertstream.ssrf import AllowList, Resolver, system_resolver

from .client import ChannelHTTP


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # may hold secrets: never log it
    enabled: bool = True

    def __repr__(self) -> str:
        return f"ChannelConfig(name={self.name!r}, type={self.type!r}, settings=<{len(self.settings)} keys>)"


UPDATE_SUFFIX = ":update"


def delivery_key(incident_id: str, version: int, channel: str, follow_up: bool = False) -> str:
    """`incident_id:version:channel`, and `…:update` for a follow-up: the first notification and its
    update are two deliveries, each sent effectively once (the ledger claims each key)."""
    return f"{incident_id}:{version}:{channel}{UPDATE_SUFFIX if follow_up else ''}"


def key_of(analysis: Analysis, channel: str) -> str:
    """The delivery key of `analysis` on `channel`; every attempt, retry and redrive derives it here."""
    incident = analysis.incident
    return delivery_key(incident.incident_id, incident.version, channel, analysis.follow_up)


@dataclass(frozen=True)
class Delivery:
    key: str  # delivery_key(): stable across retries and replays
    attempt: int
    analysis: Analysis

    @property
    def first_key(self) -> str:
        """The key of the notification a follow-up updates (its own key for a first notification)."""
        return self.key.removesuffix(UPDATE_SUFFIX) if self.analysis.follow_up else self.key


@dataclass(frozen=True)
class Sent:
    status_code: int | None


@dataclass(frozen=True)
class Outbound:
    """How drivers reach the world. `http` is built by `notify.outbound.make_outbound`:
    every connection goes through alertstream.ssrf's guard; non-HTTP drivers (SMTP)
    check their host against the same allow-list with `resolver`."""

    http: ChannelHTTP
    allow: AllowList = field(default_factory=AllowList)
    resolver: Resolver = system_resolver


class ChannelDriver(Protocol):
    TYPE: str
    SECRET_FIELDS: frozenset[str]
    FOLLOW_UPS: bool

    def validate(self, settings: Mapping[str, Any]) -> dict[str, Any]: ...

    async def send(self, channel: ChannelConfig, delivery: Delivery, out: Outbound) -> Sent: ...
