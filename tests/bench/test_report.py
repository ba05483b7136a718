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


def test_the_report_shows_who_spent_the_cpu_during_the_edge_runs(tmp_path: Path) -> None:
    run = {"requests_per_s": 5000.0, "alerts_per_s": 5000.0, "latency_p50_ms": 12.0, "latency_p99_ms": 20.0,
           "errors": 0, "statuses": {"202": 75000}}
    results = {
        "machine": report.machine(),
        "edge_ingest": {
            "edge": {**run, "cpu_us_per_request": {"server": 190.5, "broker": 60.2, "machine": 399.0},
                     "busy_cores": {"server": 0.95, "broker": 0.3, "machine": 1.99}},
            "bare_starlette": {**run, "cpu_us_per_request": {"server": 40.1, "load_generator": 20.0,
                                                             "machine": 86.0}},
        },
    }
    report.write(results, tmp_path, tmp_path / "BENCHMARKS.md")
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| edge | 190.5 (0.95) | 60.2 (0.3) | – | – | 399.0 (1.99) |" in text
    assert "| bare_starlette | 40.1 | – | – | 20.0 | 86.0 |" in text
