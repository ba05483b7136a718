"""deploy/systemd: the units name real commands, read an EnvironmentFile, run unprivileged and
hardened; systemd-analyze verifies them where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DEPLOY, our_variables

SYSTEMD = DEPLOY / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
LONG_RUNNING = ("alertstream-edge.service", "alertstream-worker.service", "alertstream-store.service",
                "alertstream-agent.service")
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes", "CapabilityBoundingSet": "", "SystemCallArchitectures": "native",
}


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections of key -> every value (systemd keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_set() -> None:
    assert {u.name for u in UNITS} == {*LONG_RUNNING, "alertstream-migrate.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_run_a_cli_command_as_nobody_special(unit: Path, cli_commands: set[str]) -> None:
    service = parse(unit)["Service"]
    [exec_start] = service["ExecStart"]
    program, command, *_ = exec_start.split()
    assert program == "/opt/alertstream/venv/bin/alertstream"
    assert command in cli_commands
    assert service["EnvironmentFile"][0].startswith("/etc/alertstream/")
    assert service.get("DynamicUser") == ["yes"] or service["User"] == ["alertstream"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{unit.name}: {key}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_units_restart_and_start_at_boot(name: str) -> None:
    unit = parse(SYSTEMD / name)
    assert unit["Service"]["Restart"][0] in ("on-failure", "always")
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    if name != "alertstream-agent.service":
        assert "alertstream-migrate.service" in unit["Unit"]["After"][0]


def test_environment_files_name_only_known_settings(known_settings: set[str]) -> None:
    for example in SYSTEMD.glob("*.env.example"):
        names = {re.sub(r"^#\s*", "", line).split("=", 1)[0] for line in example.read_text().splitlines()
                 if "=" in line and re.match(r"#?\s*[A-Z_]+=", line)}
        assert names and our_variables(names) == names, example.name
        assert names <= known_settings, sorted(names - known_settings)


def test_the_agent_options_example_is_valid() -> None:
    from alertstream.agent.options import AgentOptions, read_document, split_local

    options, _ = split_local(read_document(SYSTEMD / "agent.json.example"))
    AgentOptions.resolve(options)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    program = str(Path(sys.executable).with_name("alertstream"))
    for unit in UNITS:  # the same units, pointed at this checkout's program and a scratch /etc
        text = unit.read_text().replace("/opt/alertstream/venv/bin/alertstream", program)
        (tmp_path / unit.name).write_text(text.replace("/etc/alertstream/", f"{tmp_path}/"))
    for env in ("alertstream.env", "agent.env"):
        (tmp_path / env).write_text("")
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines() if "alertstream" in line]
    assert not problems, "\n".join(problems)
