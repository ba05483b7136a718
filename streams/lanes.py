"""Routing: which stages and channels an incident event goes through. Pure."""

from __future__ import annotations

from alertstream.schemas.records import Lane

ALL_CLEAR = "all-clear"
CATCH_ALL = "catch-all"


def decide_lane(status: str, channels: list[str]) -> Lane:
    """Resolutions skip analysis (nothing to diagnose); everything else is analyzed, then notified."""
    if status in ("resolved", "closed"):
        return Lane(ALL_CLEAR, ["notify"], list(channels))
    return Lane(CATCH_ALL, ["analyze", "notify"], list(channels))
