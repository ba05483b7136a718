"""Options: defaults, the local file and the hub's overrides, merged and validated in that order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertstream.agent.checks import CHECKERS
from alertstream.agent.options import AgentOptions, OptionsError, merge, read_document, split_local


def test_defaults_cover_every_checker_and_enable_it() -> None:
    options = AgentOptions.resolve()
    assert set(options.checks) == {c.NAME for c in CHECKERS}
    assert all(o["enabled"] is True for o in options.checks.values())
    assert (options.interval_s, options.check_timeout_s) == (60.0, 20.0)


def test_layers_merge_key_by_key_and_later_layers_win() -> None:
    local = {"interval_s": 30, "checks": {"disk": {"used_pct": {"warning": 70}}, "network": {"targets": ["a:1"]}}}
    hub = {"checks": {"disk": {"used_pct": {"critical": 80}}, "temperature": {"enabled": False}}}
    options = AgentOptions.resolve(local, hub)
    assert options.interval_s == 30.0
    assert options.checks["disk"]["used_pct"] == {"warning": 70, "critical": 80}
    assert options.checks["network"]["targets"] == ["a:1"]
    assert options.checks["temperature"]["enabled"] is False
    assert options.checks["memory"]["used_pct"] == {"warning": 90, "critical": 97}


def test_a_threshold_level_can_be_switched_off_with_null() -> None:
    options = AgentOptions.resolve({"checks": {"cpu": {"load_per_core": {"warning": None}}}})
    assert options.checks["cpu"]["load_per_core"] == {"warning": None, "critical": 4.0}


def test_lists_replace_rather_than_extend() -> None:
    options = AgentOptions.resolve({"checks": {"disk": {"ignore_mounts": ["/backup"]}}})
    assert options.checks["disk"]["ignore_mounts"] == ["/backup"]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"checks": {"dsik": {}}}, "checks.dsik: unknown option"),
        ({"checks": {"disk": {"used": 1}}}, "checks.disk.used: unknown option"),
        ({"checks": {"disk": {"used_pct": {"warning": "90"}}}}, "checks.disk.used_pct.warning: must be a number"),
        ({"checks": {"disk": {"used_pct": 90}}}, "checks.disk.used_pct must be an object"),
        ({"checks": {"disk": {"enabled": "no"}}}, "checks.disk.enabled: must be true or false"),
        ({"checks": {"network": {"targets": "db:5432"}}}, "checks.network.targets: must be a list"),
        ({"checks": {"network": {"targets": [{"host": "db"}]}}}, "checks.network.targets: must be a list"),
        ({"checks": {"raid": {"degraded_status": 2}}}, "checks.raid.degraded_status: must be a string"),
        ({"interval_s": 0}, "interval_s must be a positive number"),
        ({"interval_s": True}, "interval_s: must be a number"),
        ([], "the document must be an object"),
    ],
)
def test_mistakes_name_their_path(document: object, path: str) -> None:
    with pytest.raises(OptionsError) as caught:
        AgentOptions.resolve(document)  # type: ignore[arg-type]
    assert path in str(caught.value)


def test_merge_does_not_touch_its_inputs() -> None:
    base = {"a": {"b": 1, "c": 2}}
    override = {"a": {"b": 5}}
    assert merge(base, override, "") == {"a": {"b": 5, "c": 2}}
    assert base == {"a": {"b": 1, "c": 2}} and override == {"a": {"b": 5}}


def test_local_file_identity_keys_are_split_off(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"instance_id": " web-1 ", "hostname": "web-1.example", "interval_s": 15}))
    options, identity = split_local(read_document(path))
    assert options == {"interval_s": 15}
    assert identity == {"instance_id": "web-1", "hostname": "web-1.example"}
    with pytest.raises(OptionsError, match="unknown option"):
        AgentOptions.resolve({"instance_id": "x"})  # the hub cannot rename a host


@pytest.mark.parametrize(("text", "problem"), [("{", "is not JSON"), ("[1]", "must be an object")])
def test_bad_local_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "agent.json"
    path.write_text(text)
    with pytest.raises(OptionsError, match=problem):
        read_document(path)
    with pytest.raises(OptionsError, match="cannot read"):
        read_document(tmp_path / "missing.json")
