"""A few seconds of every benchmark, so `make bench` cannot rot. Numbers are not checked:
the bench reports whether targets are met, it never fails on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_runs_every_benchmark(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_"))}
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["edge_ingest"]["edge"]["ok"] > 0
    assert results["edge_ingest"]["bare_starlette"]["ok"] > 0
    assert {"server", "load_generator", "machine"} <= set(results["edge_ingest"]["edge"]["cpu_us_per_request"])
    # How many arrive depends on how loaded the machine is; the smoke run only proves the path works.
    assert results["end_to_end"]["alerts_sent"] > 0 and "alerts_notified" in results["end_to_end"]
    if results["end_to_end"]["alerts_notified"]:
        assert {"worker", "store", "edge", "broker"} <= set(results["end_to_end"]["cpu_ms_per_alert_notified"])
    assert results["worker"]["raw_records_per_s"] > 0 and "check_stage_alerts_per_s" in results["worker"]
    assert set(results["verdicts"]) == {"edge_ratio", "edge_rps", "edge_ack_p99", "e2e_rate", "e2e_p99", "worker_ratio"}
    assert "# Benchmarks" in out.stdout
