"""The notify stage: one delivery per (incident version, channel), claimed in the
ledger before sending so a redelivered or replayed event never sends twice.

A follow-up (the late analysis of a version first notified as "analysis pending")
is a delivery of its own, key `…:update` (notify/base.py delivery_key), sent
once like any other; only lanes with the follow-up stage send it, and only to
channels whose driver takes follow-ups (FOLLOW_UPS), the others record it skipped.

A failed attempt never blocks the partition: a retryable failure is published
to a delay topic (streams/notify_retry.py waits and comes back here), a
permanent one or one out of attempts/age goes to notify.dlq with its reason.

The agent takes analyses in batches. A batch's deliveries are claimed in one
transaction, sent concurrently, and their results, retry and dead-letter records
published together; only once the broker has those does the ledger record the
outcomes (a `retrying` row always has its retry record). Deliveries that decide
each other (one incident and channel) go in successive waves, in input order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import faust

from alertstream.config import Settings
from alertstream.errors import Permanent, Retryable
from alertstream.notify.base import ChannelConfig, Delivery, key_of
from alertstream.notify.breaker import Breakers
from alertstream.notify.channels import ChannelDirectory, Loader
from alertstream.notify.outbound import allow_list, make_outbound
from alertstream.notify.registry import CHANNEL_TYPES, takes_follow_ups
from alertstream.notify.retry import GiveUp, RetryPolicy, plan_retry, tier_for
from alertstream.schemas.records import Analysis, NotificationResult, NotificationRetry
from alertstream.storage import deliveries

from .analysis.service import FOLLOW_UP_STAGE
from .check import Agent
from .context import Outbox, StageContext, processing, utcnow
from .producer import OutputError

log = logging.getLogger(__name__)

DLQ_TOPIC = "notify.dlq"
LEASE_MARGIN_S = 30.0
FOLLOW_UP_UNSUPPORTED = "follow_up_unsupported"  # the channel's vendor has no way to take an update
FOLLOW_UP_NOT_ASKED = "follow_up_not_asked"  # the lane has no follow-up stage: the update is stored only
# Sends of one batch in flight at once: within the outbound client's kept-alive connections, so a
# batch reuses them instead of opening (and dropping) a connection per extra request.
SEND_CONCURRENCY = 16


def retry_policy(settings: Settings) -> RetryPolicy:
    n = settings.notify
    return RetryPolicy(n.retry_delays_s, n.max_attempts, n.max_age_s)


def stored_channel_loader(ctx: StageContext) -> Loader | None:
    """Stored channels need the keyring; without ALERTSTREAM_SECRET_KEY only the env channel exists."""
    from alertstream.config import ConfigError
    from alertstream.storage import channels as channel_store
    from alertstream.storage.sealed import keyring_for

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
        self._sending = asyncio.Semaphore(SEND_CONCURRENCY)

    def _publish(self, known: dict[str, ChannelConfig]) -> None:
        """Stored channels join ctx.channels in place: the check stage validates lane channel names there."""
        for name in [n for n in self.ctx.channels if n not in known]:
            del self.ctx.channels[name]
        self.ctx.channels.update(known)

    async def refresh_channels(self) -> None:
        await self.directory.refresh()

    async def notify(self, analysis: Analysis) -> list[str | BaseException]:
        """The first attempt for every channel of the lane (each its own key), durable on return."""
        attempts = [Attempt(analysis, name) for name in dict.fromkeys(analysis.incident.lane.channels)]
        return await self.run(self.ctx.outbox(), attempts)

    async def attempt(self, analysis: Analysis, channel_name: str, attempt: int, first_at: datetime | None) -> str:
        """One attempt (the retry agents), its result durable when this returns."""
        [status] = await self.run(self.ctx.outbox(), [Attempt(analysis, channel_name, attempt, first_at)])
        if isinstance(status, BaseException):
            raise status
        return status

    async def run(self, out: Outbox, attempts: Sequence[Attempt]) -> list[str | BaseException]:
        """Every attempt's status, in order (an exception for an attempt that hit a bug)."""
        statuses: list[str | BaseException] = [""] * len(attempts)
        for wave in waves(attempts):
            done = await self._wave(out, [attempts[i] for i in wave])
            for i, status in zip(wave, done, strict=True):
                statuses[i] = status
        return statuses

    async def _wave(self, out: Outbox, attempts: list[Attempt]) -> list[str | BaseException]:
        started = utcnow()
        channels = [await self.directory.get(a.channel) for a in attempts]
        pool = await self.ctx.pool()
        # A follow-up for a channel that takes none: nothing to claim, so a replay skips it the same way.
        skips = [bool(a.analysis.follow_up and c is not None and not takes_follow_ups(c.type))
                 for a, c in zip(attempts, channels, strict=True)]
        claimable = [i for i, skip in enumerate(skips) if not skip]
        requests: dict[int, deliveries.ClaimRequest] = {}
        for i in claimable:
            a, channel = attempts[i], channels[i]
            incident = a.analysis.incident
            timeout = float((channel.settings.get("timeout_s") if channel else None) or 10.0)
            requests[i] = deliveries.ClaimRequest(
                a.key, incident.incident_id, incident.version, a.channel, channel.type if channel else "unknown",
                incident.trace_id, a.attempt, timeout * 3 + LEASE_MARGIN_S,
            )
        claimed = await deliveries.claim_many(pool, [requests[i] for i in claimable]) if claimable else []
        claims = dict(zip(claimable, claimed, strict=True))
        acted = dict(zip(claimable, await asyncio.gather(
            *(self._act(out, attempts[i], channels[i], claims[i]) for i in claimable), return_exceptions=True,
        ), strict=True))
        outcomes: list[deliveries.Outcome] = []
        statuses: list[str | BaseException] = []
        reason: str | None
        for i, a in enumerate(attempts):
            if skips[i]:
                channel_type, tries = channels[i].type, a.attempt  # type: ignore[union-attr]  # skips need a channel
                status, code, reason = "skipped", None, FOLLOW_UP_UNSUPPORTED
            else:
                done = acted[i]
                if isinstance(done, BaseException):
                    statuses.append(done)
                    continue
                status, code, reason, outcome = done
                if outcome is not None:
                    outcomes.append(outcome)
                channel_type, tries = requests[i].channel_type, claims[i].attempts
            statuses.append(status)
            incident = a.analysis.incident
            result = _result(a.key, a.analysis, a.channel, channel_type, status, tries, code, reason, started)
            with processing(a.event):
                value = await out.send("notifications.results", incident.incident_id, result)
                await out.ref(
                    trace_id=incident.trace_id, stage="notified", input_ref=f"analysis:{a.analysis.analysis_id}",
                    output_ref=f"delivery:{a.key}", content=value, started_at=started,
                    status={"sent": "ok", "duplicate": "skipped", "superseded": "skipped", "skipped": "skipped"}.get(
                        status, "error"),
                    error=reason,
                )
        # The results, retry and dead-letter records are durable before the ledger says so.
        await out.flush()
        await deliveries.record_outcomes(pool, outcomes)
        return statuses

    async def _act(self, out: Outbox, a: Attempt, channel: ChannelConfig | None, claim: deliveries.Claim
                   ) -> tuple[str, int | None, str | None, deliveries.Outcome | None]:
        """What the claim allows: send, schedule a later attempt, or nothing. (status, code, reason,
        the ledger outcome to record once the batch's records are durable)."""
        first_at = a.first_at or claim.first_attempt_at
        if claim.decision == "busy":  # a crashed sender's lease: come back when it expires
            await self._schedule(out, a.analysis, a.channel, a.attempt, first_at, "claim_busy", claim.wait_s + 1.0,
                                 topic=None)
            return "retrying", None, "claim_busy", None
        if not claim.should_send:
            return ("superseded" if claim.decision == "superseded" else "duplicate"), None, None, None
        return await self._send(out, a.analysis, a.key, a.channel, channel, claim.attempts, first_at)

    async def _send(
        self, out: Outbox, analysis: Analysis, key: str, name: str, channel: ChannelConfig | None, attempt: int,
        first_at: datetime,
    ) -> tuple[str, int | None, str | None, deliveries.Outcome]:
        try:
            if channel is None:
                raise Permanent("unknown_channel", name)
            if not channel.enabled:
                raise Permanent("channel_disabled", name)
            wait = self.breakers.wait_s(name, self.clock())
            if wait > 0:
                raise Retryable("circuit_open", retry_after=wait)
            try:
                async with self._sending:
                    sent = await CHANNEL_TYPES[channel.type].send(channel, Delivery(key, attempt, analysis),
                                                                  self.outbound)
            except Retryable:
                self.breakers.record(name, False, self.clock())
                raise
            self.breakers.record(name, True, self.clock())
        except Retryable as exc:
            plan = plan_retry(self.policy, attempt=attempt, first_attempt_at=first_at, now=utcnow(),
                              reason=exc.reason, retry_after_s=exc.retry_after, rand=self.rand)
            if isinstance(plan, GiveUp):
                return "dlq", None, plan.reason, await self._give_up(out, analysis, key, name, attempt, first_at,
                                                                     "dlq", plan.reason)
            await self._schedule(out, analysis, name, attempt + 1, first_at, exc.reason, plan.delay_s,
                                 topic=plan.topic)
            return "retrying", None, exc.reason, deliveries.Outcome(key, "retrying", None, exc.reason, attempt,
                                                                    plan.due_at)
        except Permanent as exc:
            return "failed", None, exc.reason, await self._give_up(out, analysis, key, name, attempt, first_at,
                                                                   "failed", exc.reason)
        return "sent", sent.status_code, None, deliveries.Outcome(key, "sent", sent.status_code, None, attempt)

    async def _schedule(self, out: Outbox, analysis: Analysis, channel: str, attempt: int, first_at: datetime,
                        reason: str, delay_s: float, topic: str | None) -> None:
        """The next attempt on its delay topic; the ledger says retrying only once it is durable, so a
        crash in between leaves a pending row whose lease expires, never a retrying row with no record."""
        now = utcnow()
        record = NotificationRetry(
            delivery_key=key_of(analysis, channel), channel=channel,
            attempt=attempt, first_attempt_at=first_at, due_at=now + timedelta(seconds=delay_s), reason=reason,
            analysis=analysis,
        )
        await out.send(topic or tier_for(delay_s, self.policy.delays_s), analysis.incident.incident_id, record)

    async def _give_up(self, out: Outbox, analysis: Analysis, key: str, channel: str, attempt: int,
                       first_at: datetime, status: str, reason: str) -> deliveries.Outcome:
        record = NotificationRetry(delivery_key=key, channel=channel, attempt=attempt, first_attempt_at=first_at,
                                   due_at=utcnow(), reason=reason, analysis=analysis)
        value = self.ctx.codec.encode(record)
        await out.send_raw(DLQ_TOPIC, analysis.incident.incident_id.encode(), value,
                           headers={"reason": reason.encode(), "status": status.encode()})
        log.warning("delivery %s gave up (%s): %s", key, status, reason)
        return deliveries.Outcome(key, status, None, reason, attempt, payload=value)

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
        async for events in ctx.batches(stream):
            out = ctx.outbox()
            attempts: list[Attempt] = []
            for event in events:
                started = utcnow()
                analysis: Analysis | None = await out.decoded("incidents.analyses", event.key, event.value)
                if analysis is None:
                    continue
                incident = analysis.incident
                skipped = not_notified(analysis)
                if skipped is not None:
                    with processing(event):
                        await out.ref(
                            trace_id=incident.trace_id, stage="notified",
                            input_ref=f"analysis:{analysis.analysis_id}", output_ref="delivery:none",
                            content=b"", started_at=started, status="skipped", error=skipped or None,
                        )
                    continue
                attempts.extend(Attempt(analysis, name, event=event)
                                for name in dict.fromkeys(incident.lane.channels))
            try:
                statuses: list[str | BaseException] = await notifier.run(out, attempts)  # flushes `out`
            except OutputError:
                raise  # the broker refused: nothing of this batch is marked done
            except Exception as error:  # the ledger (or a bug) failed the batch: each analysis is kept in the DLQ
                statuses = [error] * len(attempts)
            failed = {id(a.event): (a, s) for a, s in zip(attempts, statuses, strict=True)
                      if isinstance(s, BaseException)}
            for a, bug in failed.values():
                incident = a.analysis.incident
                log.error("notify failed on incident %s v%s", incident.incident_id, incident.version, exc_info=bug)
                await out.dead_letter("incidents.analyses", a.event.key, a.event.value, f"bug: {type(bug).__name__}")
            await out.flush()

    return notify


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt of an analysis to one channel."""

    analysis: Analysis
    channel: str
    attempt: int = 1
    first_at: datetime | None = None
    event: Any = field(default_factory=faust.current_event)  # the input event: its partition's audit chain

    @property
    def key(self) -> str:
        return key_of(self.analysis, self.channel)


def waves(attempts: Sequence[Attempt]) -> list[list[int]]:
    """Indexes of `attempts` in waves: no wave holds two attempts for one incident and channel (one
    may decide the other: a duplicate, or a newer version that supersedes), and each such pair keeps
    its input order across waves."""
    out: list[list[int]] = []
    depth: dict[tuple[str, str], int] = {}
    for i, a in enumerate(attempts):
        group = (a.analysis.incident.incident_id, a.channel)
        level = depth.get(group, 0)
        depth[group] = level + 1
        if level == len(out):
            out.append([])
        out[level].append(i)
    return out


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
