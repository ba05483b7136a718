"""The retry side of the notify stage: one agent per delay topic (notify.retry.30s,
.5m, .1h). Each record waits until its due time, then makes its attempt through
the same idempotent path as the first (streams/deliver.py: ledger claim, send).

A held record blocks only its own delay topic, never incidents.analyses. It is
held at most HOLD_S at a time (faust calls an event that takes longer a slow
consumer): a record not yet due after that is published again to its topic and
the held one acknowledged. While a rebalance or shutdown is under way (faust
suspends flow control), nothing is held either: the record goes back to its
topic at once, so the rebalance never waits on a sleeping retry. A copy made
that way is harmless: the ledger lets only one attempt of a delivery send.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import faust

from alertstream.schemas.records import NotificationRetry

from .check import Agent
from .context import StageContext, utcnow
from .deliver import Notifier

log = logging.getLogger(__name__)

HOLD_S = 240.0
STEP_S = 0.25


async def wait_until_due(due_at: datetime, active: faust.App | None, hold_s: float = HOLD_S) -> bool:
    """Sleep until due_at; False when we stopped holding first (hold limit, or flow suspended)."""
    held = 0.0
    while True:
        remaining = (due_at - utcnow()).total_seconds()
        if remaining <= 0:
            return True
        if held >= hold_s or (active is not None and not active.flow_control.is_active()):
            return False
        step = min(STEP_S, remaining)
        await asyncio.sleep(step)
        held += step


def make_retry_agent(ctx: StageContext, notifier: Notifier, topic: str, app: faust.App | None = None) -> Agent:
    async def retry(stream: faust.StreamT) -> None:
        async for event in stream.events():
            record: NotificationRetry | None = await ctx.decoded(topic, event.key, event.value)
            if record is None:
                continue
            try:
                if not await wait_until_due(record.due_at, app):
                    await ctx.send_raw(topic, event.key or b"", event.value)  # not due yet: back in line
                    continue
                await notifier.attempt(record.analysis, record.channel, record.attempt, record.first_attempt_at)
            except Exception as exc:
                log.exception("retry of %s failed", record.delivery_key)
                await ctx.dead_letter(topic, event.key, event.value, f"bug: {type(exc).__name__}")

    retry.__name__ = topic.replace(".", "_")
    return retry
