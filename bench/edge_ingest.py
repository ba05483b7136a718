"""Bench 1: the real edge (production path on) against the floor of its own stack, a bare
Starlette app under the same uvicorn settings, and Alertmanager when it is installed."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from alertstream.embedded import free_port, wait_for_port

from . import cpu, wrk
from .loadgen import LoadResult, closed_loop, open_loop
from .stack import Stack, uvicorn_app

CONCURRENCY = 64


def generic_body(run: str) -> str:
    # Unique per request (the @N@ token), so every request is a new alert and nothing is deduplicated.
    return ('{"name": "BenchAlert", "severity": "warning", "labels": {"instance": "host-@N@", "run": "' + run
            + '"}, "annotations": {"summary": "bench"}}')


def alertmanager_body(run: str) -> str:
    return '[{"labels": {"alertname": "BenchAlert", "instance": "host-@N@", "run": "' + run + '"}}]'


def _load(port: int, path: str, template: str, duration_s: float, api_key: str, ok_status: int = 202) -> LoadResult:
    if wrk.available():
        return wrk.run(f"http://127.0.0.1:{port}{path}", template, concurrency=CONCURRENCY, duration_s=duration_s,
                       api_key=api_key, ok_status=ok_status)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return asyncio.run(closed_loop("127.0.0.1", port, path, headers,
                                   lambda i: template.replace("@N@", str(i)).encode(),
                                   concurrency=CONCURRENCY, duration_s=duration_s))


def _measured(server_pid: int, stack: Stack, port: int, path: str, template: str, duration_s: float,
              api_key: str, ok_status: int = 202) -> dict[str, Any]:
    """One load's summary, with who spent the CPU: the server, the broker and Redis it talks to, the
    load generator and the whole machine (all share two cores, so they bound each other)."""
    pids = {"server": [server_pid], "broker": [stack.broker_pid] if stack.broker_pid else [],
            "redis": cpu.pids_named("redis-server") if stack.redis_url else []}
    with cpu.measured(pids, generator_in_process=not wrk.available()) as split:
        result = _load(port, path, template, duration_s, api_key, ok_status)
    summary: dict[str, Any] = dict(result.summary())
    summary["cpu_us_per_request"] = split.per_request_us(result.ok())
    summary["busy_cores"] = split.busy_cores()
    return summary


def _alertmanager(workdir: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        return None
    config = workdir / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [binary, f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=open(workdir / "alertmanager.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    wait_for_port("127.0.0.1", port, 30, "alertmanager")
    return proc, port


def run(stack: Stack, duration_s: float, fixed_rate: float) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    results: dict[str, Any] = {"concurrency": CONCURRENCY, "generator": "wrk" if wrk.available() else "asyncio"}
    edge = uvicorn_app("alertstream.ingest.app:app_from_env", stack.env, stack.workdir / "edge.log")
    try:
        _load(edge.port, "/alerts/webhook/", generic_body(run_id + "w"), min(2.0, duration_s), stack.api_key)
        results["edge"] = _measured(edge.proc.pid, stack, edge.port, "/alerts/webhook/", generic_body(run_id),
                                    duration_s, stack.api_key)
        headers = {"Authorization": f"Bearer {stack.api_key}"} if stack.api_key else {}
        template = generic_body(run_id + "r")
        fixed = asyncio.run(open_loop("127.0.0.1", edge.port, "/alerts/webhook/", headers,
                                      lambda i: template.replace("@N@", str(i)).encode(),
                                      rate=fixed_rate, duration_s=duration_s))
        results["edge_fixed_rate"] = {"offered_requests_per_s": fixed_rate, **fixed.summary()}
    finally:
        edge.stop()
    bare = uvicorn_app("bench.bare_app:create_app", stack.env, stack.workdir / "bare.log")
    try:
        _load(bare.port, "/alerts/webhook/", generic_body(run_id), min(2.0, duration_s), "")
        results["bare_starlette"] = _measured(bare.proc.pid, stack, bare.port, "/alerts/webhook/",
                                              generic_body(run_id), duration_s, "")
    finally:
        bare.stop()
    am = _alertmanager(stack.workdir)
    if am is not None:
        proc, port = am
        try:
            results["alertmanager"] = _measured(proc.pid, stack, port, "/api/v2/alerts", alertmanager_body(run_id),
                                                duration_s, "", ok_status=200)
        finally:
            proc.terminate()
            proc.wait(10)
    bare_rps = results["bare_starlette"]["requests_per_s"]
    results["ratio_edge_to_bare"] = round(results["edge"]["requests_per_s"] / bare_rps, 3) if bare_rps else None
    return results
