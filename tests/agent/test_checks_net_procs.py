"""network, process and ports: evaluation tables, and readers over fake /proc files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from alertstream.agent.checks import network, ports, processes
from alertstream.agent.host import Host
from alertstream.agent.options import AgentOptions

OPTIONS = AgentOptions.resolve().checks


@pytest.mark.parametrize(
    ("target", "parsed"),
    [("db-1:5432", ("db-1", 5432)), ("10.0.0.1:22", ("10.0.0.1", 22)), ("[2001:db8::1]:443", ("2001:db8::1", 443))],
)
def test_parse_target(target: str, parsed: tuple[str, int]) -> None:
    assert network.parse_target(target) == parsed


@pytest.mark.parametrize("target", ["db-1", "db-1:", ":80", "db-1:http", "db-1:70000", "db-1:0"])
def test_parse_target_refuses(target: str) -> None:
    with pytest.raises(ValueError):
        network.parse_target(target)


@pytest.mark.parametrize(
    ("probe", "options", "status"),
    [
        (network.Probe("db:5432", 3.2), {}, "ok"),
        (network.Probe("db:5432", 1500.0), {}, "warning"),
        (network.Probe("db:5432", None, "Connection refused"), {}, "critical"),
        (network.Probe("db:5432", None, "timed out"), {"failure_status": "warning"}, "warning"),
    ],
)
def test_network_evaluation(probe: network.Probe, options: dict, status: str) -> None:
    [result] = network.evaluate([probe], {**OPTIONS["network"], **options})
    assert (result.status, result.labels) == (status, {"target": "db:5432"})
    assert result.metrics["reachable"] is (probe.connect_ms is not None)


def test_network_without_targets_reports_nothing() -> None:
    assert network.collect(OPTIONS["network"], Host()) == []


def test_network_collect_with_a_fake_connector() -> None:
    def connect(host: str, port: int, timeout_s: float) -> None:
        if port == 1:
            raise ConnectionRefusedError(111, "Connection refused")

    options = {**OPTIONS["network"], "targets": ["a:22", "b:1", "nonsense"]}
    results = network.collect(options, Host(connect=connect))
    assert [(r.labels["target"], r.status) for r in results] == [
        ("a:22", "ok"), ("b:1", "critical"), ("nonsense", "unknown"),
    ]
    assert "Connection refused" in results[1].message


def test_network_probe_against_a_real_closed_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connecting is refused
        [result] = network.collect({**OPTIONS["network"], "targets": [f"127.0.0.1:{port}"]}, Host())
    assert result.status == "critical" and result.metrics["reachable"] is False


PROCS = [
    processes.Proc("sshd", "sshd"),
    processes.Proc("nginx", "nginx: master process"),
    processes.Proc("nginx", "nginx: worker process"),
    processes.Proc("nginx", "nginx: worker process"),
    processes.Proc("python3", "python3"),
    processes.Proc("kworker/0:1", ""),
    processes.Proc("postgres", "postgres"),
]


@pytest.mark.parametrize(
    ("spec", "status", "running"),
    [
        ("sshd", "ok", 1),
        ("nginx>=3", "ok", 3),
        ("nginx >= 4", "critical", 3),
        ("redis-server", "critical", 0),
        ("post*", "ok", 1),
        ("kworker/*", "ok", 1),
    ],
)
def test_process_evaluation(spec: str, status: str, running: int) -> None:
    [result] = processes.evaluate(PROCS, {**OPTIONS["process"], "names": [spec]})
    assert (result.status, result.metrics["running"]) == (status, running)


def test_process_missing_status_and_a_bad_spec() -> None:
    results = processes.evaluate(PROCS, {**OPTIONS["process"], "names": ["cron", "x>=y"],
                                         "missing_status": "warning"})
    assert [(r.status, r.labels["process"]) for r in results] == [("warning", "cron"), ("unknown", "x>=y")]


def test_process_reader_on_a_fake_proc(tmp_path: Path) -> None:
    for pid, comm, cmdline in [("1", "systemd", b"/sbin/init\0splash\0"), ("42", "sshd", b"/usr/sbin/sshd\0-D\0"),
                               ("77", "kthreadd", b"")]:
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "comm").write_text(comm + "\n")
        (tmp_path / pid / "cmdline").write_bytes(cmdline)
    (tmp_path / "99").mkdir()  # vanished between listing and reading
    (tmp_path / "self").mkdir()
    found = sorted(processes.read(Host(proc=tmp_path)), key=lambda p: p.comm)
    assert found == [processes.Proc("kthreadd", ""), processes.Proc("sshd", "sshd"), processes.Proc("systemd", "init")]


TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 1002 1 0 100 0 0 10 0
   2: 0100007F:0CEA 0100007F:D3C2 01 00000000:00000000 00:00000000 00000000  1000        0 1003 1 0 20 4 30 10 -1
   3: 0500000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1004 1 0 100 0 0 10 0
"""
TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000
   2: 0000000000000000FFFF00000100007F:2382 00000000000000000000000000000000:0000 0A 00000000:00000000
   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000
"""
little_endian = pytest.mark.skipif(sys.byteorder != "little", reason="the fixtures are a little-endian host's")


@little_endian
def test_parse_proc_net_tcp_listeners_only() -> None:
    v4 = [str(x) for x in ports.parse_proc_net_tcp(TCP, v6=False)]
    assert v4 == ["0.0.0.0:22", "127.0.0.1:5432", "10.0.0.5:8080"]
    assert [str(x) for x in ports.parse_proc_net_tcp(TCP6, v6=True)] == [
        "[::]:22", "[::1]:25", "[::ffff:127.0.0.1]:9090", "[2001:db8::1]:443",
    ]


@little_endian
@pytest.mark.parametrize(
    ("allowed", "ignore_loopback", "status", "unexpected"),
    [
        ([22, 8080, 443], True, "ok", ""),
        ([22, 443], True, "warning", "10.0.0.5:8080"),
        (["22", "10.0.0.5:8080", "[2001:db8::1]:443"], True, "ok", ""),
        (["22", "10.0.0.6:8080", "*:443"], True, "warning", "10.0.0.5:8080"),
        ([22, 443, 8080], False, "warning", "127.0.0.1:5432, [::1]:25, [::ffff:127.0.0.1]:9090"),
    ],
)
def test_ports_evaluation(allowed: list, ignore_loopback: bool, status: str, unexpected: str) -> None:
    listeners = ports.parse_proc_net_tcp(TCP, v6=False) + ports.parse_proc_net_tcp(TCP6, v6=True)
    options = {**OPTIONS["ports"], "allowed": allowed, "ignore_loopback": ignore_loopback}
    [result] = ports.evaluate(listeners, options)
    assert result.status == status
    assert result.metrics.get("unexpected", "") == unexpected


def test_ports_without_an_allowed_list_reports_nothing() -> None:
    assert ports.collect(OPTIONS["ports"], Host()) == []


def test_ports_bad_allowed_entry_is_an_error() -> None:
    with pytest.raises(ValueError):
        ports.evaluate([], {**OPTIONS["ports"], "allowed": ["ssh"]})


@little_endian
def test_ports_reader_without_ipv6(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(TCP)
    [result] = ports.collect({**OPTIONS["ports"], "allowed": [22]}, Host(proc=tmp_path))
    assert result.status == "warning" and result.metrics["unexpected"] == "10.0.0.5:8080"
