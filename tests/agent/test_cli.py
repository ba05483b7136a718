"""`alertstream agent` as cron and scripts use it."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from alertstream.cli import main
from alertstream.embedded import free_port

# The CPU sample would read this test's own load: leave the sampling checks out.
FAST = {"checks": {"cpu": {"enabled": False}, "disk_io": {"enabled": False}}}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALERTSTREAM_AGENT_HUB", "ALERTSTREAM_AGENT_KEY", "ALERTSTREAM_AGENT_SECRET",
                 "ALERTSTREAM_AGENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def config(tmp_path: Path, document: dict) -> str:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_once_json_no_push_prints_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disk = {"mounts": ["/"], "used_pct": {"warning": None, "critical": 0.001}}
    document = {"instance_id": "cli-1", "hostname": "cli-host", "checks": {**FAST["checks"], "disk": disk}}
    code = main(["agent", "--once", "--json", "--no-push", "--config", config(tmp_path, document)])
    out = capsys.readouterr().out
    assert code == 0
    payload = orjson.loads(out)
    assert (payload["instance_id"], payload["hostname"]) == ("cli-1", "cli-host")
    [root] = [a for a in payload["alerts"] if a["check"] == "disk"]
    assert (root["status"], root["labels"]) == ("critical", {"mount": "/"})


def test_flags_win_over_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, {"instance_id": "from-file", **FAST})
    assert main(["agent", "--once", "--json", "--no-push", "--config", path, "--instance-id", "from-flag"]) == 0
    assert orjson.loads(capsys.readouterr().out)["instance_id"] == "from-flag"


def test_human_output_lists_worst_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"checks": {**FAST["checks"], "memory": {"used_pct": {"warning": None, "critical": 0.001}},
                           "inodes": {"used_pct": {"warning": 0.001, "critical": None}, "mounts": ["/"]}}}
    assert main(["agent", "--once", "--no-push", "--config", config(tmp_path, document)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("critical  memory ")
    assert lines[1].startswith("warning   inodes[/] ")


@pytest.mark.parametrize(
    ("argv", "document", "problem"),
    [
        (["--once"], None, "--hub (or ALERTSTREAM_AGENT_HUB) is required"),
        (["--once", "--hub", "ftp://hub"], None, "must be an http:// or https:// URL"),
        (["--once", "--hub", "http://hub", "--secret", "whsec_%%%secretish%%%"], None, "--secret: "),
        (["--once", "--no-push"], {"checks": {"disk": {"used_pct": "full"}}}, "checks.disk.used_pct must be an object"),
        (["--no-push", "--interval", "0"], None, "--interval must be a positive"),
    ],
)
def test_configuration_mistakes_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                       document: dict | None, problem: str) -> None:
    extra = ["--config", config(tmp_path, document)] if document is not None else []
    assert main(["agent", *argv, *extra]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert "secretish" not in err


def test_an_unreachable_hub_exits_1_after_its_attempts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hub = f"http://127.0.0.1:{free_port()}"
    code = main(["agent", "--once", "--json", "--hub", hub, "--attempts", "1", "--config", config(tmp_path, FAST)])
    captured = capsys.readouterr()
    assert code == 1
    assert "push failed (unreachable)" in captured.err
    assert orjson.loads(captured.out)["alerts"]  # the results are still printed
