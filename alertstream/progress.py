"""Progress of a long read: a rich bar (records, bytes, rate, ETA) on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


def describe(done: int, total: int, nbytes: int, elapsed: float) -> str:
    """`1200/5000 records, 1.2 MB, 600/s, ETA 6s` (pure, for the plain reporter and tests)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    left = max(total - done, 0)
    eta = f"{left / rate:.0f}s" if rate > 0 else "?"
    return f"{done}/{total} records, {human_bytes(nbytes)}, {rate:.0f}/s, ETA {eta}"


class Progress(Protocol):
    def update(self, done: int, total: int, nbytes: int) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    def __init__(self, label: str, out: TextIO, every_s: float = 2.0) -> None:
        self.label, self.out, self.every_s = label, out, every_s
        self.started = self.last = time.monotonic()
        self.state = (0, 0, 0)

    def update(self, done: int, total: int, nbytes: int) -> None:
        self.state = (done, total, nbytes)
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            print(f"{self.label}: {describe(done, total, nbytes, now - self.started)}", file=self.out, flush=True)

    def close(self) -> None:
        done, total, nbytes = self.state
        print(f"{self.label}: {describe(done, max(total, done), nbytes, time.monotonic() - self.started)}",
              file=self.out, flush=True)


class RichProgress:
    def __init__(self, label: str, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("records"),
            TextColumn("{task.fields[size]}"), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
            console=Console(file=out), transient=False,
        )
        self.started = time.monotonic()
        self.task = self.bar.add_task(label, total=None, size="0 B", rate="")
        self.bar.start()

    def update(self, done: int, total: int, nbytes: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = f"{done / elapsed:.0f}/s" if elapsed > 0 else ""
        self.bar.update(self.task, completed=done, total=max(total, done), size=human_bytes(nbytes), rate=rate)

    def close(self) -> None:
        self.bar.stop()


def progress_for(label: str, out: TextIO | None = None) -> Progress:
    out = out or sys.stderr
    return RichProgress(label, out) if out.isatty() else PlainProgress(label, out)
