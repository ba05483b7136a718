"""Grouping (group_wait, group_interval, repeat_interval) and silences, as incident events:
which are notified now, which are held and flushed by a tick, which are only recorded."""

from __future__ import annotations

from datetime import timedelta

from alertstream.schemas.records import Silence
from alertstream.streams.announce import Outcome, Routing, apply_step, needs_tick, tick
from alertstream.streams.grouping import GroupTiming
from alertstream.streams.incidents import IncidentPolicy, apply_action, step_alert
from alertstream.streams.lanes import parse_lanes
from alertstream.streams.silences import SilenceBook, expired, parse_matcher

from .check_helpers import T0, alert, command

POLICY = IncidentPolicy()
S = timedelta(seconds=1)


def routing(group_wait=0, group_interval=0, repeat_interval=0, silences: SilenceBook | None = None) -> Routing:
    lanes = parse_lanes({"lanes": [{"name": "catch-all", "priority": 9999, "channels": ["hook"],
                                    "group_wait": group_wait, "group_interval": group_interval,
                                    "repeat_interval": repeat_interval}]}, {"hook"})
    return Routing(lanes, silences or SilenceBook())


class Run:
    """Feeds alerts, actions and ticks through the same pure functions the incident agent uses."""

    def __init__(self, route: Routing) -> None:
        self.route, self.state, self.events = route, None, []

    def _take(self, outcome: Outcome) -> Outcome:
        self.state = outcome.state
        self.events += outcome.events
        return outcome

    def alert(self, *args, **kwargs) -> Outcome:
        a = alert(*args, **kwargs)
        return self._take(apply_step(step_alert(self.state, a, POLICY), a.received_at, self.route))

    def act(self, kind: str, at: timedelta, note: str = "") -> Outcome:
        c = command(kind, self.state.incident_id, at, note=note)
        return self._take(apply_step(apply_action(self.state, c), c.issued_at, self.route))

    def tick(self, at: timedelta) -> Outcome:
        return self._take(tick(self.state, T0 + at, self.route, POLICY))

    def notified(self) -> list[tuple[str, int]]:
        return [(e.reason, e.version) for e in self.events if "notify" in e.lane.stages]


def test_without_grouping_every_change_is_notified_at_once() -> None:
    run = Run(routing())
    run.alert("a"), run.alert("b", at=S), run.alert("a", "resolved", at=2 * S), run.alert("b", "resolved", at=3 * S)
    assert run.notified() == [("opened", 1), ("alert_added", 2), ("resolved", 3)]
    assert all(e.held_until is None for e in run.events)


def test_group_wait_holds_the_first_notification_and_batches_what_arrives_meanwhile() -> None:
    run = Run(routing(group_wait=30))
    run.alert("a"), run.alert("b", at=5 * S), run.alert("c", severity="critical", at=10 * S)
    assert run.notified() == [] and [e.reason for e in run.events] == ["opened", "alert_added", "alert_added"]
    assert all(e.held_until == T0 + 30 * S and e.lane.stages == [] for e in run.events)  # recorded, visible
    assert not needs_tick(run.state, T0 + 29 * S, run.route, POLICY) and run.tick(29 * S).events == []
    assert needs_tick(run.state, T0 + 30 * S, run.route, POLICY)
    (flush,) = run.tick(30 * S).events
    assert (flush.reason, flush.version, flush.lane.stages) == ("opened", 4, ["analyze", "notify"])
    assert {a.fingerprint for a in flush.alerts} == {"a", "b", "c"} and flush.severity == "critical"
    assert run.tick(31 * S).events == []  # nothing more to send


def test_group_interval_spaces_updates_of_one_incident() -> None:
    run = Run(routing(group_interval=300))
    run.alert("a")  # notified at once (group_wait 0)
    run.alert("b", at=60 * S)  # within 5 min of the last notification: held
    run.alert("c", at=120 * S)
    assert run.notified() == [("opened", 1)]
    assert run.events[-1].held_until == T0 + 300 * S
    (flush,) = run.tick(300 * S).events
    assert flush.reason == "alert_added" and len(flush.alerts) == 3
    run.alert("d", at=700 * S)  # more than group_interval after the flush: at once
    assert run.notified()[-1] == ("alert_added", 5)


