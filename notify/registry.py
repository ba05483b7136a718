"""Channel driver registry. A driver that fails to import fails start-up."""

from __future__ import annotations

from types import ModuleType

from . import email, opsgenie, pagerduty, slack, teams, webhook

CHANNEL_TYPES: dict[str, ModuleType] = {d.TYPE: d for d in (webhook, slack, email, pagerduty, opsgenie, teams)}
