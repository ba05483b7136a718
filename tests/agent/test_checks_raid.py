"""raid: /proc/mdstat as the kernel prints it, in every state worth telling apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertstream.agent.checks import raid
from alertstream.agent.host import Host
from alertstream.agent.options import AgentOptions

OPTIONS = AgentOptions.resolve().checks["raid"]

HEALTHY = """Personalities : [raid1] [linear] [multipath] [raid0] [raid6] [raid5] [raid4] [raid10]
md1 : active raid1 sdb2[1] sda2[0]
      976630464 blocks super 1.2 [2/2] [UU]
      bitmap: 2/8 pages [8KB], 65536KB chunk

md0 : active raid1 sdb1[1] sda1[0]
      1048512 blocks super 1.2 [2/2] [UU]

unused devices: <none>
"""

DEGRADED = """Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid5 sdd1[3](F) sdc1[2] sdb1[1] sda1[0]
      2930270208 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/3] [UUU_]
      bitmap: 3/8 pages [12KB], 65536KB chunk

unused devices: <none>
"""

REBUILDING = """Personalities : [raid1]
md0 : active raid1 sdc1[2] sda1[0]
      976630464 blocks super 1.2 [2/1] [U_]
      [====>................]  recovery = 23.4% (228543232/976630464) finish=61.8min speed=201664K/sec
      bitmap: 4/8 pages [16KB], 65536KB chunk

unused devices: <none>
"""

RESYNC = """Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]
      [=>...................]  resync =  7.5% (73247424/976630464) finish=80.1min speed=187904K/sec

unused devices: <none>
"""

SCRUB = """Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]
      [==========>..........]  check = 52.0% (507847808/976630464) finish=40.2min speed=194304K/sec

unused devices: <none>
"""

INACTIVE = """Personalities : [raid1]
md127 : inactive sdc1[1](S)
      976630488 blocks super 1.2

unused devices: <none>
"""

SPARE_TOOK_OVER = """Personalities : [raid1]
md0 : active raid1 sdc1[2] sdb1[1](F) sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]

unused devices: <none>
"""

RAID0_AND_DELAYED = """Personalities : [raid0] [raid1]
md2 : active raid0 sdf1[1] sde1[0]
      1953260544 blocks super 1.2 512k chunks

md1 : active raid1 sdh1[2] sdg1[0]
      976630464 blocks super 1.2 [2/1] [U_]
        resync=DELAYED

unused devices: <none>
"""

NO_ARRAYS = """Personalities :
unused devices: <none>
"""


@pytest.mark.parametrize(
    ("mdstat", "expected"),
    [
        (HEALTHY, [("md1", "ok"), ("md0", "ok")]),
        (DEGRADED, [("md0", "critical")]),
        (REBUILDING, [("md0", "warning")]),
        (RESYNC, [("md0", "warning")]),
        (SCRUB, [("md0", "ok")]),
        (INACTIVE, [("md127", "critical")]),
        (SPARE_TOOK_OVER, [("md0", "warning")]),
        (RAID0_AND_DELAYED, [("md2", "ok"), ("md1", "critical")]),  # a delayed resync does not mend md1
        (NO_ARRAYS, []),
    ],
    ids=["healthy", "degraded", "rebuilding", "resync", "scrub", "inactive", "spare", "raid0-delayed", "none"],
)
def test_raid_evaluation(mdstat: str, expected: list[tuple[str, str]]) -> None:
    results = raid.evaluate(raid.parse_mdstat(mdstat), OPTIONS)
    assert [(r.labels["array"], r.status) for r in results] == expected
    assert all(r.check == "raid" for r in results)


def test_degraded_array_metrics_and_message() -> None:
    [array] = raid.parse_mdstat(DEGRADED)
    assert (array.level, array.total, array.working, array.member_map, array.failed) == ("raid5", 4, 3, "UUU_", 1)
    [result] = raid.evaluate([array], OPTIONS)
    assert "degraded: 3 of 4 members [UUU_]" in result.message
    assert result.metrics["members"] == 4 and result.metrics["working"] == 3


def test_rebuilding_array_reports_progress() -> None:
    [result] = raid.evaluate(raid.parse_mdstat(REBUILDING), OPTIONS)
    assert result.metrics["action"] == "recovery"
    assert result.metrics["progress_pct"] == 23.4 and result.metrics["finish_min"] == 61.8
    assert "23.4% done" in result.message


def test_statuses_are_options() -> None:
    options = {**OPTIONS, "degraded_status": "warning", "rebuilding_status": "critical"}
    assert raid.evaluate(raid.parse_mdstat(DEGRADED), options)[0].status == "warning"
    assert raid.evaluate(raid.parse_mdstat(REBUILDING), options)[0].status == "critical"


def test_a_machine_without_md_reports_nothing(tmp_path: Path) -> None:
    assert raid.collect(OPTIONS, Host(proc=tmp_path)) == []
    (tmp_path / "mdstat").write_text(DEGRADED)
    assert [r.status for r in raid.collect(OPTIONS, Host(proc=tmp_path))] == ["critical"]
