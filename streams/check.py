"""The check stage: dedup by fingerprint, then incidents by correlation key.

Two hops so each table is co-partitioned with the key it is grouped on:
alerts.normalized (key fingerprint) -> dedup -> alerts.changes (key correlation
key) -> incidents -> incidents.events (key incident id).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import IncidentEvent, NormalizedAlert

from .context import StageContext, utcnow
from .incidents import IncidentPolicy, IncidentState, apply_alert, correlation_key, is_material
from .lanes import decide_lane

log = logging.getLogger(__name__)

Agent = Callable[[faust.StreamT], Awaitable[None]]


def make_dedup_agent(ctx: StageContext, alert_state: faust.Table, policy: IncidentPolicy) -> Agent:
    async def check_dedup(stream: faust.StreamT) -> None:
        async for event in stream.events():
            started = utcnow()
            try:
                alert: NormalizedAlert = ctx.codec.decode(event.value)
            except SchemaError as exc:
                await ctx.dead_letter("alerts.normalized", event.key, event.value, f"schema: {exc}")
                continue
            try:
                previous: dict[str, Any] | None = alert_state.get(alert.fingerprint)
                if is_material(previous, alert):
                    alert_state[alert.fingerprint] = {
                        "status": alert.status, "severity": alert.severity, "repeats": 0, "event_id": alert.event_id,
                    }
                    await ctx.send_raw("alerts.changes", correlation_key(alert, policy).encode(), event.value)
                else:
                    assert previous is not None
                    alert_state[alert.fingerprint] = {**previous, "repeats": previous.get("repeats", 0) + 1}
                    await ctx.ref(
                        trace_id=alert.trace_id, stage="checked", input_ref=f"alert:{alert.event_id}",
                        output_ref=f"duplicate-of:{previous.get('event_id', '')}", content=event.value,
                        started_at=started, status="skipped",
                    )
            except Exception as exc:  # a bug: keep the record and the agent, say so loudly
                log.exception("check_dedup failed on event %s", alert.event_id)
                await ctx.dead_letter("alerts.normalized", event.key, event.value, f"bug: {type(exc).__name__}")

    return check_dedup


def make_incident_agent(ctx: StageContext, incidents: faust.Table, policy: IncidentPolicy) -> Agent:
    channels = sorted(ctx.channels)

    async def check_incidents(stream: faust.StreamT) -> None:
        async for event in stream.events():
            started = utcnow()
            try:
                alert: NormalizedAlert = ctx.codec.decode(event.value)
            except SchemaError as exc:
                await ctx.dead_letter("alerts.changes", event.key, event.value, f"schema: {exc}")
                continue
            try:
                key = correlation_key(alert, policy)
                raw = incidents.get(key)
                state = IncidentState.from_json(raw) if raw else None
                new_state, reason = apply_alert(state, alert, policy)
                if new_state is not None:
                    incidents[key] = new_state.to_json()
                if reason is None or new_state is None:
                    await ctx.ref(
                        trace_id=alert.trace_id, stage="checked", input_ref=f"alert:{alert.event_id}",
                        output_ref=f"incident:{new_state.incident_id if new_state else 'none'}:unchanged",
                        content=event.value, started_at=started, status="skipped",
                    )
                    continue
                incident_event = to_event(new_state, reason, alert, channels)
                value = await ctx.send("incidents.events", incident_event.incident_id, incident_event)
                await ctx.ref(
                    trace_id=alert.trace_id, stage="checked", input_ref=f"alert:{alert.event_id}",
                    output_ref=f"incident:{incident_event.incident_id}@{incident_event.version}",
                    content=value, started_at=started,
                )
            except Exception as exc:
                log.exception("check_incidents failed on event %s", alert.event_id)
                await ctx.dead_letter("alerts.changes", event.key, event.value, f"bug: {type(exc).__name__}")

    return check_incidents


def to_event(state: IncidentState, reason: str, cause: NormalizedAlert, channels: list[str]) -> IncidentEvent:
    return IncidentEvent(
        # Derived, not random: a replay of the same alert rebuilds the same event id.
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.incident_id}@{state.version}")),
        trace_id=cause.trace_id,
        incident_id=state.incident_id,
        version=state.version,
        reason=reason,
        status=state.status,
        severity=state.severity,
        title=state.title,
        correlation_key=state.correlation_key,
        opened_at=state.opened_at,
        updated_at=state.updated_at,
        alerts=list(state.members.values()),
        lane=decide_lane(state.status, channels),
    )
