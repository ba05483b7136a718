"""What every channel driver is: a module with TYPE and
`async send(channel, delivery, http) -> Sent`, raising Retryable or Permanent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from alertstream.schemas.records import Analysis


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # may hold secrets: never log it

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


class ChannelDriver(Protocol):
    TYPE: str

    async def send(self, channel: ChannelConfig, delivery: Delivery, http: httpx.AsyncClient) -> Sent: ...
