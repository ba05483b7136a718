"""Channel driver registry. A driver that fails to import fails start-up."""

from __future__ import annotations

from types import ModuleType

from . import email, opsgenie, pagerduty, slack, teams, webhook

CHANNEL_TYPES: dict[str, ModuleType] = {d.TYPE: d for d in (webhook, slack, email, pagerduty, opsgenie, teams)}


def takes_follow_ups(channel_type: str) -> bool:
    """Whether a channel of this type is sent follow-ups (notify/base.py FOLLOW_UPS); an unknown
    type is left to the send path, which reports it."""
    driver = CHANNEL_TYPES.get(channel_type)
    return bool(driver.FOLLOW_UPS) if driver is not None else True
