"""The analyze stage: add a probable cause and recommendations, under a deadline that
never holds back a page.

The provider runs as a background task; the agent waits for it only until the
lane's deadline (counted from when check produced the event, so a backlog does
not stack deadlines). Past it, the Analysis goes out at once as `unavailable`,
or `pending` when the lane asks for a follow-up (FOLLOW_UP_STAGE); the late
result is stored, cached, and, for a pending one, published as an update with
`follow_up`. The local rules need no waiting and are never late.

The agent takes a batch of events, works out their analyses concurrently (each under
its own deadline, so the batch waits at most for the longest one), publishes them in
input order and waits for the broker once for the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import faust

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
from .context import StageContext, processing, utcnow

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


class Emitter(Protocol):
    """Where analyses go: the stage context (each durable on return) or a batch's outbox."""

    async def send(self, topic: str, key: str, record: Any) -> bytes: ...

    async def ref(self, *, trace_id: str, stage: str, input_ref: str, output_ref: str, content: bytes,
                  started_at: datetime, status: str = "ok", error: str | None = None) -> None: ...


async def publish(out: Emitter, analysis: Analysis, started: object) -> None:
    incident = analysis.incident
    value = await out.send("incidents.analyses", incident.incident_id, analysis)
    status, error = ref_status(analysis)
    await out.ref(
        trace_id=incident.trace_id, stage="analyzed", input_ref=f"incident:{incident.incident_id}@{incident.version}",
        output_ref=output_ref(analysis), content=value, started_at=started,  # type: ignore[arg-type]
        status=status, error=error,
    )


@dataclass(frozen=True)
class Decision:
    """What to publish for one incident event, and what follows once it is out."""

    incident: IncidentEvent
    analysis: Analysis
    started: datetime
    outcome: Outcome | None = None
    store: bool = False  # keep a stored copy (record_later)
    late: asyncio.Task[Outcome] | None = None  # the provider still working past the deadline


async def decide(service: AnalysisService, incident: IncidentEvent, budget_s: float) -> Decision:
    """The analysis of one incident event within `budget_s` (nothing published yet)."""
    started = utcnow()
    analyzer = service.analyzer
    if "analyze" not in incident.lane.stages:
        return Decision(incident, missing_record(incident, "skipped", "none", "", started, utcnow()), started)
    if analyzer.runtime is None:  # the rules alone: immediate, never late
        task: asyncio.Task[Outcome] | None = None
        outcome = await _safely(analyzer.analyze(incident), incident)
    else:
        task = service.spawn(analyzer.analyze(incident), force=True)
        done, _ = await asyncio.wait({task}, timeout=max(budget_s, 0.0))
        outcome = await _safely(task, incident) if task in done else None
    if outcome is not None:
        return Decision(incident, to_record(incident, outcome, started, utcnow()), started, outcome, store=True)
    if task is None or task.done():  # a bug in the analysis: the page goes out without one
        return Decision(incident, missing_record(incident, "unavailable", analyzer.provider, "bug", started,
                                                 utcnow()), started)
    follow_up = FOLLOW_UP_STAGE in incident.lane.stages
    analysis = missing_record(incident, "pending" if follow_up else "unavailable", analyzer.provider, "deadline",
                              started, utcnow())
    return Decision(incident, analysis, started, store=True, late=task)


def after_publish(ctx: StageContext, service: AnalysisService, decision: Decision) -> None:
    """Once the analysis is durable: its stored copy, and the late answer's follow-up."""
    if decision.store:
        service.record_later(decision.analysis, decision.outcome)
    if decision.late is None:
        return
    follow_up = FOLLOW_UP_STAGE in decision.incident.lane.stages
    try:
        service.spawn(finish_late(ctx, service, decision.incident, decision.late, decision.started, follow_up))
    except OverflowError:
        log.warning("not following up incident %s: too many late analyses", decision.incident.incident_id)


async def analyze_one(
    ctx: StageContext, service: AnalysisService, incident: IncidentEvent, budget_s: float
) -> Analysis:
    """Publish the analysis of one incident event within `budget_s`; returns what was published."""
    decision = await decide(service, incident, budget_s)
    await publish(ctx, decision.analysis, decision.started)
    after_publish(ctx, service, decision)
    return decision.analysis


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

    async def one(svc: AnalysisService, event: Any) -> Decision | None:
        """The decision for one event; None when the event was dead-lettered instead."""
        incident: IncidentEvent | None = await ctx.decoded("incidents.events", event.key, event.value)
        if incident is None:
            return None
        try:
            deadline = lane_deadline(incident.lane.analysis_deadline_s, default_deadline)
            return await decide(svc, incident, remaining_deadline(deadline, event.message.timestamp, time.time()))
        except Exception as exc:
            log.exception("analyze failed on incident event %s", incident.event_id)
            await ctx.dead_letter("incidents.events", event.key, event.value, f"bug: {type(exc).__name__}")
            return None

    async def analyze(stream: faust.StreamT) -> None:
        nonlocal service
        if service is None:
            service = AnalysisService(ctx.settings, ctx.pool)
        service.start()
        svc = service
        async for events in ctx.batches(stream):
            decisions = await asyncio.gather(*(one(svc, event) for event in events))
            out = ctx.outbox()
            for event, decision in zip(events, decisions, strict=True):
                if decision is not None:
                    with processing(event):
                        await publish(out, decision.analysis, decision.started)
            await out.flush()  # raises when the broker refused: the batch comes again
            for decision in decisions:
                if decision is not None:
                    after_publish(ctx, svc, decision)

    return analyze
