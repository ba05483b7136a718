"""`make bench`: every benchmark in one run, side by side on this machine.

Writes bench/results.json and BENCHMARKS.md. Never fails on a number: it reports
whether each target is met. `--smoke` runs a few seconds of each, into a scratch
directory, so the suite can keep the harness from rotting.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

from . import edge_ingest, end_to_end, report, worker_loop
from .stack import stack

ROOT = Path(__file__).resolve().parent.parent
NO_KEY = "- No API key could be created: the edge ran without key checks."


def worker_bench(bootstrap: str, count: int, partitions: int) -> dict[str, Any]:
    worker_loop.prefill(bootstrap, "bench.worker.in", count, partitions)
    raw = worker_loop.raw_loop(bootstrap, "bench.worker.in", "bench.worker.out", count)
    result: dict[str, Any] = {"records": count, "repeat_ratio": 0.8, "raw_records_per_s": round(raw, 1)}
    try:
        check_stage = importlib.import_module("bench.check_stage")
    except ImportError:
        result["check_stage"] = "not measured: bench/check_stage.py is missing"
        return result
    measured = check_stage.measure(bootstrap, "bench.worker.in", count, partitions)
    result["check_stage_alerts_per_s"] = round(measured, 1)
    result["ratio"] = round(measured / raw, 3) if raw else None
    return result


LIGHT_ALERTS_PER_S = 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--smoke", action="store_true", help="a few seconds of each, results to --out only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args(argv)
    duration = 2.0 if args.smoke else args.duration
    partitions = 3 if args.smoke else 6
    results: dict[str, Any] = {"machine": report.machine(), "smoke": args.smoke, "notes": []}
    benches = [
        ("edge_ingest", lambda s: edge_ingest.run(s, duration, fixed_rate=200 if args.smoke else 1000)),
        ("end_to_end", lambda s: end_to_end.run(s, alerts_per_s=50 if args.smoke else 2000, duration_s=duration,
                                                partitions=partitions, drain_s=30 if args.smoke else 120)),
        ("worker", lambda s: worker_bench(s.bootstrap, 2000 if args.smoke else 20_000, partitions)),
    ]
    if not args.smoke:  # the smoke's end-to-end run is already a light one
        # What one alert waits when nothing queues: each stage hop's fetch, batch and linger.
        benches.append(("end_to_end_light", lambda s: end_to_end.run(
            s, alerts_per_s=LIGHT_ALERTS_PER_S, duration_s=duration, partitions=partitions, drain_s=30)))
    for name, call in benches:
        # A stack of its own for each (broker, topics, database): the end-to-end worker must not
        # first work through the alerts the edge bench left in alerts.normalized.
        try:
            with stack(partitions=partitions) as s:
                if not s.api_key and NO_KEY not in results["notes"]:
                    results["notes"].append(NO_KEY)
                results[name] = call(s)
            print(f"bench: {name} done", file=sys.stderr, flush=True)
        except Exception as exc:  # a bench that breaks is reported, and the others still run
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    report.write(results, args.out, None if args.smoke else ROOT / "BENCHMARKS.md")
    print(report.render(results))
    errors = [name for name in ("edge_ingest", "end_to_end", "worker", "end_to_end_light")
              if "error" in results.get(name, {})]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
