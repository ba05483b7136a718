"""The real pipeline's refs form verifiable hash chains, with their content stored;
one incident's evidence exports as a bundle."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from alertstream.chain import ref_hash
from alertstream.storage.audit_verify import verify

pytestmark = pytest.mark.integration

STAGES = ("received", "checked", "analyzed", "notified")


def wait_for_refs(database_url: str, trace_id: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(
                "SELECT r.*, c.sha256 IS NOT NULL AS has_content FROM audit_refs r"
                " LEFT JOIN audit_content c ON c.sha256 = r.content_sha256 WHERE trace_id = %s", (trace_id,),
            ).fetchall()
        done = {r["stage"] for r in rows} >= set(STAGES)
        if done and all(r["has_content"] or r["status"] == "skipped" for r in rows):
            return rows
        time.sleep(0.3)
    return rows


def test_pipeline_refs_are_chained_stored_with_content_and_verify(pipeline) -> None:
    started = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    response = pipeline.post(json={"name": f"AuditChain-{run}", "severity": "critical",
                                   "labels": {"instance": "db-1"}})
    assert response.status_code == 202, response.text
    rows = wait_for_refs(pipeline.database_url, response.json()["trace_id"])
    assert {r["stage"] for r in rows} >= set(STAGES)
    for row in rows:
        assert row["seq"] >= 1 and row["ref_hash"] == ref_hash(row)
        stage = row["stage"]
        if stage == "received":
            assert row["chain_id"].startswith("received/edge/")
        else:
            name, topic, partition = row["chain_id"].split("/")
            assert name == stage and int(partition) == int(partition) and topic
    report = verify(pipeline.database_url, now=datetime.now(UTC), since=started - timedelta(seconds=1),
                    settle=timedelta(seconds=30))
    ours = [f for f in report.findings if f.ref_id in {r["ref_id"] for r in rows}]
    assert ours == [] and report.ok, report.findings


def test_audit_export_bundles_one_incidents_evidence(pipeline, tmp_path) -> None:
    run = uuid.uuid4().hex[:8]
    response = pipeline.post(json={"name": f"AuditExport-{run}", "severity": "critical",
                                   "labels": {"instance": "db-2", "password": "hunter2"}})
    assert response.status_code == 202
    wait_for_refs(pipeline.database_url, response.json()["trace_id"])
    with psycopg.connect(pipeline.database_url) as conn:
        incident_id = conn.execute("SELECT incident_id FROM incident_events WHERE trace_id = %s",
                                   (response.json()["trace_id"],)).fetchone()[0]
    out = tmp_path / "bundle.json"
    done = subprocess.run([sys.executable, "-m", "alertstream", "audit", "export", "--incident", incident_id,
                           "--out", str(out)], env=pipeline.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    bundle = orjson.loads(out.read_bytes())
    assert bundle["incident"]["incident_id"] == incident_id
    assert {r["stage"] for r in bundle["refs"]} >= set(STAGES)
    assert all(r["hash_ok"] and r["content_ok"] is not False for r in bundle["refs"])
    assert bundle["timeline"] and bundle["timeline"][0]["reason"] == "opened"
    assert bundle["deliveries"] and bundle["alerts"]
    assert "hunter2" not in out.read_text()
    missing = subprocess.run([sys.executable, "-m", "alertstream", "audit", "export", "--incident", "nope"],
                             env=pipeline.env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no incident" in missing.stderr
