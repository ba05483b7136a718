"""Lanes as data: validation with clear errors, priority, conditions, defaults, reload."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from alertstream.streams.lanes import (
    ALL_CLEAR,
    CATCH_ALL,
    LaneBook,
    LaneError,
    decide_lane,
    default_lanes,
    facts_of,
    parse_lanes,
    read_lanes,
)

FIXTURES = Path(__file__).parent / "fixtures" / "lanes"
CHANNELS = {"ops-webhook", "pagerduty-db", "slack-db"}


def facts(status: str = "open", severity: str = "warning", source: str = "alertmanager", **labels: str):
    return facts_of(status, severity, source, labels)


def test_defaults_send_resolutions_to_all_clear_and_the_rest_to_the_catch_all() -> None:
    lanes = default_lanes({"b", "a"})
    assert decide_lane(facts("resolved"), lanes).name == ALL_CLEAR
    assert decide_lane(facts("closed"), lanes).stages == ("notify",)
    chosen = decide_lane(facts("open"), lanes)
    assert chosen.name == CATCH_ALL and chosen.stages == ("analyze", "notify") and chosen.channels == ("a", "b")
    assert chosen.record().analysis_deadline_s is None  # the worker's ALERTSTREAM_ANALYSIS_DEADLINE_S


def test_the_good_fixture_loads_and_routes_by_priority_and_conditions() -> None:
    lanes = read_lanes(FIXTURES / "good.yaml", CHANNELS)
    assert [lane.name for lane in lanes][:2] == ["db-pager", "noisy"]
    pager = decide_lane(facts(severity="critical", team="db"), lanes)
    assert pager.name == "db-pager" and pager.channels == ("pagerduty-db", "slack-db")
    assert pager.timing.group_wait == timedelta(seconds=30) and pager.timing.repeat_interval == timedelta(hours=4)
    assert pager.analysis_deadline == timedelta(seconds=1.5) and pager.record().analysis_deadline_s == 1.5
    assert decide_lane(facts(severity="critical", team="web"), lanes).name == CATCH_ALL
    assert decide_lane(facts(source="zabbix", instance="lab-3"), lanes).name == "noisy"
    assert decide_lane(facts(source="zabbix", instance="db-3"), lanes).name == CATCH_ALL
    assert decide_lane(facts("resolved", severity="critical", team="db"), lanes).name == "db-pager"
    assert decide_lane(facts("resolved", team="web"), lanes).name == ALL_CLEAR


def test_the_json_fixture_loads_too() -> None:
    lanes = read_lanes(FIXTURES / "good.json", CHANNELS)
    assert decide_lane(facts(severity="info"), lanes).name == "info-digest"


@pytest.mark.parametrize("name,message", [
    ("bad_op.yaml", "lane 'db-pager': match[0]: op must be one of"),
    ("bad_field.yaml", "field must be one of source, severity, status or label:<key>"),
    ("bad_stage.yaml", "stages must be a list drawn from analyze, analyze-follow-up, notify"),
    ("unknown_channel.yaml", "unknown channel(s) nowhere"),
    ("bad_duration.yaml", "group_wait: a duration like 30s"),
    ("bad_regex.yaml", "bad regex"),
    ("duplicate.yaml", "duplicate lane name(s): twice"),
    ("not_a_list.yaml", "a lanes file is a mapping with a `lanes` list"),
    ("broken.yaml", "not valid YAML"),
    ("no_channel.yaml", "needs at least one channel"),
    ("bad_deadline.yaml", "lane 'slow': analysis_deadline must be at most 600s"),
])
def test_bad_fixtures_fail_with_errors_that_name_the_lane_and_field(name: str, message: str) -> None:
    with pytest.raises(LaneError) as caught:
        read_lanes(FIXTURES / name, CHANNELS)
    assert message in str(caught.value) and name in str(caught.value)


def test_a_file_may_replace_a_built_in_lane() -> None:
    lanes = parse_lanes({"lanes": [{"name": CATCH_ALL, "priority": 50, "stages": ["notify"], "channels": ["a"]}]},
                        {"a"})
    assert decide_lane(facts(), lanes).stages == ("notify",)
    assert [lane.name for lane in lanes].count(CATCH_ALL) == 1


def test_the_book_reloads_an_edited_file_and_keeps_the_last_good_lanes(tmp_path: Path) -> None:
    path = tmp_path / "lanes.json"
    lane = {"name": "first", "priority": 1, "stages": ["notify"], "channels": ["a"],
            "match": [{"field": "severity", "op": "is", "value": "critical"}]}
    path.write_text(json.dumps({"lanes": [lane]}))
    channels = {"a"}
    book = LaneBook(path, lambda: channels)
    assert decide_lane(facts(severity="critical"), book.lanes).name == "first"
    assert not book.refresh()  # unchanged
    path.write_text(json.dumps({"lanes": [{**lane, "name": "second"}]}))
    os.utime(path, ns=(1, 2))
    assert book.refresh() and decide_lane(facts(severity="critical"), book.lanes).name == "second"
    path.write_text(json.dumps({"lanes": [{**lane, "op": "nope"}]}))
    os.utime(path, ns=(3, 4))
    assert not book.refresh() and "unknown field" in book.error
    assert decide_lane(facts(severity="critical"), book.lanes).name == "second"


def test_default_lanes_follow_the_channels() -> None:
    channels = {"a"}
    book = LaneBook(None, lambda: channels)
    assert decide_lane(facts(), book.lanes).channels == ("a",)
    channels.add("b")
    assert book.refresh() and decide_lane(facts(), book.lanes).channels == ("a", "b")
