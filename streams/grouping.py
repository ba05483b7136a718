"""Notification grouping with Alertmanager's semantics, per lane, one group per incident.

- group_wait: the first notification of an incident (or of a reopened one) waits this long,
  so alerts that arrive together go out as one notification.
- group_interval: after a notification, further changes wait until this long after it.
- repeat_interval: a still-open incident with nothing new is notified again after this long
  (0 = never).

The hold-back lives in the check stage: a held change is still an incident event (recorded,
visible, `held_until` set, no `notify` stage), and when it is due the check stage's timer
emits one more event that carries the whole incident with `notify` in its lane. The notify
stage therefore never waits or batches: every event whose lane says notify is sent now.

Pure functions of (state, now, timing); the state records what was last sent and what waits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from .incident_state import IncidentState

ZERO = timedelta(0)
# The reasons that start an episode: its first notification waits group_wait, never group_interval.
_EPISODE_STARTS = ("opened", "reopened")
# Never held: it is itself the late notification the silence deferred, or an operator said it.
_IMMEDIATE = ("silence_ended", "note")


@dataclass(frozen=True)
class GroupTiming:
    group_wait: timedelta = ZERO
    group_interval: timedelta = ZERO
    repeat_interval: timedelta = ZERO  # 0: no reminders


def on_change(
    state: IncidentState, reason: str, now: datetime, timing: GroupTiming, immediate: bool = False
) -> tuple[IncidentState, bool]:
    """Send this change now (True) or hold it (False, with pending_reason/pending_due set).
    `immediate`: an operator's action, which a channel (PagerDuty) must see at once."""
    if immediate or reason in _IMMEDIATE:
        due = now
    elif state.pending_due is not None:
        due = state.pending_due  # already waiting: more changes join the same notification
    elif reason in _EPISODE_STARTS or state.notified_at is None:
        due = now + timing.group_wait
    else:
        due = state.notified_at + timing.group_interval
    if due <= now:
        return sent(state, now), True
    pending = state.pending_reason if state.pending_reason in _EPISODE_STARTS else reason
    return dataclasses.replace(state, pending_reason=pending, pending_due=due), False


def sent(state: IncidentState, now: datetime) -> IncidentState:
    return dataclasses.replace(
        state, notified_version=state.version, notified_at=now, pending_reason=None, pending_due=None
    )


def due_flush(state: IncidentState, now: datetime) -> str | None:
    """The reason of a held notification that is due now, else None."""
    if state.pending_due is None or state.pending_due > now or state.pending_reason is None:
        return None
    return state.pending_reason


def drop_stale(state: IncidentState) -> bool:
    """A held opening that resolved before it went out is never sent (Alertmanager sends no
    resolution for alerts it never notified as firing)."""
    return state.pending_reason in _EPISODE_STARTS and state.status in ("resolved", "closed")


def due_repeat(state: IncidentState, now: datetime, timing: GroupTiming) -> bool:
    """A reminder for an open incident that was notified and has had nothing new since."""
    return (
        timing.repeat_interval > ZERO
        and state.status == "open"
        and not state.silenced_by
        and state.pending_due is None
        and state.notified_at is not None
        and now >= state.notified_at + timing.repeat_interval
    )


def next_due(state: IncidentState, timing: GroupTiming) -> datetime | None:
    """When the timer must look at this incident again for grouping (None: not for grouping)."""
    if state.pending_due is not None:
        return state.pending_due
    if timing.repeat_interval > ZERO and state.status == "open" and state.notified_at and not state.silenced_by:
        return state.notified_at + timing.repeat_interval
    return None
