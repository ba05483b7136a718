"""reboot_required and temperature: evaluation tables and readers over fake /var/run and /sys trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alertstream.agent.checks import reboot, temperature
from alertstream.agent.host import Host
from alertstream.agent.options import AgentOptions

OPTIONS = AgentOptions.resolve().checks
DAY = 86_400


@pytest.mark.parametrize(
    ("flag", "options", "status"),
    [
        (reboot.RebootFlag(False), {}, "ok"),
        (reboot.RebootFlag(True, 60, ["linux-image-6.8.0-45-generic"]), {}, "warning"),
        (reboot.RebootFlag(True, 10 * DAY), {"age_days": {"warning": 0, "critical": 7}}, "critical"),
        (reboot.RebootFlag(True, 2 * DAY), {"age_days": {"warning": 3, "critical": 7}}, "ok"),
    ],
)
def test_reboot_evaluation(flag: reboot.RebootFlag, options: dict, status: str) -> None:
    [result] = reboot.evaluate(flag, {**OPTIONS["reboot_required"], **options})
    assert result.status == status and result.metrics["required"] is flag.required


def test_reboot_reader(tmp_path: Path) -> None:
    host = Host(run=tmp_path, clock=lambda: 1_000_000.0 + 3 * DAY)
    assert reboot.read(host) == reboot.RebootFlag(False)
    (tmp_path / "reboot-required").write_text("*** System restart required ***\n")
    os.utime(tmp_path / "reboot-required", (1_000_000, 1_000_000))
    (tmp_path / "reboot-required.pkgs").write_text("libc6\nlinux-base\nlibc6\n")
    flag = reboot.read(host)
    assert flag == reboot.RebootFlag(True, 3 * DAY, ["libc6", "linux-base"])
    [result] = reboot.evaluate(flag, OPTIONS["reboot_required"])
    assert result.message == "reboot required for 3.0 days by libc6, linux-base"


def chip(driver: str, *celsius: float, crit: float | None = None, device: str = "dev0") -> temperature.Chip:
    return temperature.Chip(driver, device, [temperature.Sensor(f"t{i}", c, crit) for i, c in enumerate(celsius)])


@pytest.mark.parametrize(
    ("chips", "expected"),
    [
        ([chip("coretemp", 45, 52, 50)], [("cpu", "ok", 52)]),
        ([chip("k10temp", 88)], [("cpu", "warning", 88)]),
        ([chip("coretemp", 60, 96)], [("cpu", "critical", 96)]),
        ([chip("coretemp", 80, crit=80)], [("cpu", "critical", 80)]),  # the chip's own limit
        ([chip("drivetemp", 58)], [("disk", "warning", 58)]),
        ([chip("nvme", 45, 62, crit=84)], [("nvme", "ok", 62)]),
        ([chip("acpitz", 99), chip("iwlwifi_1", 70)], []),  # not a CPU or disk sensor
        ([chip("coretemp")], []),  # no readable sensor
    ],
)
def test_temperature_evaluation(chips: list[temperature.Chip], expected: list[tuple[str, str, float]]) -> None:
    results = temperature.evaluate(chips, OPTIONS["temperature"])
    assert [(r.labels["kind"], r.status, r.metrics["max_c"]) for r in results] == expected


def test_sensor_limits_can_be_ignored() -> None:
    options = {**OPTIONS["temperature"], "use_sensor_limits": False}
    [result] = temperature.evaluate([chip("coretemp", 80, crit=80)], options)
    assert result.status == "ok" and result.metrics["sensor_crit_c"] == 80


def write_hwmon(root: Path, index: int, name: str, device: str | None,
                temps: dict[str, tuple[str, str | None]]) -> None:
    hwmon = root / "class" / "hwmon" / f"hwmon{index}"
    hwmon.mkdir(parents=True)
    (hwmon / "name").write_text(name + "\n")
    if device:
        target = root / "devices" / device
        target.mkdir(parents=True, exist_ok=True)
        (hwmon / "device").symlink_to(target)
    for stem, (value, label) in temps.items():
        (hwmon / f"{stem}_input").write_text(value + "\n")
        if label:
            (hwmon / f"{stem}_label").write_text(label + "\n")
    if "temp1" in temps:
        (hwmon / "temp1_crit").write_text("100000\n")


def test_temperature_reader_on_a_fake_sys(tmp_path: Path) -> None:
    write_hwmon(tmp_path, 0, "acpitz", None, {"temp1": ("27800", None)})
    write_hwmon(tmp_path, 1, "coretemp", "coretemp.0",
                {"temp1": ("61000", "Package id 0"), "temp2": ("59000", "Core 0"), "temp3": ("63000", "Core 1")})
    write_hwmon(tmp_path, 2, "nvme", "nvme0", {"temp1": ("41850", "Composite")})
    results = temperature.collect(OPTIONS["temperature"], Host(sys=tmp_path))
    assert [(r.labels, r.status, r.metrics["max_c"]) for r in results] == [
        ({"kind": "cpu", "sensor": "coretemp.0"}, "ok", 63.0),
        ({"kind": "nvme", "sensor": "nvme0"}, "ok", 41.85),
    ]
    assert results[0].message == "cpu coretemp.0: 63°C at Core 1"
    assert results[0].metrics["sensor_crit_c"] == 100.0


def test_temperature_on_a_machine_without_sensors(tmp_path: Path) -> None:
    assert temperature.collect(OPTIONS["temperature"], Host(sys=tmp_path)) == []
