"""Silence matchers, time windows (with time zones and midnight), and muting decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertstream.schemas.records import IncidentAlert, Silence, SilenceMatcher, WeeklyRecurrence
from alertstream.streams.actions import silence_from_doc
from alertstream.streams.silences import (
    SilenceBook,
    SilenceError,
    expired,
    is_active,
    matcher_matches,
    parse_matcher,
    silence_matches,
    state_of,
)

from .check_helpers import T0


def member(fp: str = "a", **labels: str) -> IncidentAlert:
    return IncidentAlert(fingerprint=fp, event_id="e", source="alertmanager", name="DiskFull", status="firing",
                         severity="critical", labels={"instance": "db-1", **labels})


def silence(*matchers: str, start: datetime = T0, end: datetime | None = T0 + timedelta(hours=1),
            weekly: list[WeeklyRecurrence] | None = None, sid: str = "s1") -> Silence:
    return Silence(silence_id=sid, matchers=[parse_matcher(m) for m in matchers], starts_at=start, ends_at=end,
                   weekly=weekly or [], author="bob", created_at=T0, updated_at=T0)


@pytest.mark.parametrize("text,name,op,value", [
    ('alertname="DiskFull"', "alertname", "=", "DiskFull"),
    ("instance!=db-1", "instance", "!=", "db-1"),
    ('instance=~"db-.*"', "instance", "=~", "db-.*"),
    ('severity !~ "info|warning"', "severity", "!~", "info|warning"),
    ('summary="say \\"hi\\""', "summary", "=", 'say "hi"'),
])
def test_matchers_parse_like_alertmanager(text: str, name: str, op: str, value: str) -> None:
    assert parse_matcher(text) == SilenceMatcher(name, op, value)


@pytest.mark.parametrize("bad", ["", "instance", "=x", 'instance=~"("', "1abc=x"])
def test_bad_matchers_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(SilenceError):
        parse_matcher(bad)


def test_matcher_semantics_anchored_regex_and_absent_labels() -> None:
    assert matcher_matches(SilenceMatcher("i", "=~", "db-.*"), "db-1")
    assert not matcher_matches(SilenceMatcher("i", "=~", "db"), "db-1")  # anchored
    assert matcher_matches(SilenceMatcher("i", "!~", "web-.*"), "db-1")
    assert matcher_matches(SilenceMatcher("team", "!=", "ops"), "")  # absent = ""
    fields = {"alertname": "DiskFull", "instance": "db-1", "source": "alertmanager", "severity": "critical"}
    assert silence_matches(silence('alertname="DiskFull"', 'source="alertmanager"', 'severity="critical"'), fields)
    assert not silence_matches(silence('alertname="DiskFull"', 'severity="info"'), fields)


def test_a_silence_is_active_between_start_and_end_only() -> None:
    s = silence('alertname="DiskFull"')
    assert not is_active(s, T0 - timedelta(seconds=1))
    assert is_active(s, T0) and is_active(s, T0 + timedelta(minutes=59))
    assert not is_active(s, T0 + timedelta(hours=1))
    assert state_of(s, T0 - timedelta(seconds=1)) == "pending" and state_of(s, T0 + timedelta(hours=2)) == "expired"


def test_weekly_windows_use_their_time_zone_and_may_span_midnight() -> None:
    window = WeeklyRecurrence(days=["sat"], start="22:00", end="06:00", timezone="Europe/Berlin")
    s = silence('alertname="DiskFull"', start=T0 - timedelta(days=30), end=None, weekly=[window])
    # 2026-12-05 is a Saturday; Berlin is UTC+1 in December.
    saturday_2230_berlin = datetime(2026, 12, 5, 21, 30, tzinfo=UTC)
    sunday_0530_berlin = datetime(2026, 12, 6, 4, 30, tzinfo=UTC)
    sunday_0630_berlin = datetime(2026, 12, 6, 5, 30, tzinfo=UTC)
    saturday_2130_berlin = datetime(2026, 12, 5, 20, 30, tzinfo=UTC)
    assert is_active(s, saturday_2230_berlin) and is_active(s, sunday_0530_berlin)
    assert not is_active(s, sunday_0630_berlin) and not is_active(s, saturday_2130_berlin)
    assert state_of(s, sunday_0630_berlin) == "waiting"


def test_a_window_in_summer_time_follows_the_zone() -> None:
    window = WeeklyRecurrence(days=["mon"], start="09:00", end="10:00", timezone="Europe/Berlin")
    s = silence('alertname="X"', start=T0 - timedelta(days=400), end=None, weekly=[window])
    assert is_active(s, datetime(2026, 6, 1, 7, 30, tzinfo=UTC))  # 09:30 CEST (UTC+2)
    assert not is_active(s, datetime(2026, 6, 1, 8, 30, tzinfo=UTC))


def test_the_book_mutes_only_when_every_alert_is_matched() -> None:
    book = SilenceBook()
    book.put(silence('instance="db-1"', sid="s1"))
    assert book.muting([member("a")], T0) == ["s1"]
    assert book.muting([member("a"), member("b", instance="db-2")], T0) == []
    book.put(silence('instance="db-2"', sid="s2"))
    assert book.muting([member("a"), member("b", instance="db-2")], T0) == ["s1", "s2"]
    assert book.muting([member("a")], T0 + timedelta(hours=2)) == []  # ended
    book.forget("s1")
    assert book.muting([member("a")], T0) == []


def test_the_book_keeps_the_newest_version_of_a_silence() -> None:
    book = SilenceBook()
    s = silence('instance="db-1"')
    ended = expired(s, T0 + timedelta(minutes=5))
    book.put(ended)
    book.put(s)  # an older record arriving late does not resurrect it
    assert book.silences["s1"].ends_at == T0 + timedelta(minutes=5)
    assert book.muting([member()], T0 + timedelta(minutes=6)) == []


def test_silences_from_documents_are_validated() -> None:
    made = silence_from_doc({"matchers": ['alertname="DiskFull"'], "duration": "2h", "comment": "disk swap"},
                            author="bob", now=T0)
    assert made.starts_at == T0 and made.ends_at == T0 + timedelta(hours=2) and made.author == "bob"
    weekly = silence_from_doc({"matchers": [{"name": "instance", "op": "=~", "value": "db-.*"}],
                               "weekly": [{"days": ["sat", "sun"], "start": "22:00", "end": "06:00",
                                           "timezone": "Europe/Berlin"}]}, author="bob", now=T0)
    assert weekly.ends_at is None and weekly.weekly[0].days == ["sat", "sun"]
    for bad in (
        {"matchers": []},
        {"matchers": ['alertname="X"']},  # no end, no windows
        {"matchers": ['team=~".*"'], "duration": "1h"},  # would mute everything
        {"matchers": ['alertname="X"'], "duration": "1h", "ends_at": "2026-12-01T00:00:00+00:00"},
        {"matchers": ['alertname="X"'], "ends_at": "2026-01-01T00:00:00+00:00"},  # in the past
        {"matchers": ['alertname="X"'], "weekly": [{"days": ["funday"], "start": "1:00", "end": "2:00"}]},
        {"matchers": ['alertname="X"'], "weekly": [{"days": ["mon"], "start": "25:00", "end": "2:00"}]},
        {"matchers": ['alertname="X"'], "weekly": [{"days": ["mon"], "start": "1:00", "end": "2:00",
                                                    "timezone": "Mars/Olympus"}]},
        {"matchers": ['alertname="X"'], "duration": "1h", "colour": "red"},
    ):
        with pytest.raises(SilenceError):
            silence_from_doc(bad, author="bob", now=T0)
