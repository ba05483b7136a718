"""The notify stage: one delivery per (incident version, channel), claimed in the
ledger before sending so a redelivered or replayed event never sends twice.

A follow-up (the late analysis of a version first notified as "analysis pending")
is a delivery of its own, key `…:update` (notify/base.py delivery_key), sent
once like any other; only lanes with the follow-up stage send it, and only to
channels whose driver takes follow-ups (FOLLOW_UPS), the others record it skipped.

A failed attempt never blocks the partition: a retryable failure is published
to a delay topic (streams/notify_retry.py waits and comes back here), a
permanent one or one out of attempts/age goes to notify.dlq with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import faust
from alertstream.notify.base import ChannelConfig, Delivery, key_of
from alertstream.notify.breaker import Breakers
from alertstream.notify.channels import ChannelDirectory, Loader
from alertstream.notify.outbound import allow_list, make_outbound
from alertstream.notify.registry import CHANNEL_TYPES, takes_follow_ups
from alertstream.notify.retry import GiveUp, RetryPolicy, plan_retry, tier_for
from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import Analysis, NotificationResult, NotificationRetry
from alertstream.storage import deliveries

from alertstream.config import Settings
from alertstream.errors import Permanent, Retryable

from .analysis.service import FOLLOW_UP_STAGE
from .check import Agent
from .context import StageContext, utcnow

log = logging.getLogger(__name__)

DLQ_TOPIC = "notify.dlq"
LEASE_MARGIN_S = 30.0
FOLLOW_UP_UNSUPPORTED = "follow_up_unsupported"  # the channel's vendor has no way to take an update
FOLLOW_UP_NOT_ASKED = "follow_up_not_asked"  # the lane has no follow-up stage: the update is stored only


def retry_policy(settings: Settings) -> RetryPolicy:
    n = settings.notify
    return RetryPolicy(n.retry_delays_s, n.max_attempts, n.max_age_s)


def stored_channel_loader(ctx: StageContext) -> Loader | None:
    """Stored channels need the keyring; without ALERTSTREAM_SECRET_KEY only the env channel exists."""
    from alertstream.storage import channels as channel_store
    from alertstream.storage.sealed import keyring_for

    from alertstream.config import ConfigError

    try:
        keyring = keyring_for(ctx.settings)
    except ConfigError:
        log.warning("ALERTSTREAM_SECRET_KEY is not set: stored channels are not loaded, only %s",
                    sorted(ctx.channels) or "none")
        return None

    async def load() -> dict[str, ChannelConfig]:
        return await channel_store.load(await ctx.pool(), keyring)

    return load


class Notifier:
    """Everything one delivery attempt needs, shared by the notify agent and the retry agents."""

    def __init__(self, ctx: StageContext, clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random) -> None:
        notify = ctx.settings.notify
        self.ctx = ctx
        self.policy = retry_policy(ctx.settings)
        self.breakers = Breakers(notify.breaker_failures, notify.breaker_cooldown_s)
        loader = stored_channel_loader(ctx)
        self.directory = ChannelDirectory(ctx.channels, loader, notify.channel_refresh_s, publish=self._publish)
        self.outbound = make_outbound(allow_list(notify.outbound_allow, ctx.settings.worker.webhook_url))
        self.clock = clock
        self.rand = rand

    def _publish(self, known: dict[str, ChannelConfig]) -> None:
        """Stored channels join ctx.channels in place: the check stage validates lane channel names there."""
        for name in [n for n in self.ctx.channels if n not in known]:
            del self.ctx.channels[name]
        self.ctx.channels.update(known)

    async def refresh_channels(self) -> None:
        await self.directory.refresh()

    async def notify(self, analysis: Analysis) -> None:
        """The first attempt for every channel of the lane, concurrently (each has its own key)."""
        channels = list(dict.fromkeys(analysis.incident.lane.channels))
        await asyncio.gather(*(self.attempt(analysis, name, 1, None) for name in channels))

    async def attempt(self, analysis: Analysis, channel_name: str, attempt: int, first_at: datetime | None) -> str:
        incident = analysis.incident
        started = utcnow()
        key = key_of(analysis, channel_name)
        channel = await self.directory.get(channel_name)
        channel_type = channel.type if channel else "unknown"
        if analysis.follow_up and channel is not None and not takes_follow_ups(channel_type):
            # Nothing to claim: the channel never sends follow-ups, so a replay skips it the same way.
            result = _result(key, analysis, channel_name, channel_type, "skipped", attempt, None,
                             FOLLOW_UP_UNSUPPORTED, started)
            value = await self.ctx.send("notifications.results", incident.incident_id, result)
            await self.ctx.ref(
                trace_id=incident.trace_id, stage="notified", input_ref=f"analysis:{analysis.analysis_id}",
                output_ref=f"delivery:{key}", content=value, started_at=started, status="skipped",
                error=FOLLOW_UP_UNSUPPORTED,
            )
            return "skipped"
        timeout = float((channel.settings.get("timeout_s") if channel else None) or 10.0)
        pool = await self.ctx.pool()
        claim = await deliveries.claim(
            pool, delivery_key=key, incident_id=incident.incident_id, incident_version=incident.version,
            channel=channel_name, channel_type=channel_type, trace_id=incident.trace_id, attempt=attempt,
            lease_s=timeout * 3 + LEASE_MARGIN_S,
        )
        first_at = first_at or claim.first_attempt_at
        code: int | None = None
        if claim.decision == "busy":  # a crashed sender's lease: come back when it expires
            await self._schedule(analysis, channel_name, attempt, first_at, "claim_busy", claim.wait_s + 1.0,
                                 topic=None)
            status, reason = "retrying", "claim_busy"
        elif not claim.should_send:
            status, reason = ("superseded" if claim.decision == "superseded" else "duplicate"), None
        else:
            status, code, reason = await self._send(analysis, key, channel_name, channel, claim.attempts, first_at)
        result = _result(key, analysis, channel_name, channel_type, status, claim.attempts, code, reason, started)
        value = await self.ctx.send("notifications.results", incident.incident_id, result)
        await self.ctx.ref(
            trace_id=incident.trace_id, stage="notified", input_ref=f"analysis:{analysis.analysis_id}",
            output_ref=f"delivery:{key}", content=value, started_at=started,
            status={"sent": "ok", "duplicate": "skipped", "superseded": "skipped"}.get(status, "error"),
            error=reason,
        )
        return status

    async def _send(
        self, analysis: Analysis, key: str, name: str, channel: ChannelConfig | None, attempt: int, first_at: datetime
    ) -> tuple[str, int | None, str | None]:
        pool = await self.ctx.pool()
        try:
            if channel is None:
                raise Permanent("unknown_channel", name)
            if not channel.enabled:
                raise Permanent("channel_disabled", name)
            wait = self.breakers.wait_s(name, self.clock())
            if wait > 0:
                raise Retryable("circuit_open", retry_after=wait)
            try:
                sent = await CHANNEL_TYPES[channel.type].send(channel, Delivery(key, attempt, analysis), self.outbound)
            except Retryable:
                self.breakers.record(name, False, self.clock())
                raise
            self.breakers.record(name, True, self.clock())
        except Retryable as exc:
            plan = plan_retry(self.policy, attempt=attempt, first_attempt_at=first_at, now=utcnow(),
                              reason=exc.reason, retry_after_s=exc.retry_after, rand=self.rand)
            if isinstance(plan, GiveUp):
                await self._give_up(analysis, key, name, attempt, first_at, "dlq", plan.reason)
                return "dlq", None, plan.reason
            await self._schedule(analysis, name, attempt + 1, first_at, exc.reason, plan.delay_s, topic=plan.topic)
            await deliveries.record_outcome(pool, key, "retrying", None, exc.reason, attempt=attempt,
                                            next_attempt_at=plan.due_at)
            return "retrying", None, exc.reason
        except Permanent as exc:
            await self._give_up(analysis, key, name, attempt, first_at, "failed", exc.reason)
            return "failed", None, exc.reason
        await deliveries.record_outcome(pool, key, "sent", sent.status_code, None, attempt=attempt)
        return "sent", sent.status_code, None

    async def _schedule(self, analysis: Analysis, channel: str, attempt: int, first_at: datetime, reason: str,
                        delay_s: float, topic: str | None) -> None:
        """Publish the next attempt to its delay topic *before* the ledger says retrying: a crash
        in between leaves a pending row whose lease expires, never a retrying row with no record."""
        now = utcnow()
        record = NotificationRetry(
            delivery_key=key_of(analysis, channel), channel=channel,
            attempt=attempt, first_attempt_at=first_at, due_at=now + timedelta(seconds=delay_s), reason=reason,
            analysis=analysis,
        )
        await self.ctx.send(topic or tier_for(delay_s, self.policy.delays_s), analysis.incident.incident_id, record)

    async def _give_up(self, analysis: Analysis, key: str, channel: str, attempt: int, first_at: datetime,
                       status: str, reason: str) -> None:
        record = NotificationRetry(delivery_key=key, channel=channel, attempt=attempt, first_attempt_at=first_at,
                                   due_at=utcnow(), reason=reason, analysis=analysis)
        value = self.ctx.codec.encode(record)
        await self.ctx.send_raw(DLQ_TOPIC, analysis.incident.incident_id.encode(), value,
                                headers={"reason": reason.encode(), "status": status.encode()})
        await deliveries.record_outcome(await self.ctx.pool(), key, status, None, reason, attempt=attempt,
                                        payload=value)
        log.warning("delivery %s gave up (%s): %s", key, status, reason)

    async def close(self) -> None:
        await self.outbound.http.aclose()


def is_muted(analysis: Analysis) -> bool:
    """Silenced or held back by grouping: recorded by the check stage, not notified."""
    incident = analysis.incident
    return bool(getattr(incident, "silenced_by", None)) or getattr(incident, "held_until", None) is not None


def not_notified(analysis: Analysis) -> str | None:
    """Why this analysis sends nothing ("" when there is simply nothing to send), or None to notify."""
    incident = analysis.incident
    if "notify" not in incident.lane.stages or not incident.lane.channels or is_muted(analysis):
        return ""
    if analysis.follow_up and FOLLOW_UP_STAGE not in incident.lane.stages:
        return FOLLOW_UP_NOT_ASKED
    return None


def make_notify_agent(ctx: StageContext, notifier: Notifier | None = None) -> Agent:
    notifier = notifier or Notifier(ctx)

    async def notify(stream: faust.StreamT) -> None:
        async for event in stream.events():
            started = utcnow()
            try:
                analysis: Analysis = ctx.codec.decode(event.value)
            except SchemaError as exc:
                await ctx.dead_letter("incidents.analyses", event.key, event.value, f"schema: {exc}")
                continue
            incident = analysis.incident
            try:
                skipped = not_notified(analysis)
                if skipped is not None:
                    await ctx.ref(
                        trace_id=incident.trace_id, stage="notified",
                        input_ref=f"analysis:{analysis.analysis_id}", output_ref="delivery:none",
                        content=b"", started_at=started, status="skipped", error=skipped or None,
                    )
                    continue
                await notifier.notify(analysis)
            except Exception as exc:
                log.exception("notify failed on incident %s v%s", incident.incident_id, incident.version)
                await ctx.dead_letter("incidents.analyses", event.key, event.value, f"bug: {type(exc).__name__}")

    return notify


def _result(
    key: str, analysis: Analysis, channel: str, channel_type: str, status: str, attempt: int,
    code: int | None, reason: str | None, started: datetime,
) -> NotificationResult:
    incident = analysis.incident
    return NotificationResult(
        delivery_key=key, incident_id=incident.incident_id, incident_version=incident.version, channel=channel,
        channel_type=channel_type, trace_id=incident.trace_id, status=status, attempt=attempt, status_code=code,
        reason=reason, started_at=started, finished_at=utcnow(),
    )
