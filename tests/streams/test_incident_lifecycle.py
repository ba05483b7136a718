"""Incident lifecycle rules beyond the spine's: max lifetime, expiry closes, operator actions."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from alertstream.streams.incidents import (
    IncidentPolicy,
    action_refused,
    apply_action,
    is_material,
    step_alert,
    step_tick,
)

from .check_helpers import alert, command

POLICY = IncidentPolicy(reopen_window=timedelta(hours=1), max_lifetime=timedelta(days=1))


def feed(*alerts, state=None):
    events = []
    for a in alerts:
        step = step_alert(state, a, POLICY)
        state = step.state
        events += [(c.reason, c.state.incident_id, c.state.version, c.notify) for c in step.changes]
    return state, events


def test_an_incident_past_its_max_lifetime_is_closed_and_a_new_one_opens() -> None:
    state, events = feed(alert("a"), alert("b", at=timedelta(days=1, seconds=1)))
    old_id = events[0][1]
    assert [e[0] for e in events] == ["opened", "closed", "opened"]
    assert events[1][1] == old_id and events[1][2] == 2 and events[1][3] is True  # the old one, notified
    assert state.incident_id != old_id and list(state.members) == ["b"]


def test_within_max_lifetime_alerts_are_absorbed() -> None:
    state, events = feed(alert("a"), alert("b", at=timedelta(hours=23)))
    assert [e[0] for e in events] == ["opened", "alert_added"] and len(state.members) == 2


def test_a_new_incident_after_the_reopen_window_closes_the_old_one_quietly() -> None:
    state, events = feed(alert("a"), alert("a", "resolved", at=timedelta(minutes=1)),
                         alert("a", at=timedelta(hours=2)))
    assert [(e[0], e[3]) for e in events] == [("opened", True), ("resolved", True), ("closed", False),
                                              ("opened", True)]
    assert events[2][1] == events[0][1] != state.incident_id


def test_reopen_within_the_window_keeps_the_incident_and_resets_severity() -> None:
    state, events = feed(alert("a", severity="critical"), alert("a", "resolved", at=timedelta(minutes=1)),
                         alert("a", severity="info", at=timedelta(minutes=59)))
    assert [e[0] for e in events] == ["opened", "resolved", "reopened"]
    assert state.status == "open" and state.severity == "info" and state.version == 3


def test_severity_never_falls_while_open_but_members_follow_their_alerts() -> None:
    state, events = feed(alert("a", severity="critical"), alert("b", severity="info", at=timedelta(seconds=1)),
                         alert("a", severity="warning", at=timedelta(seconds=2)))
    assert [e[0] for e in events] == ["opened", "alert_added"]
    assert state.severity == "critical" and state.members["a"].severity == "warning"


def test_description_only_changes_are_not_material() -> None:
    first = alert("a")
    changed = dataclasses.replace(alert("a", at=timedelta(seconds=5)), annotations={"summary": "new words"})
    seen = {"status": first.status, "severity": first.severity}
    assert not is_material(seen, changed)
    assert is_material(seen, dataclasses.replace(changed, status="acknowledged"))
    assert is_material(seen, dataclasses.replace(changed, severity="critical"))


def test_auto_resolve_needs_every_member_resolved() -> None:
    state, events = feed(alert("a"), alert("b", at=timedelta(seconds=1)),
                         alert("a", "resolved", at=timedelta(seconds=2)))
    assert state.status == "open" and [e[0] for e in events] == ["opened", "alert_added"]
    state, events = feed(alert("b", "resolved", at=timedelta(seconds=3)), state=state)
    assert state.status == "resolved" and [e[0] for e in events] == ["resolved"]


def test_a_tick_closes_a_resolved_incident_after_its_reopen_window_only() -> None:
    state, _ = feed(alert("a"), alert("a", "resolved", at=timedelta(minutes=1)))
    assert step_tick(state, state.resolved_at + timedelta(minutes=30), POLICY).changes == []
    step = step_tick(state, state.resolved_at + timedelta(hours=1, seconds=1), POLICY)
    assert step.state is None and [(c.reason, c.notify) for c in step.changes] == [("closed", False)]


@pytest.mark.parametrize("kind,status,expected", [
    ("acknowledge", "open", "acknowledged"), ("resolve", "open", "resolved"),
    ("resolve", "acknowledged", "resolved"), ("close", "resolved", "closed"), ("close", "open", "closed"),
])
def test_operator_actions_change_status_with_a_new_version(kind: str, status: str, expected: str) -> None:
    state, _ = feed(alert("a"))
    state.status = status
    step = apply_action(state, command(kind, state.incident_id, timedelta(minutes=5), note="on it"))
    (change,) = step.changes
    assert change.reason == expected and change.state.status == expected and change.state.version == 2
    assert change.actor == "alice" and change.note == "on it"
    assert (step.state is None) == (expected == "closed")


def test_a_note_bumps_the_version_without_changing_status() -> None:
    state, _ = feed(alert("a"))
    step = apply_action(state, command("note", state.incident_id, timedelta(minutes=1), note="looking"))
    assert step.state.status == "open" and step.state.version == 2 and step.changes[0].reason == "note"


@pytest.mark.parametrize("kind,status", [("acknowledge", "acknowledged"), ("acknowledge", "resolved"),
                                         ("resolve", "resolved"), ("close", "closed")])
def test_actions_that_do_not_apply_are_refused_with_a_reason(kind: str, status: str) -> None:
    state, _ = feed(alert("a"))
    state.status = status
    step = apply_action(state, command(kind, state.incident_id, timedelta(minutes=1)))
    assert step.changes == [] and step.rejected
    assert action_refused(status, kind)


def test_an_action_for_a_superseded_incident_is_refused() -> None:
    state, _ = feed(alert("a"))
    step = apply_action(state, command("acknowledge", "some-other-id", timedelta(minutes=1)))
    assert step.rejected and step.state is state
    assert action_refused("open", "note", "  ") and action_refused("open", "bogus")


def test_after_an_operator_close_the_next_alert_opens_a_new_incident() -> None:
    state, events = feed(alert("a"))
    step = apply_action(state, command("close", state.incident_id, timedelta(minutes=1)))
    state, more = feed(alert("a", severity="critical", at=timedelta(minutes=2)), state=step.state)
    assert more[0][0] == "opened" and state.incident_id != events[0][1]