def test_an_opening_that_resolves_before_group_wait_is_never_sent() -> None:
    run = Run(routing(group_wait=30))
    run.alert("a"), run.alert("a", "resolved", at=10 * S)
    assert run.events[-1].reason == "resolved"
    assert run.tick(30 * S).events == [] and run.state.pending_due is None
    assert run.notified() == []


def test_repeat_interval_reminds_of_a_still_open_incident_only() -> None:
    run = Run(routing(repeat_interval=3600))
    run.alert("a")
    assert run.tick(3599 * S).events == []
    (reminder,) = run.tick(3600 * S).events
    assert (reminder.reason, reminder.version, reminder.lane.stages) == ("repeated", 2, ["analyze", "notify"])
    assert run.tick(3601 * S).events == []  # the clock restarts at the reminder
    run.act("acknowledge", 4000 * S)
    assert run.tick(9000 * S).events == []  # acknowledged: no reminders


def test_operator_actions_are_never_held() -> None:
    run = Run(routing(group_interval=300))
    run.alert("a")
    run.act("acknowledge", 10 * S, note="mine")
    (ack,) = [e for e in run.events if e.reason == "acknowledged"]
    assert "notify" in ack.lane.stages and ack.actor == "alice" and ack.note == "mine"


def _book(*matchers: str, minutes: int = 60) -> SilenceBook:
    book = SilenceBook()
    book.put(Silence(silence_id="mute", matchers=[parse_matcher(m) for m in matchers], starts_at=T0,
                     ends_at=T0 + timedelta(minutes=minutes), author="bob", created_at=T0, updated_at=T0))
    return book


def test_a_silenced_incident_is_recorded_not_notified_and_notifies_when_the_silence_ends() -> None:
    run = Run(routing(silences=_book('instance="web-1"', minutes=10)))
    run.alert("a"), run.alert("b", severity="critical", at=S)
    assert run.notified() == [] and [e.silenced_by for e in run.events] == [["mute"], ["mute"]]
    assert not needs_tick(run.state, T0 + 5 * 60 * S, run.route, POLICY)
    assert needs_tick(run.state, T0 + 10 * 60 * S, run.route, POLICY)
    (ended,) = run.tick(10 * 60 * S).events
    assert (ended.reason, ended.version, ended.lane.stages) == ("silence_ended", 3, ["analyze", "notify"])
    assert ended.severity == "critical" and len(ended.alerts) == 2 and ended.silenced_by == []


def test_an_incident_that_resolved_under_its_silence_sends_nothing_when_it_ends() -> None:
    run = Run(routing(silences=_book('alertname="CPUHigh"', minutes=10)))
    run.alert("a"), run.alert("a", "resolved", at=60 * S)
    assert run.notified() == [] and run.events[-1].silenced_by == ["mute"]
    assert run.tick(10 * 60 * S).events == [] and run.state.silenced_by == []


def test_an_alert_the_silence_does_not_match_breaks_the_silence_for_its_incident() -> None:
    run = Run(routing(silences=_book('severity="warning"')))
    run.alert("a")
    run.alert("b", severity="critical", at=S)
    assert run.notified() == [("alert_added", 2)]


def test_expiring_a_silence_early_ends_it_at_the_next_tick() -> None:
    book = _book('instance="web-1"')
    run = Run(routing(silences=book))
    run.alert("a")
    book.put(expired(book.silences["mute"], T0 + 60 * S))
    assert needs_tick(run.state, T0 + 61 * S, run.route, POLICY)
    assert [e.reason for e in run.tick(61 * S).events] == ["silence_ended"]


def test_a_held_notification_that_a_new_silence_covers_is_dropped_until_the_silence_ends() -> None:
    book = SilenceBook()
    run = Run(routing(group_wait=30, silences=book))
    run.alert("a")
    book.put(_book('instance="web-1"', minutes=5).silences["mute"])
    assert run.tick(30 * S).events == [] and run.state.silenced_by == ["mute"]
    assert [e.reason for e in run.tick(5 * 60 * S).events] == ["silence_ended"]


def test_timing_defaults_are_off() -> None:
    assert GroupTiming() == GroupTiming(timedelta(0), timedelta(0), timedelta(0))
