"""wrk with a Lua script (Debian package `wrk`), when it is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from .loadgen import LoadResult

SCRIPT = Path(__file__).with_name("wrk.lua")


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, body_template: str, *, concurrency: int, duration_s: float, threads: int = 1,
        api_key: str = "", alerts_per_request: int = 1, ok_status: int = 202) -> LoadResult:
    env = {**os.environ, "BENCH_BODY": body_template, "BENCH_API_KEY": api_key}
    out = subprocess.run(  # noqa: S603
        [shutil.which("wrk") or "wrk", "-t", str(threads), "-c", str(concurrency),
         "-d", f"{max(1, round(duration_s))}s", "--latency", "-s", str(SCRIPT), url],
        env=env, capture_output=True, text=True, timeout=duration_s + 60, check=True,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    result = LoadResult("wrk", alerts_per_request=alerts_per_request)
    result.duration_s = data["duration_us"] / 1e6
    result.requests = data["requests"]
    result.errors = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
    # wrk counts non-2xx/3xx answers as status errors; the rest answered what the server answers
    # when it accepts (`ok_status`: 202 from the edge, 200 from Alertmanager).
    result.statuses = Counter({ok_status: data["requests"] - data["status_errors"], 0: data["status_errors"]})
    result.latencies_s = []
    result.p50_override = data["p50_us"] / 1e6  # type: ignore[attr-defined]
    result.p99_override = data["p99_us"] / 1e6  # type: ignore[attr-defined]
    return result
