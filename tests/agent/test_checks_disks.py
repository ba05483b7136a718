"""disk, inodes and disk_io: mount selection, usage tables, I/O strain over two samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertstream.agent.checks import disk, diskio, inodes, mounts
from alertstream.agent.host import FsStats, Host
from alertstream.agent.options import AgentOptions

OPTIONS = AgentOptions.resolve().checks
GiB = 2**30

MOUNTS = """sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
udev /dev devtmpfs rw,nosuid,relatime 0 0
/dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0
tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda2 /var xfs rw,relatime 0 0
/dev/sdb1 /srv/My\\040Data ext4 rw,relatime 0 0
/dev/loop0 /snap/core/123 squashfs ro,nodev,relatime 0 0
/dev/sda2 /var/lib/bind-of-var xfs rw,relatime 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,relatime 0 0
nas:/export /mnt/nas nfs4 rw,relatime 0 0
"""


def test_mount_selection_skips_pseudo_filesystems_snaps_and_repeated_devices() -> None:
    chosen = mounts.select(mounts.parse_mounts(MOUNTS), OPTIONS["disk"])
    assert [m.mountpoint for m in chosen] == ["/", "/var", "/srv/My Data", "/mnt/nas"]


def test_mount_selection_with_an_explicit_list() -> None:
    chosen = mounts.select(mounts.parse_mounts(MOUNTS), {**OPTIONS["disk"], "mounts": ["/", "/srv/*"]})
    assert [m.mountpoint for m in chosen] == ["/", "/srv/My Data"]


def test_a_later_mount_on_the_same_point_hides_the_earlier() -> None:
    text = "/dev/sda1 /data ext4 rw 0 0\n/dev/sdc1 /data ext4 rw 0 0\n"
    assert [m.device for m in mounts.select(mounts.parse_mounts(text), OPTIONS["disk"])] == ["/dev/sdc1"]


def fs(total_gib: float, free_gib: float, avail_gib: float, inodes: int = 1000, inodes_free: int = 900) -> FsStats:
    return FsStats(int(total_gib * GiB), int(free_gib * GiB), int(avail_gib * GiB), inodes, inodes_free)


ROOT = mounts.Mount("/dev/sda1", "/", "ext4")


@pytest.mark.parametrize(
    ("stats", "options", "status", "used_pct"),
    [
        (fs(100, 50, 45), {}, "ok", 52.63),  # root-reserved blocks count as unusable, as df does
        (fs(100, 15, 15), {}, "warning", 85.0),
        (fs(100, 4, 4), {}, "critical", 96.0),
        (fs(100, 5, 0), {}, "critical", 100.0),  # only root's reserve left
        (fs(1000, 40, 40), {"free_bytes": {"warning": 50 * GiB, "critical": 10 * GiB}}, "warning", 96.0),
        (fs(100, 4, 4), {"used_pct": {"warning": 97, "critical": 99}}, "ok", 96.0),
    ],
)
def test_disk_usage_evaluation(stats: FsStats, options: dict, status: str, used_pct: float) -> None:
    opts = {**OPTIONS["disk"], **options}
    if "free_bytes" in options:
        opts["used_pct"] = {"warning": None, "critical": None}
    [result] = disk.evaluate([(ROOT, stats)], opts)
    assert (result.status, result.metrics["used_pct"], dict(result.labels)) == (status, used_pct, {"mount": "/"})


def test_disk_mount_that_cannot_be_read_is_unknown_for_that_mount_only() -> None:
    results = disk.evaluate([(ROOT, fs(100, 50, 50)), (mounts.Mount("nas:/x", "/mnt/nas", "nfs4"), "stale handle")],
                            OPTIONS["disk"])
    assert [(r.status, r.labels["mount"]) for r in results] == [("ok", "/"), ("unknown", "/mnt/nas")]


@pytest.mark.parametrize(
    ("total", "free", "status"),
    [(1000, 900, "ok"), (1000, 150, "warning"), (1000, 10, "critical"), (1000, 0, "critical")],
)
def test_inode_evaluation(total: int, free: int, status: str) -> None:
    [result] = inodes.evaluate([(ROOT, fs(100, 50, 50, total, free))], OPTIONS["inodes"])
    assert result.status == status and result.metrics["free"] == free


def test_filesystems_without_inode_counts_are_left_out() -> None:
    assert inodes.evaluate([(ROOT, fs(100, 50, 50, 0, 0))], OPTIONS["inodes"]) == []


def test_disk_reader_on_a_fake_proc(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mounts").write_text(MOUNTS)
    seen = []

    def fake_statvfs(path: str) -> FsStats:
        seen.append(path)
        if path == "/mnt/nas":
            raise OSError(116, "Stale file handle")
        return fs(100, 10, 10)

    results = disk.collect(OPTIONS["disk"], Host(proc=tmp_path, statvfs=fake_statvfs))
    assert seen == ["/", "/var", "/srv/My Data", "/mnt/nas"]
    assert [r.status for r in results] == ["warning", "warning", "warning", "unknown"]
    assert "Stale file handle" in results[-1].message


def counters(reads: int, read_ms: int, writes: int, write_ms: int, io_ms: int) -> diskio.DiskCounters:
    return diskio.DiskCounters(reads, read_ms, reads * 8, writes, write_ms, writes * 8, io_ms)


STRICT = {"await_ms": {"warning": 50, "critical": 100}}


@pytest.mark.parametrize(
    ("after", "options", "status", "util", "await_ms"),
    [
        (counters(100, 200, 100, 200, 100), {}, "ok", 10.0, 2.0),
        (counters(10, 1000, 10, 1000, 980), {}, "warning", 98.0, 100.0),  # 2000 ms over 20 requests
        (counters(10, 1000, 10, 1000, 980), STRICT, "critical", 98.0, 100.0),
        (counters(100, 10, 100, 10, 990), {}, "warning", 99.0, 0.1),  # busy, but fast
        (counters(10, 5000, 0, 0, 1000), {}, "critical", 100.0, 500.0),
        (counters(0, 0, 0, 0, 0), {}, "ok", 0.0, 0.0),
    ],
)
def test_disk_io_evaluation(after: diskio.DiskCounters, options: dict, status: str, util: float,
                            await_ms: float) -> None:
    reading = diskio.DiskIoReading({"sda": counters(0, 0, 0, 0, 0)}, {"sda": after}, elapsed_s=1.0)
    [result] = diskio.evaluate(reading, {**OPTIONS["disk_io"], **options})
    assert (result.status, result.metrics["util_pct"], result.metrics["await_ms"]) == (status, util, await_ms)
    assert result.labels == {"device": "sda"}


DISKSTATS = """   8       0 sda {r} 0 {sr} {rms} {w} 0 {sw} {wms} 0 {io} 0 0 0 0 0 0 0
   8       1 sda1 {r} 0 {sr} {rms} {w} 0 {sw} {wms} 0 {io} 0 0 0 0 0 0 0
   7       0 loop0 5 0 10 1 0 0 0 0 0 1 0 0 0 0 0 0 0
 253       0 dm-0 1 0 8 1 1 0 8 1 0 1 0 0 0 0 0 0 0
