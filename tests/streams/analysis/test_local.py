"""The local provider over realistic incidents of every category: a table of alert
data as our drivers produce it -> category, cause, recommendations, confidence."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from alertstream.schemas.records import IncidentEvent
from alertstream.streams.analysis import local
from alertstream.streams.analysis.contract import CATEGORIES, RECOMMENDATION_TYPES

from .incidents import alert, incident


@dataclass(frozen=True)
class Case:
    id: str
    event: IncidentEvent
    category: str
    cause: str  # a phrase the probable cause must contain
    action: str  # a phrase one of the recommended actions must contain


CASES = [
    Case("memory-oomkilled-k8s", incident(alert(
        "KubeContainerOOMKilled", labels={"namespace": "payments", "pod": "api-7d9f8", "container": "api",
                                          "reason": "OOMKilled"},
        annotations={"description": "Container api in pod payments/api-7d9f8 was OOMKilled 3 times in 10m"})),
        "memory", "out-of-memory killer", "kubectl -n payments describe pod api-7d9f8"),
    Case("memory-pressure-node", incident(alert(
        "NodeMemoryHighUtilization", severity="warning", labels={"instance": "db-1:9100", "job": "node"},
        annotations={"summary": "Host out of memory (instance db-1)",
                     "description": "Node memory is filling up (< 10% left)"})),
        "memory", "Memory usage on db-1 is high", "ps aux --sort=-rss"),
    Case("disk-space-cluster-check", incident(alert(
        "disk", source="cluster", labels={"instance_id": "i-0abc", "hostname": "web-1", "check": "disk",
                                          "mountpoint": "/var"},
        annotations={"metric.used_pct": "91.5", "message": "/var is 91.5% full"})),
        "disk", "used_pct=91.5", "du -xh --max-depth=2 /var"),
    Case("disk-inodes-prometheus", incident(alert(
        "NodeFilesystemFilesFillingUp", severity="warning",
        labels={"instance": "db-2:9100", "mountpoint": "/srv", "device": "/dev/sda1", "fstype": "ext4"},
        annotations={"description": "Filesystem on /dev/sda1 at db-2 has only 3% available inodes left."})),
        "disk", "out of inodes", "df -i /srv"),
    Case("cpu-datadog", incident(alert(
        "CPU usage high on web-3", source="datadog", labels={"host": "web-3", "env": "prod"},
        annotations={"message": "system.cpu.user above 90% for 10 minutes on web-3"})),
        "cpu", "CPU on web-3 is saturated", "top -b -n1"),
    Case("cpu-throttling-k8s", incident(alert(
        "CPUThrottlingHigh", severity="warning", labels={"namespace": "shop", "pod": "api-5f6", "container": "api"},
        annotations={"description": "42% throttling of CPU in namespace shop for container api in pod api-5f6."})),
        "cpu", "CPU-throttled", "kubectl -n shop top pod api-5f6"),
    Case("network-packet-loss-check", incident(alert(
        "network", source="cluster", severity="warning",
        labels={"instance_id": "i-0def", "hostname": "edge-2", "check": "network", "interface": "eth0"},
        annotations={"metric.packet_loss_pct": "7.2", "message": "packet loss 7.2% on eth0"})),
        "network", "packet_loss_pct=7.2", "mtr -rwc 20"),
    Case("network-dns", incident(alert(
        "CoreDNSErrorsHigh", labels={"namespace": "kube-system", "pod": "coredns-5d78c"},
        annotations={"summary": "CoreDNS is returning SERVFAIL for 12% of DNS requests"})),
        "network", "Name resolution is failing", "dig @1.1.1.1"),
    Case("process-crashloop", incident(alert(
        "KubePodCrashLooping", labels={"namespace": "shop", "pod": "cart-6c9", "container": "cart"},
        annotations={"description": "Pod shop/cart-6c9 (cart) is in waiting state (reason: CrashLoopBackOff)."})),
        "process", "crash-looping", "kubectl -n shop logs cart-6c9 --previous"),
    Case("process-zabbix-not-running", incident(alert(
        "Process nginx is not running", source="zabbix", severity="error",
        labels={"host": "lb-1", "service": "nginx"},
        annotations={"description": "The nginx daemon process count is 0"})),
        "process", "keeps stopping or restarting", "systemctl status nginx"),
    Case("availability-instance-down", incident(alert(
        "InstanceDown", labels={"instance": "api-2:9100", "job": "api"},
        annotations={"summary": "Instance api-2:9100 down", "description": "api-2 has been down for 5 minutes"})),
        "availability", "not answering", "ping -c 3 api-2"),
    Case("availability-probe-grafana", incident(
        alert("BlackboxProbeFailed", source="grafana", labels={"instance": "https://shop.example.com",
                                                                 "service": "shop"},
              annotations={"summary": "Probe failed for https://shop.example.com"}),
        alert("BlackboxProbeFailed", source="grafana", labels={"instance": "https://api.example.com",
                                                                 "service": "shop"})),
        "availability", "shop on shop.example.com", "ping -c 3 shop.example.com"),
    Case("latency-alertmanager-group", incident(
        *(alert("HighLatency", severity=s, labels={"instance": f"api-{i}:9100", "job": "api", "service": "api"},
                annotations={"summary": f"p99 latency above 2s on api-{i}"})
          for i, s in enumerate(("critical", "warning", "warning")))),
        "latency", "Requests to api are slow", "pg_stat_statements"),
    Case("error-rate-5xx", incident(alert(
        "HTTP5xxRateHigh", severity="error", labels={"service": "checkout", "namespace": "shop"},
        annotations={"description": "5xx responses above 5% of requests for checkout"})),
        "error-rate", "checkout is returning errors", "kubectl -n shop rollout undo deployment/checkout"),
    Case("certificate-expiring", incident(alert(
        "SSLCertExpiringSoon", severity="warning", labels={"instance": "shop.example.com:443"},
        annotations={"description": "SSL certificate for shop.example.com expires in 6 days",
                     "value.days_left": "6"})),
        "certificate", "close to expiry", "openssl s_client -connect shop.example.com:443"),
    Case("certificate-expired", incident(alert(
        "X509CertificateExpired", labels={"host": "mail.example.com", "service": "postfix"},
        annotations={"summary": "Certificate on mail.example.com expired 2 hours ago"})),
        "certificate", "has expired", "openssl x509 -noout -dates"),
    Case("general-backup-missed", incident(alert(
        "BackupJobMissed", severity="warning", labels={"host": "nas-1", "job": "nightly"},
        annotations={"summary": "The nightly job did not report"})),
        "general", "reported a problem", ""),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_local_provider_table(case: Case) -> None:
    result = local.analyze(case.event)
    assert result.category == case.category
    assert case.cause.lower() in result.probable_cause.lower()
    assert result.summary and case.event.title in result.summary
    assert 0 < result.confidence < 1
    assert result.recommendations
    assert [r.priority for r in result.recommendations] == sorted(r.priority for r in result.recommendations)
    assert all(r.type in RECOMMENDATION_TYPES and r.title and r.description for r in result.recommendations)
    actions = [a for r in result.recommendations for a in r.actions]
    assert all("{" not in a.replace("%{http_code}", "") for a in actions), actions  # every template filled in
    if case.action:
        assert any(case.action in a for a in actions), actions


def test_every_category_is_covered_by_the_table() -> None:
    assert {c.category for c in CASES} == set(CATEGORIES)


def test_confidence_comes_from_the_evidence() -> None:
    confidences = {local.analyze(c.event).confidence for c in CASES}
    assert len(confidences) >= 5
    weak = local.analyze(incident(alert("disk", labels={"hostname": "h"})))
    strong = local.analyze(incident(
        alert("disk", source="cluster", labels={"hostname": "h", "check": "disk", "mountpoint": "/"},
              annotations={"metric.used_pct": "97", "message": "disk / 97% full"}),
        alert("NodeFilesystemAlmostOutOfSpace", labels={"instance": "h:9100", "mountpoint": "/"}),
    ))
    assert strong.category == weak.category == "disk"
    assert strong.confidence > weak.confidence


def test_critical_incidents_put_mitigation_first_and_warnings_investigation() -> None:
    crit = local.analyze(next(c.event for c in CASES if c.id == "memory-oomkilled-k8s"))
    warn = local.analyze(next(c.event for c in CASES if c.id == "memory-pressure-node"))
    assert crit.recommendations[0].type == "mitigate"
    assert warn.recommendations[0].type == "investigate"


def test_words_are_matched_whole_not_inside_other_words() -> None:
    # "backup" holds "up", "upload" holds "load", "errorless" is no error: none of them is evidence.
    result = local.analyze(incident(alert("BackupUploadStalled", labels={"host": "nas-1"})))
    assert result.category == "general"


def test_resolved_incident_says_so() -> None:
    result = local.analyze(incident(alert("InstanceDown", status="resolved", labels={"instance": "a:1"})))
    assert "all alerts resolved" in result.summary


def test_same_incident_same_analysis() -> None:
    event = CASES[0].event
    assert local.analyze(event) == local.analyze(event)


def test_never_inspects_the_machine_it_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import shutil
    import socket
    import subprocess

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the local provider must reason from alert data only")

    for module, name in ((os, "getloadavg"), (os, "statvfs"), (shutil, "disk_usage"), (socket, "gethostname"),
                         (subprocess, "run"), (subprocess, "Popen"), (os, "cpu_count")):
        monkeypatch.setattr(module, name, forbidden)
    for case in CASES:
        local.analyze(case.event)
    # And statically: its modules import nothing that could look at this machine.
    root = Path(local.__file__).parent
    for name in ("local.py", "classify.py", "playbooks.py"):
        tree = ast.parse((root / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"os", "socket", "subprocess", "shutil", "psutil", "platform", "resource"}, name
