"""The spine end to end with real processes: broker, PostgreSQL, edge under uvicorn,
a stream worker, and a local HTTP receiver."""

from __future__ import annotations

import time
import uuid

import httpx
import psycopg
import pytest

pytestmark = pytest.mark.integration


def alertmanager_group(run: str, status: str) -> dict:
    """A realistic Alertmanager v4 group of three alerts (one per instance)."""
    ends = "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-29T10:05:00Z"
    alerts = [
        {
            "status": status,
            "labels": {"alertname": f"HighLatency-{run}", "severity": sev, "instance": f"api-{i}:9100", "job": "api"},
            "annotations": {"summary": f"p99 latency above 2s on api-{i}", "runbook_url": "https://runbooks.example/latency"},
            "startsAt": "2026-11-29T10:00:00.000Z",
            "endsAt": ends,
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=latency",
            "fingerprint": f"{run}-{i}",
        }
        for i, sev in enumerate(("critical", "warning", "warning"))
    ]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighLatency-{run}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "alertstream",
        "groupLabels": {"alertname": f"HighLatency-{run}"},
        "commonLabels": {"alertname": f"HighLatency-{run}", "job": "api"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
    }


def post(pipeline, payload: dict, path: str = "/alerts/webhook/") -> httpx.Response:
    return pipeline.post(path, json=payload)  # with the session's API key


def stages_for(database_url: str, trace_id: str, expected: set[str], timeout: float = 30) -> set[str]:
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT DISTINCT stage FROM audit_refs WHERE trace_id = %s", (trace_id,)).fetchall()
        found = {r[0] for r in rows}
        if expected <= found:
            return found
        time.sleep(0.2)
    return found


def test_firing_group_notifies_and_leaves_refs_for_every_stage(pipeline) -> None:
    run = uuid.uuid4().hex[:8]
    response = post(pipeline, alertmanager_group(run, "firing"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert [a["fingerprint"] for a in body["alerts"]] == [f"{run}-0", f"{run}-1", f"{run}-2"]

    def ours(r):
        return run in r.json()["title"]

    got = pipeline.receiver.wait_for(ours, 3)
    assert len(got) == 3
    docs = [r.json() for r in got]
    assert {d["reason"] for d in docs} == {"opened"}
    assert {d["status"] for d in docs} == {"open"}
    assert sorted(d["severity"] for d in docs) == ["critical", "warning", "warning"]
    assert all(d["analysis"]["status"] == "ok" and d["analysis"]["recommendations"] for d in docs)
    assert all(r.headers.get("webhook-id") == r.json()["delivery_key"] for r in got)
    assert {"received", "checked", "analyzed", "notified"} <= stages_for(
        pipeline.database_url, body["trace_id"], {"received", "checked", "analyzed", "notified"}
    )

    # The same group resolved: one resolution per incident, each saying so.
    resolved = post(pipeline, alertmanager_group(run, "resolved"))
    assert resolved.status_code == 202
    got = pipeline.receiver.wait_for(lambda r: ours(r) and r.json()["status"] == "resolved", 3)
    assert len(got) == 3
    assert {r.json()["reason"] for r in got} == {"resolved"}
    assert {r.json()["lane"] for r in got} == {"all-clear"}


def test_firing_twice_sends_no_duplicate(pipeline) -> None:
    run = uuid.uuid4().hex[:8]
    first = post(pipeline, alertmanager_group(run, "firing"))
    assert first.status_code == 202
    pipeline.receiver.wait_for(lambda r: run in r.json()["title"], 3)
    second = post(pipeline, alertmanager_group(run, "firing"))
    assert second.status_code == 202
    # The repeat is checked (and recorded as skipped) but produces nothing downstream.
    assert "checked" in stages_for(pipeline.database_url, second.json()["trace_id"], {"checked"})
    time.sleep(2)
    assert len(pipeline.receiver.matching(lambda r: run in r.json()["title"])) == 3
    with psycopg.connect(pipeline.database_url) as conn:
        statuses = conn.execute(
            "SELECT status FROM audit_refs WHERE trace_id = %s AND stage = 'checked'", (second.json()["trace_id"],)
        ).fetchall()
    assert statuses and {s[0] for s in statuses} == {"skipped"}


def test_trace_command_prints_every_stage(pipeline) -> None:
    import subprocess
    import sys

    run = uuid.uuid4().hex[:8]
    response = post(pipeline, {"name": f"DiskFull-{run}", "severity": "critical",
                                        "labels": {"instance": "db-1"}})
    assert response.status_code == 202
    trace_id = response.json()["trace_id"]
    stages_for(pipeline.database_url, trace_id, {"received", "checked", "analyzed", "notified"})
    out = subprocess.run(
        [sys.executable, "-m", "alertstream", "trace", trace_id], env=pipeline.env, capture_output=True,
        text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:5]] == ["received", "checked", "analyzed", "notified"]
    assert "not reached" not in out.stdout