"""


def test_disk_io_reader_takes_whole_disks_from_sys_block(tmp_path: Path) -> None:
    proc, sys = tmp_path / "proc", tmp_path / "sys"
    (sys / "block" / "sda").mkdir(parents=True)
    (sys / "block" / "loop0").mkdir()
    (sys / "block" / "dm-0").mkdir()
    proc.mkdir()
    samples = iter([
        DISKSTATS.format(r=100, sr=800, rms=100, w=100, sw=800, wms=100, io=1000),
        DISKSTATS.format(r=150, sr=1200, rms=150, w=150, sw=1200, wms=250, io=1500),
    ])
    clock = iter([10.0, 12.0])

    def sleep(seconds: float) -> None:
        (proc / "diskstats").write_text(next(samples))

    (proc / "diskstats").write_text(next(samples))
    host = Host(proc=proc, sys=sys, sleep=sleep, monotonic=lambda: next(clock))
    results = diskio.collect(OPTIONS["disk_io"], host)
    assert [r.labels["device"] for r in results] == ["dm-0", "sda"]
    sda = results[1]
    assert sda.metrics["util_pct"] == 25.0  # 500 ms of I/O in 2 s
    assert sda.metrics["await_ms"] == 2.0  # 200 ms over 100 requests
    assert sda.metrics["read_bytes_per_s"] == 400 * 512 / 2
