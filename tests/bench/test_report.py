"""The report renders what a full `make bench` run produces, including the light-load run that the
smoke version skips."""

from __future__ import annotations

from pathlib import Path

from bench import report


def test_the_report_shows_the_light_load_run(tmp_path: Path) -> None:
    results = {
        "machine": report.machine(),
        "end_to_end_light": {"offered_alerts_per_s": 100, "duration_s": 15.0, "alerts_notified": 1500,
                             "notified_within_2s": 1490, "e2e_latency_p50_ms": 490.1, "e2e_latency_p99_ms": 915.4},
    }
    report.write(results, tmp_path, tmp_path / "BENCHMARKS.md")
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "light load (100 alerts/s for 15.0 s): e2e p50 490.1 ms, p99 915.4 ms; 1490 of 1500" in text
    assert results["verdicts"]["e2e_p99"] is None  # the light run is not the target's load


def test_a_failed_light_run_is_left_out_of_the_table(tmp_path: Path) -> None:
    results = {"machine": report.machine(), "end_to_end_light": {"error": "RuntimeError: no broker"}}
    report.write(results, tmp_path, tmp_path / "BENCHMARKS.md")
    assert "End to end at a light load (" not in (tmp_path / "BENCHMARKS.md").read_text()
