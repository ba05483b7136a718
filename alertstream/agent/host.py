"""Where the readers look and how they wait: the one seam between checkers and the machine.

Readers take a Host instead of touching /proc, the clock or sockets directly, so a test can
point them at a directory of fake files and a fake clock.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FsStats:
    """statvfs() in bytes and inode counts."""

    total_bytes: int
    free_bytes: int  # free for root
    avail_bytes: int  # free for unprivileged users (what df shows as Avail)
    inodes: int
    inodes_free: int


def statvfs(path: str) -> FsStats:
    st = os.statvfs(path)
    size = st.f_frsize or st.f_bsize
    return FsStats(st.f_blocks * size, st.f_bfree * size, st.f_bavail * size, st.f_files, st.f_ffree)


def tcp_connect(host: str, port: int, timeout_s: float) -> None:
    """Open and close a TCP connection; raises OSError when it cannot."""
    with socket.create_connection((host, port), timeout=timeout_s):
        pass


@dataclass(frozen=True)
class Host:
    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    run: Path = Path("/var/run")
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], float] = time.time
    statvfs: Callable[[str], FsStats] = statvfs
    connect: Callable[[str, int, float], None] = tcp_connect

    def read(self, path: Path) -> str:
        return path.read_text(encoding="utf-8", errors="replace")
