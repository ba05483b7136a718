"""Which channels exist: the env-configured default webhook (ALERTSTREAM_WEBHOOK_URL,
named `default-webhook`) plus the channels stored in PostgreSQL, sealed.

`validate_channel` is what every save goes through (CLI and API): a known type,
the driver's own validation, and the outbound URL guard. `ChannelDirectory` is
the worker's view: stored channels reloaded every ALERTSTREAM_CHANNEL_REFRESH_S,
and at once (at most once a second) when a lane names a channel it does not know.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from alertstream.config import WorkerSettings
from alertstream.errors import Permanent
from alertstream.ssrf import AllowList

from .base import ChannelConfig
from .outbound import check_channel_urls
from .registry import CHANNEL_TYPES

log = logging.getLogger(__name__)

DEFAULT_WEBHOOK = "default-webhook"
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
Loader = Callable[[], Awaitable[dict[str, ChannelConfig]]]


def channels_from_settings(settings: WorkerSettings) -> dict[str, ChannelConfig]:
    channels: dict[str, ChannelConfig] = {}
    if settings.webhook_url:
        channels[DEFAULT_WEBHOOK] = ChannelConfig(
            DEFAULT_WEBHOOK, "webhook", {"url": settings.webhook_url, "timeout_s": settings.webhook_timeout_s}
        )
    for channel in channels.values():
        if channel.type not in CHANNEL_TYPES:
            raise ValueError(f"channel {channel.name!r} has unknown type {channel.type!r}")
    return channels


def validate_channel(
    name: object, channel_type: object, settings: Mapping[str, Any], allow: AllowList
) -> ChannelConfig:
    """The normalised channel, or Permanent('invalid_config' | 'ssrf_blocked', why)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise Permanent("invalid_config", "name must be 1-63 of a-z 0-9 _ . - starting with a letter or digit")
    if name == DEFAULT_WEBHOOK:
        raise Permanent("invalid_config", f"{DEFAULT_WEBHOOK} is configured by ALERTSTREAM_WEBHOOK_URL")
    driver = CHANNEL_TYPES.get(channel_type) if isinstance(channel_type, str) else None
    if driver is None:
        raise Permanent("invalid_config", f"unknown type {channel_type!r}; known: {sorted(CHANNEL_TYPES)}")
    if not isinstance(settings, Mapping):
        raise Permanent("invalid_config", "settings must be an object")
    normalised = driver.validate(settings)
    check_channel_urls(normalised, allow)
    return ChannelConfig(name, str(channel_type), normalised)


def summary(channel: ChannelConfig) -> str:
    """A description with no secret in it: the host a channel talks to."""
    s = channel.settings
    if channel.type == "email":
        return f"{s.get('host')}:{s.get('port')} ({s.get('security')}) -> {len(s.get('to') or [])} recipient(s)"
    url = s.get("base_url") or s.get("url") or ""
    try:
        return httpx.URL(url).host or ""
    except (httpx.InvalidURL, TypeError):
        return ""


def redacted(channel: ChannelConfig) -> dict[str, Any]:
    secret_fields = CHANNEL_TYPES[channel.type].SECRET_FIELDS
    return {k: ("***" if k in secret_fields and v else v) for k, v in channel.settings.items()}


class ChannelDirectory:
    def __init__(
        self, fixed: Mapping[str, ChannelConfig], load: Loader | None, refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
        publish: Callable[[dict[str, ChannelConfig]], None] | None = None,
    ) -> None:
        self.fixed = dict(fixed)
        self._publish = publish  # told every known channel after each reload (the check stage's lanes use names)
        self._load = load
        self._refresh_s = refresh_s
        self._clock = clock
        self._stored: dict[str, ChannelConfig] = {}
        self._loaded_at: float | None = None

    async def get(self, name: str) -> ChannelConfig | None:
        if name in self.fixed:
            return self.fixed[name]
        now = self._clock()
        stale = self._loaded_at is None or now - self._loaded_at >= self._refresh_s
        unknown_and_may_look = name not in self._stored and (self._loaded_at is None or now - self._loaded_at >= 1.0)
        if self._load is not None and (stale or unknown_and_may_look):
            await self._reload(now)
        return self._stored.get(name)

    async def refresh(self) -> None:
        if self._load is not None:
            await self._reload(self._clock())

    async def _reload(self, now: float) -> None:
        assert self._load is not None
        try:
            self._stored = await self._load()
            if self._publish is not None:
                self._publish({**self._stored, **self.fixed})
        except Exception as exc:  # keep the last good set: deliveries go on through a database blip
            log.warning("reloading stored channels failed (%s); keeping %d known", type(exc).__name__,
                        len(self._stored))
        self._loaded_at = now
