"""cpu and memory: parsers over real-format /proc text, evaluation tables with fake readings."""

from __future__ import annotations

import pytest

from alertstream.agent.checks import cpu, memory
from alertstream.agent.options import AgentOptions

OPTIONS = AgentOptions.resolve().checks

STAT = """cpu  {user} 0 {system} {idle} {iowait} 0 0 0 0 0
cpu0 1 0 1 1 0 0 0 0 0 0
cpu1 1 0 1 1 0 0 0 0 0 0
cpu2 1 0 1 1 0 0 0 0 0 0
cpu3 1 0 1 1 0 0 0 0 0 0
intr 1234 0 0
ctxt 5678
"""


def times(user: int, system: int, idle: int, iowait: int = 0) -> cpu.CpuTimes:
    return cpu.parse_stat(STAT.format(user=user, system=system, idle=idle, iowait=iowait))


def test_parse_stat_counts_cores_and_adds_iowait_to_idle() -> None:
    parsed = times(100, 50, 800, 50)
    assert parsed == cpu.CpuTimes(total=1000, idle=850, iowait=50, cores=4)


def test_parse_stat_without_the_aggregate_line_is_an_error() -> None:
    with pytest.raises(ValueError):
        cpu.parse_stat("intr 1 2 3\n")


def test_parse_loadavg() -> None:
    assert cpu.parse_loadavg("0.50 1.25 2.00 3/456 7890\n") == (0.5, 1.25, 2.0)


@pytest.mark.parametrize(
    ("busy", "iowait", "load5", "options", "status", "usage"),
    [
        (10, 0, 0.4, {}, "ok", 10.0),
        (90, 0, 0.4, {}, "warning", 90.0),  # exactly at the threshold counts
        (97, 0, 0.4, {}, "warning", 97.0),
        (99, 0, 0.4, {}, "critical", 99.0),
        (10, 0, 8.0, {}, "warning", 10.0),  # 2.0 per core on 4 cores
        (10, 0, 16.0, {}, "critical", 10.0),  # 4.0 per core
        (10, 40, 0.4, {"iowait_pct": {"warning": 30, "critical": None}}, "warning", 10.0),  # iowait is idle time
        (99, 0, 0.4, {"usage_pct": {"warning": None, "critical": None}}, "ok", 99.0),  # levels switched off
    ],
)
def test_cpu_evaluation(busy: int, iowait: int, load5: float, options: dict, status: str, usage: float) -> None:
    before = times(0, 0, 0)
    after = times(busy, 0, 100 - busy - iowait, iowait)
    reading = cpu.CpuReading(before, after, (0.1, load5, 0.1))
    [result] = cpu.evaluate(reading, {**OPTIONS["cpu"], **options})
    assert (result.check, result.status) == ("cpu", status)
    assert result.metrics["usage_pct"] == usage
    assert result.metrics["cores"] == 4
    assert result.metrics["load_per_core"] == round(load5 / 4, 2)


def test_cpu_no_time_passed_is_idle_not_a_division_error() -> None:
    same = times(5, 5, 5)
    [result] = cpu.evaluate(cpu.CpuReading(same, same, (0, 0, 0)), OPTIONS["cpu"])
    assert result.status == "ok" and result.metrics["usage_pct"] == 0.0


MEMINFO = """MemTotal:       16000000 kB
MemFree:          500000 kB
MemAvailable:    {available} kB
Buffers:          100000 kB
Cached:          2000000 kB
SwapTotal:       {swap_total} kB
SwapFree:        {swap_free} kB
HugePages_Total:       0
"""


@pytest.mark.parametrize(
    ("available", "swap_total", "swap_free", "status", "used_pct"),
    [
        (8_000_000, 0, 0, "ok", 50.0),
        (1_600_000, 0, 0, "warning", 90.0),
        (400_000, 0, 0, "critical", 97.5),
        (8_000_000, 1_000_000, 100_000, "warning", 50.0),  # swap 90% used
        (8_000_000, 1_000_000, 900_000, "ok", 50.0),
    ],
)
def test_memory_evaluation(available: int, swap_total: int, swap_free: int, status: str, used_pct: float) -> None:
    info = memory.parse_meminfo(MEMINFO.format(available=available, swap_total=swap_total, swap_free=swap_free))
    [result] = memory.evaluate(info, OPTIONS["memory"])
    assert result.status == status
    assert result.metrics["used_pct"] == used_pct
    assert result.metrics["total_bytes"] == 16_000_000 * 1024


def test_memory_parse_reads_kb_as_bytes_and_plain_counts_as_is() -> None:
    info = memory.parse_meminfo(MEMINFO.format(available=1, swap_total=0, swap_free=0))
    assert info["MemAvailable"] == 1024 and info["HugePages_Total"] == 0


def test_memory_without_memavailable_uses_free_plus_cache() -> None:
    info = {"MemTotal": 1000, "MemFree": 100, "Buffers": 50, "Cached": 350}
    [result] = memory.evaluate(info, OPTIONS["memory"])
    assert result.metrics["available_bytes"] == 500 and result.status == "ok"


def test_memory_without_total_is_an_error() -> None:
    with pytest.raises(ValueError):
        memory.evaluate({}, OPTIONS["memory"])
