"""Which channels exist. Until channels are stored (issue 6), the one channel is the
webhook named by ALERTSTREAM_WEBHOOK_URL."""

from __future__ import annotations

from alertstream.config import WorkerSettings

from .base import ChannelConfig
from .registry import CHANNEL_TYPES

DEFAULT_WEBHOOK = "default-webhook"


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
