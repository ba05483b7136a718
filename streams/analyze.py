"""The analyze stage: add a probable cause and recommendations, under a deadline that
never holds back a page.

The provider runs as a background task; the agent waits for it only until the
lane's deadline (counted from when check produced the event, so a backlog does
not stack deadlines). Past it, the Analysis goes out at once as `unavailable`,
or `pending` when the lane asks for a follow-up (FOLLOW_UP_STAGE); the late
result is stored, cached, and, for a pending one, published as an update with
`follow_up`. The local rules need no waiting and are never late.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import faust
from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import Analysis, IncidentEvent

from .analysis.engine import Outcome
from .analysis.service import (
    FOLLOW_UP_STAGE,
    AnalysisService,
    missing_record,
    output_ref,
    ref_status,
    to_record,
)
from .check import Agent
from .context import StageContext, utcnow

log = logging.getLogger(__name__)


def lane_deadline(lane_deadline_s: float | None, default_s: float) -> float:
    """The lane's own deadline (lanes file: analysis_deadline), else the worker's."""
    return default_s if lane_deadline_s is None else lane_deadline_s


def remaining_deadline(deadline_s: float, produced_at: float | None, now: float) -> float:
    """What is left of the lane's deadline for an event produced at `produced_at` (epoch seconds)."""
    if not produced_at or produced_at <= 0:
        return deadline_s
    waited = min(max(now - produced_at, 0.0), deadline_s)
    return deadline_s - waited


async def publish(ctx: StageContext, analysis: Analysis, started: object) -> None:
    incident = analysis.incident
    value = await ctx.send("incidents.analyses", incident.incident_id, analysis)
    status, error = ref_status(analysis)
    await ctx.ref(
        trace_id=incident.trace_id, stage="analyzed", input_ref=f"incident:{incident.incident_id}@{incident.version}",
        output_ref=output_ref(analysis), content=value, started_at=started,  # type: ignore[arg-type]
        status=status, error=error,
    )


async def analyze_one(
    ctx: StageContext, service: AnalysisService, incident: IncidentEvent, budget_s: float
) -> Analysis:
    """Publish the analysis of one incident event within `budget_s`; returns what was published."""
    started = utcnow()
    analyzer = service.analyzer
    if "analyze" not in incident.lane.stages:
        analysis = missing_record(incident, "skipped", "none", "", started, utcnow())
        await publish(ctx, analysis, started)
        return analysis
    if analyzer.runtime is None:  # the rules alone: immediate, never late
        task: asyncio.Task[Outcome] | None = None
        outcome = await _safely(analyzer.analyze(incident), incident)
    else:
        task = service.spawn(analyzer.analyze(incident), force=True)
        done, _ = await asyncio.wait({task}, timeout=max(budget_s, 0.0))
        outcome = await _safely(task, incident) if task in done else None
    if outcome is not None:
        analysis = to_record(incident, outcome, started, utcnow())
        await publish(ctx, analysis, started)
        service.record_later(analysis, outcome)
        return analysis
    if task is None or task.done():  # a bug in the analysis: the page goes out without one
        analysis = missing_record(incident, "unavailable", analyzer.provider, "bug", started, utcnow())
        await publish(ctx, analysis, started)
        return analysis
    follow_up = FOLLOW_UP_STAGE in incident.lane.stages
    analysis = missing_record(incident, "pending" if follow_up else "unavailable", analyzer.provider, "deadline",
                              started, utcnow())
    await publish(ctx, analysis, started)
    service.record_later(analysis, None)
    try:
        service.spawn(finish_late(ctx, service, incident, task, started, follow_up))
    except OverflowError:
        log.warning("not following up incident %s: too many late analyses", incident.incident_id)
    return analysis


async def _safely(analysis: Awaitable[Outcome], incident: IncidentEvent) -> Outcome | None:
    """The outcome, or None after logging a bug: an analysis bug must never cost the page."""
    try:
        return await analysis
    except Exception:
        log.exception("analysis of incident %s v%s failed", incident.incident_id, incident.version)
        return None


async def finish_late(
    ctx: StageContext, service: AnalysisService, incident: IncidentEvent, task: asyncio.Task[Outcome],
    started: object, follow_up: bool,
) -> None:
    """The provider's answer after the deadline: stored (and cached by the analyzer); published
    as an update only when the lane asked for one."""
    outcome = await task
    update = to_record(incident, outcome, started, utcnow(), update=True, follow_up=follow_up)  # type: ignore[arg-type]
    if follow_up:
        await publish(ctx, update, started)
    await service.save(update, outcome)


def make_analyze_agent(ctx: StageContext, service: AnalysisService | None = None) -> Agent:
    default_deadline = ctx.settings.worker.analysis_deadline_s

    async def analyze(stream: faust.StreamT) -> None:
        nonlocal service
        if service is None:
            service = AnalysisService(ctx.settings, ctx.pool)
        service.start()
        async for event in stream.events():
            try:
                incident: IncidentEvent = ctx.codec.decode(event.value)
            except SchemaError as exc:
                await ctx.dead_letter("incidents.events", event.key, event.value, f"schema: {exc}")
                continue
            try:
                deadline = lane_deadline(incident.lane.analysis_deadline_s, default_deadline)
                budget = remaining_deadline(deadline, event.message.timestamp, time.time())
                await analyze_one(ctx, service, incident, budget)
            except Exception as exc:
                log.exception("analyze failed on incident event %s", incident.event_id)
                await ctx.dead_letter("incidents.events", event.key, event.value, f"bug: {type(exc).__name__}")

    return analyze
