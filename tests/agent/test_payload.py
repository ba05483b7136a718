"""What the agent pushes is exactly what the edge's cluster driver takes."""

from __future__ import annotations

from datetime import UTC, datetime

from alertstream.agent.checks import CHECKERS, raid
from alertstream.agent.host import Host
from alertstream.agent.options import AgentOptions
from alertstream.agent.payload import build_payload, encode
from alertstream.agent.result import CheckResult, unknown
from alertstream.agent.runner import run_checks
from alertstream.ingest.drivers import DRIVERS, cluster

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_statuses_map_to_alert_states_and_severities() -> None:
    results = [
        CheckResult("disk", "critical", "/var is 97% full", {"used_pct": 97.2, "device": "/dev/sda2"},
                    {"mount": "/var"}),
        CheckResult("memory", "warning", "memory 91% used", {"used_pct": 91.0}),
        CheckResult("cpu", "ok", "fine", {"usage_pct": 3.5, "cores": 4}),
        unknown("raid", "check failed: PermissionError: denied"),
        CheckResult("network", "critical", "db:5432 unreachable", {"reachable": False}, {"target": "db:5432"}),
    ]
    payload = build_payload("i-0abc", "web-1", results, "0.1.0")
    assert cluster.detect(payload)
    assert next(d for d in DRIVERS if d.detect(payload)) is cluster  # auto-detection picks it too
    alerts = cluster.parse(payload, NOW)
    assert [(a.name, a.status, a.severity) for a in alerts] == [
        ("disk", "firing", "critical"), ("memory", "firing", "warning"), ("cpu", "resolved", "info"),
        ("raid", "firing", "info"), ("network", "firing", "critical"),
    ]
    disk = alerts[0]
    assert disk.labels == {"mount": "/var", "instance_id": "i-0abc", "hostname": "web-1", "check": "disk"}
    assert disk.annotations == {"metric.used_pct": "97.2", "metric.device": "/dev/sda2", "message": "/var is 97% full"}
    assert alerts[4].annotations["metric.reachable"] == "false"


def test_one_item_keeps_its_identity_across_rounds_and_statuses() -> None:
    def fingerprint(status: str, used: float) -> str:
        result = CheckResult("disk", status, f"{used}%", {"used_pct": used}, {"mount": "/var"})  # type: ignore[arg-type]
        return cluster.parse(build_payload("i-1", "h", [result], "v"), NOW)[0].fingerprint

    assert fingerprint("critical", 97.0) == fingerprint("ok", 40.0)
    other = CheckResult("disk", "ok", "", {}, {"mount": "/"})
    assert cluster.parse(build_payload("i-1", "h", [other], "v"), NOW)[0].fingerprint != fingerprint("ok", 1)


def test_long_messages_are_clipped() -> None:
    [alert] = cluster.parse(build_payload("i", "h", [CheckResult("x", "ok", "m" * 5000)], "v"), NOW)
    assert len(alert.annotations["message"]) == 500


def test_a_real_round_on_this_machine_parses() -> None:
    local = {"checks": {"cpu": {"sample_s": 0.05}, "disk_io": {"sample_s": 0.05},
                        "network": {"targets": ["127.0.0.1:9"]}, "process": {"names": ["python*"]},
                        "ports": {"allowed": [22]}}}
    options = AgentOptions.resolve(local)
    results = run_checks(CHECKERS, options.checks, Host(), timeout_s=20)
    checks = {r.check for r in results}
    assert {"cpu", "memory", "disk", "network", "process", "ports", "reboot_required"} <= checks
    assert next(r for r in results if r.check == "process").status == "ok"  # this test runs in python
    alerts = cluster.parse(build_payload("i-test", "test-host", results, "v"), NOW)
    assert len(alerts) == len(results)
    assert encode(build_payload("i", "h", results, "v")).startswith(b'{"instance_id":"i"')


def test_raid_results_from_a_fake_mdstat_parse() -> None:
    mdstat = "md0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks super 1.2 [2/1] [U_]\n\n"
    results = raid.evaluate(raid.parse_mdstat(mdstat), AgentOptions.resolve().checks["raid"])
    [alert] = cluster.parse(build_payload("i", "h", results, "v"), NOW)
    assert (alert.severity, alert.labels["array"], alert.annotations["metric.working"]) == ("critical", "md0", "1")
