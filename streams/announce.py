"""From incident changes to incident events: the lane, silences and grouping decide whether
an event is notified now, held, or only recorded. Also what time passing does (the timer's
tick): held notifications fall due, reminders repeat, silences end. Pure: the clock is a
parameter, the lanes and silences are values.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

from alertstream.ids import name_id
from alertstream.schemas.records import IncidentCommand, IncidentEvent, Lane, NormalizedAlert

from . import grouping
from .incident_state import IncidentState
from .incidents import Change, IncidentPolicy, Step, apply_action, step_alert, step_tick
from .lanes import LaneRule, decide_lane, facts_of
from .silences import SilenceBook


@dataclass(frozen=True)
class Routing:
    lanes: tuple[LaneRule, ...]
    silences: SilenceBook


@dataclass(frozen=True)
class Outcome:
    """What one input did to a correlation key: the state to keep (None: forget) and the events to emit."""

    state: IncidentState | None
    events: list[IncidentEvent]
    rejected: str = ""


def lane_for(state: IncidentState, routing: Routing) -> LaneRule:
    return decide_lane(facts_of(state.status, state.severity, state.source, state.labels), routing.lanes)


def _watched(state: IncidentState) -> list:
    """Which members decide whether the incident is muted: the live ones, or all once none is."""
    live = [m for m in state.members.values() if m.status != "resolved"]
    return live or list(state.members.values())


def announce(change: Change, now: datetime, routing: Routing) -> tuple[IncidentState, IncidentEvent]:
    """The event for one change, and the incident's state with its notification bookkeeping."""
    state = change.state
    lane = lane_for(state, routing)
    state = dataclasses.replace(state, lane=lane.name)
    silenced_by: list[str] = []
    held_until = None
    if not change.notify:
        stages: tuple[str, ...] = ()
    elif silenced_by := routing.silences.muting(_watched(state), now):
        state = dataclasses.replace(state, silenced_by=silenced_by, pending_reason=None, pending_due=None)
        stages = ()
    else:
        state = dataclasses.replace(state, silenced_by=[])
        stages = lane.stages
        if "notify" in lane.stages:
            state, send = grouping.on_change(state, change.reason, now, lane.timing, immediate=bool(change.actor))
            if not send:
                stages, held_until = (), state.pending_due
    event = to_event(state, change.reason, lane.record(stages), change.actor, change.note, silenced_by, held_until)
    return state, event


def apply_step(step: Step, now: datetime, routing: Routing) -> Outcome:
    """Announce every change of a rules step; the kept state carries the bookkeeping of its own last change."""
    events = []
    kept = step.state
    for change in step.changes:
        announced, event = announce(change, now, routing)
        events.append(event)
        if kept is not None and announced.incident_id == kept.incident_id and announced.version == kept.version:
            kept = announced
    return Outcome(kept, events, step.rejected)


def take_input(
    state: IncidentState | None, record: NormalizedAlert | IncidentCommand, routing: Routing, policy: IncidentPolicy
) -> Outcome:
    """One record of alerts.changes applied to its correlation key's incident: an alert change,
    an operator action or a timer tick, each with the clock it carries."""
    if isinstance(record, NormalizedAlert):
        if record.received_at is None:  # the edge always stamps it; a hand-made record may not
            return Outcome(state, [], "an alert change without received_at")
        return apply_step(step_alert(state, record, policy), record.received_at, routing)
    if record.kind == "tick":
        return tick(state, record.issued_at, routing, policy) if state is not None else Outcome(None, [])
    return apply_step(apply_action(state, record), record.issued_at, routing)


def tick(state: IncidentState, now: datetime, routing: Routing, policy: IncidentPolicy) -> Outcome:
    """Time passing for one incident: expiry, the end of a silence, a held notification, a reminder."""
    step = step_tick(state, now, policy)
    if step.state is None:
        return apply_step(step, now, routing)
    lane = lane_for(state, routing)
    if state.silenced_by:
        muting = routing.silences.muting(_watched(state), now)
        if muting:
            return Outcome(dataclasses.replace(state, silenced_by=muting), [])
        if not state.firing():
            return Outcome(dataclasses.replace(state, silenced_by=[]), [])
        return _notify_now(state, "silence_ended", now, lane)
    reason = grouping.due_flush(state, now)
    if reason is not None:
        if grouping.drop_stale(state):
            return Outcome(dataclasses.replace(state, pending_reason=None, pending_due=None), [])
        muting = routing.silences.muting(_watched(state), now)
        if muting:
            return Outcome(dataclasses.replace(state, silenced_by=muting, pending_reason=None, pending_due=None), [])
        return _notify_now(state, reason, now, lane)
    if grouping.due_repeat(state, now, lane.timing):
        if routing.silences.muting(_watched(state), now):
            return Outcome(state, [])  # a reminder is not a change: no silence bookkeeping needed
        return _notify_now(state, "repeated", now, lane)
    return Outcome(state, [])


def _notify_now(state: IncidentState, reason: str, now: datetime, lane: LaneRule) -> Outcome:
    bumped = dataclasses.replace(state, version=state.version + 1, updated_at=now, silenced_by=[], lane=lane.name)
    bumped = grouping.sent(bumped, now)
    return Outcome(bumped, [to_event(bumped, reason, lane.record(), "", "", [], None)])


def needs_tick(state: IncidentState, now: datetime, routing: Routing, policy: IncidentPolicy) -> bool:
    """Should the timer send this incident a tick? Cheap, and false for nearly every incident."""
    if state.status == "resolved" and state.resolved_at is not None and now - state.resolved_at > policy.reopen_window:
        return True
    if state.silenced_by:
        return not routing.silences.muting(_watched(state), now)
    lane = lane_for(state, routing)
    due = grouping.next_due(state, lane.timing)
    return due is not None and due <= now


def to_event(
    state: IncidentState, reason: str, lane: Lane, actor: str, note: str, silenced_by: list[str],
    held_until: datetime | None,
) -> IncidentEvent:
    return IncidentEvent(
        # Derived, not random: a replay of the same input rebuilds the same event id.
        event_id=name_id(uuid.NAMESPACE_URL, f"{state.incident_id}@{state.version}"),
        trace_id=state.last_trace_id,
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
        lane=lane,
        actor=actor,
        note=note,
        silenced_by=list(silenced_by),
        held_until=held_until,
    )
