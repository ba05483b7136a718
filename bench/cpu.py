"""Who spends the machine's CPU during a load: per named process group, the load generator, and
the whole machine. On two shared cores this decides what a server can reach, not its own code alone."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU time (user + system) of each named group of processes so far."""
    out: dict[str, float] = {}
    for name, group in pids.items():
        for pid in group:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            out[name] = out.get(name, 0.0) + times.user + times.system
    return out


def pids_named(name: str) -> list[int]:
    """Processes of this executable name (the machine's Redis server, say)."""
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name]


def _own_and_children() -> tuple[float, float]:
    # wrk is a child that has been waited for by the time the load ends; the asyncio generator is us.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class CpuSplit:
    """CPU spent during a `measured` block, in seconds, by who spent it."""

    wall_s: float = 0.0
    by_process: dict[str, float] = field(default_factory=dict)

    def per_request_us(self, requests: int) -> dict[str, float]:
        return {name: round(spent / requests * 1e6, 1) for name, spent in sorted(self.by_process.items())
                } if requests else {}

    def busy_cores(self) -> dict[str, float]:
        return {name: round(spent / self.wall_s, 2) for name, spent in sorted(self.by_process.items())
                } if self.wall_s else {}


@contextmanager
def measured(pids: dict[str, list[int]], generator_in_process: bool) -> Iterator[CpuSplit]:
    """CPU per named group, the load generator's, and the whole machine's, over the block."""
    split = CpuSplit()
    before, gen_before, busy_before, started = cpu_seconds(pids), _own_and_children(), _machine_busy(), time.monotonic()
    yield split
    split.wall_s = time.monotonic() - started
    after, gen_after = cpu_seconds(pids), _own_and_children()
    split.by_process = {name: spent - before.get(name, 0.0) for name, spent in after.items()}
    own, children = (a - b for a, b in zip(gen_after, gen_before, strict=True))
    split.by_process["load_generator"] = own if generator_in_process else children
    split.by_process["machine"] = _machine_busy() - busy_before
