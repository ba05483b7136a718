"""The analyze stage: add a probable cause and recommendations, under a deadline
that never holds back a page: past it, notification proceeds without analysis."""

from __future__ import annotations

import asyncio
import logging
import uuid

import faust

from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import Analysis, IncidentEvent

from .analysis import local
from .check import Agent
from .context import StageContext, utcnow

log = logging.getLogger(__name__)


async def run_provider(event: IncidentEvent, deadline_s: float) -> tuple[str, local.LocalResult | None]:
    async def analyze() -> local.LocalResult:
        return local.analyze(event)

    try:
        return "ok", await asyncio.wait_for(analyze(), deadline_s)
    except TimeoutError:
        return "unavailable", None


def make_analyze_agent(ctx: StageContext) -> Agent:
    deadline = ctx.settings.worker.analysis_deadline_s

    async def analyze(stream: faust.StreamT) -> None:
        async for event in stream.events():
            started = utcnow()
            try:
                incident: IncidentEvent = ctx.codec.decode(event.value)
            except SchemaError as exc:
                await ctx.dead_letter("incidents.events", event.key, event.value, f"schema: {exc}")
                continue
            try:
                if "analyze" in incident.lane.stages:
                    status, result = await run_provider(incident, deadline)
                else:
                    status, result = "skipped", None
                analysis = Analysis(
                    analysis_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"analysis:{incident.event_id}")),
                    incident=incident,
                    status=status,
                    provider=local.NAME if result else "none",
                    started_at=started,
                    finished_at=utcnow(),
                    category=result.category if result else "general",
                    summary=result.summary if result else "",
                    probable_cause=result.probable_cause if result else "",
                    confidence=result.confidence if result else 0.0,
                    recommendations=result.recommendations if result else [],
                )
                value = await ctx.send("incidents.analyses", incident.incident_id, analysis)
                await ctx.ref(
                    trace_id=incident.trace_id, stage="analyzed",
                    input_ref=f"incident:{incident.incident_id}@{incident.version}",
                    output_ref=f"analysis:{analysis.analysis_id}", content=value, started_at=started,
                    status="ok" if status == "ok" else "skipped",
                )
            except Exception as exc:
                log.exception("analyze failed on incident event %s", incident.event_id)
                await ctx.dead_letter("incidents.events", event.key, event.value, f"bug: {type(exc).__name__}")

    return analyze
