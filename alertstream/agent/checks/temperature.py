"""CPU and disk temperatures from the kernel's hwmon sensors (/sys/class/hwmon), one result
per chip: its hottest sensor against the thresholds of its kind, and against the chip's own
critical limit when it reports one. Nothing is reported where no such sensor exists (most VMs).

    kind   hwmon drivers
    cpu    coretemp (Intel), k10temp and zenpower (AMD), cpu_thermal (ARM SoCs)
    disk   drivetemp (SATA/SAS drives; the module must be loaded)
    nvme   nvme
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..host import Host
from ..result import CheckResult, grade, worst

NAME = "temperature"
KINDS = {"coretemp": "cpu", "k10temp": "cpu", "zenpower": "cpu", "cpu_thermal": "cpu", "drivetemp": "disk",
         "nvme": "nvme"}
DEFAULTS: dict[str, Any] = {
    "cpu_c": {"warning": 85, "critical": 95},
    "disk_c": {"warning": 55, "critical": 65},
    "nvme_c": {"warning": 70, "critical": 80},
    "use_sensor_limits": True,
}


@dataclass(frozen=True)
class Sensor:
    label: str
    celsius: float
    crit_c: float | None = None


@dataclass(frozen=True)
class Chip:
    driver: str  # the hwmon "name"
    device: str  # what the chip belongs to: "coretemp.0", "nvme0", "0:0:0:0"
    sensors: Sequence[Sensor]


def evaluate(chips: Sequence[Chip], options: Mapping[str, Any]) -> list[CheckResult]:
    results = []
    for chip in chips:
        kind = KINDS.get(chip.driver)
        if kind is None or not chip.sensors:
            continue
        hottest = max(chip.sensors, key=lambda s: s.celsius)
        statuses = [grade(hottest.celsius, options[f"{kind}_c"])]
        limits = [s.crit_c for s in chip.sensors if s.crit_c is not None and s.crit_c > 0]
        if options["use_sensor_limits"]:
            statuses += ["critical" for s in chip.sensors if s.crit_c and s.crit_c > 0 and s.celsius >= s.crit_c]
        status = worst(statuses)
        message = f"{kind} {chip.device}: {hottest.celsius:.0f}°C at {hottest.label}"
        metrics: dict[str, Any] = {"max_c": hottest.celsius, "sensors": len(chip.sensors), "driver": chip.driver}
        if limits:
            metrics["sensor_crit_c"] = min(limits)
        results.append(CheckResult(NAME, status, message, metrics, {"kind": kind, "sensor": chip.device}))
    return results


def read(host: Host) -> list[Chip]:
    root = host.sys / "class" / "hwmon"
    if not root.is_dir():
        return []
    chips = []
    for hwmon in sorted(root.iterdir()):
        try:
            driver = host.read(hwmon / "name").strip()
        except OSError:
            continue
        if driver not in KINDS:
            continue
        device_link = hwmon / "device"
        device = device_link.resolve().name if device_link.exists() else hwmon.name
        sensors = []
        for value in sorted(hwmon.glob("temp*_input")):
            stem = value.name.removesuffix("_input")
            try:
                celsius = int(host.read(value).strip()) / 1000.0
            except (OSError, ValueError):  # a sensor that cannot be read right now (ENXIO, EAGAIN)
                continue
            sensors.append(Sensor(_optional_text(host, hwmon / f"{stem}_label") or stem, celsius,
                                  _optional_millidegrees(host, hwmon / f"{stem}_crit")))
        chips.append(Chip(driver, device, sensors))
    return chips


def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return evaluate(read(host), options)


def _optional_text(host: Host, path: Any) -> str:
    try:
        return host.read(path).strip()
    except OSError:
        return ""


def _optional_millidegrees(host: Host, path: Any) -> float | None:
    text = _optional_text(host, path)
    try:
        return int(text) / 1000.0 if text else None
    except ValueError:
        return None
