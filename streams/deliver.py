"""The notify stage: one delivery per (incident version, channel), claimed in the
ledger before sending so a redelivered or replayed event never sends twice."""

from __future__ import annotations

import logging

import faust

from alertstream.errors import Permanent, Retryable
from alertstream.notify.base import Delivery
from alertstream.notify.registry import CHANNEL_TYPES
from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import Analysis, NotificationResult
from alertstream.storage import deliveries

from .check import Agent
from .context import StageContext, utcnow

log = logging.getLogger(__name__)


def make_notify_agent(ctx: StageContext) -> Agent:
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
                if "notify" not in incident.lane.stages or not incident.lane.channels:
                    await ctx.ref(
                        trace_id=incident.trace_id, stage="notified",
                        input_ref=f"analysis:{analysis.analysis_id}", output_ref="delivery:none",
                        content=b"", started_at=started, status="skipped",
                    )
                    continue
                for channel_name in incident.lane.channels:
                    await deliver_one(ctx, analysis, channel_name)
            except Exception as exc:
                log.exception("notify failed on incident %s v%s", incident.incident_id, incident.version)
                await ctx.dead_letter("incidents.analyses", event.key, event.value, f"bug: {type(exc).__name__}")

    return notify


async def deliver_one(ctx: StageContext, analysis: Analysis, channel_name: str) -> None:
    incident = analysis.incident
    started = utcnow()
    key = f"{incident.incident_id}:{incident.version}:{channel_name}"
    channel = ctx.channels.get(channel_name)
    channel_type = channel.type if channel else "unknown"
    pool = await ctx.pool()
    claim = await deliveries.claim(
        pool, delivery_key=key, incident_id=incident.incident_id, incident_version=incident.version,
        channel=channel_name, channel_type=channel_type, trace_id=incident.trace_id,
    )
    if not claim.should_send:
        result = _result(key, analysis, channel_name, channel_type, "duplicate", claim.attempts, None, None, started)
    else:
        status, code, reason = "sent", None, None
        try:
            if channel is None:
                raise Permanent("unknown_channel", channel_name)
            sent = await CHANNEL_TYPES[channel.type].send(channel, Delivery(key, claim.attempts, analysis), ctx.http())
            code = sent.status_code
        except Retryable as exc:
            status, reason = "failed", exc.reason  # delay-topic retries come with the notify stage's own issue
        except Permanent as exc:
            status, reason = "failed", exc.reason
        await deliveries.record_outcome(pool, key, status, code, reason)
        result = _result(key, analysis, channel_name, channel_type, status, claim.attempts, code, reason, started)
    value = await ctx.send("notifications.results", incident.incident_id, result)
    await ctx.ref(
        trace_id=incident.trace_id, stage="notified", input_ref=f"analysis:{analysis.analysis_id}",
        output_ref=f"delivery:{key}", content=value, started_at=started,
        status={"sent": "ok", "duplicate": "skipped"}.get(result.status, "error"), error=result.reason,
    )


def _result(
    key: str, analysis: Analysis, channel: str, channel_type: str, status: str, attempt: int,
    code: int | None, reason: str | None, started: object,
) -> NotificationResult:
    incident = analysis.incident
    return NotificationResult(
        delivery_key=key, incident_id=incident.incident_id, incident_version=incident.version, channel=channel,
        channel_type=channel_type, trace_id=incident.trace_id, status=status, attempt=attempt, status_code=code,
        reason=reason, started_at=started, finished_at=utcnow(),  # type: ignore[arg-type]
    )
