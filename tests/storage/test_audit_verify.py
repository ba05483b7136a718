"""`audit verify` against PostgreSQL (and the audit.refs topic): tamper with each kind of
evidence and see it caught."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Producer

from alertstream.audit import make_ref
from alertstream.chain import LocalChain
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import AuditRef
from alertstream.storage import writer
from alertstream.storage.audit_verify import Report, verify
from alertstream.storage.db import open_pool
from alertstream.streams.admin import ensure_topics
from tests.components import pipeline_env

pytestmark = pytest.mark.integration


def build(prefix: str, count: int = 5) -> tuple[list[AuditRef], list[tuple[str, bytes]]]:
    chain = LocalChain(f"{prefix}/checked/alerts.normalized/0")
    now = datetime.now(UTC) - timedelta(minutes=5)
    refs, contents = [], []
    for i in range(count):
        body = f"{prefix}-record-{i}".encode()
        refs.append(chain.link(make_ref(
            trace_id=uuid.uuid4().hex, run_id="run", stage="checked", input_ref=f"alert:{i}",
            output_ref=f"incident:{prefix}@{i}", content=body, started_at=now + timedelta(seconds=i),
            finished_at=now + timedelta(seconds=i, milliseconds=3),
        )))
        contents.append((Codec.sha256(body), body))
    return refs, contents


def store(url: str, refs: list[tuple[AuditRef, int, int]], contents: list[tuple[str, bytes]]) -> None:
    async def go() -> None:
        pool = await open_pool(url)
        try:
            await writer.write_refs(pool, refs)
            await writer.write_content(pool, "incidents.events", contents)
        finally:
            await pool.close()

    asyncio.run(go())


@pytest.fixture
def chain(database_url: str) -> tuple[str, list[AuditRef]]:
    prefix = uuid.uuid4().hex[:10]
    refs, contents = build(prefix)
    store(database_url, [(r, 0, i) for i, r in enumerate(refs)], contents)
    return prefix, refs


def run(database_url: str, prefix: str, **kwargs) -> Report:
    return verify(database_url, now=datetime.now(UTC), chain_prefix=prefix, settle=timedelta(0), **kwargs)


def kinds(report: Report) -> set[str]:
    return {f.kind for f in report.findings}


def sql(url: str, statement: str, *params: object) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


def test_an_intact_chain_verifies(database_url: str, chain) -> None:
    prefix, refs = chain
    report = run(database_url, prefix)
    assert report.ok and report.findings == [] and report.refs == 5 and report.chains == 1
    assert report.heads[refs[0].chain_id][0] == 5


def test_an_edited_row_is_caught(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "UPDATE audit_refs SET output_ref = 'incident:forged' WHERE ref_id = %s", refs[2].ref_id)
    report = run(database_url, prefix)
    assert not report.ok and kinds(report) == {"edited"}
    assert [f.ref_id for f in report.findings] == [refs[2].ref_id]


def test_an_edited_row_with_a_recomputed_hash_is_caught_by_the_next_link(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "UPDATE audit_refs SET status = 'skipped', ref_hash = '' WHERE ref_id = %s", refs[1].ref_id)
    assert kinds(run(database_url, prefix)) == {"edited"}


def test_a_deleted_row_is_a_gap(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "DELETE FROM audit_refs WHERE ref_id = %s", refs[2].ref_id)
    report = run(database_url, prefix)
    assert kinds(report) == {"gap"} and report.findings[0].seq == 4


def test_a_deleted_last_row_is_caught_by_the_chain_head(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "DELETE FROM audit_refs WHERE ref_id = %s", refs[-1].ref_id)
    assert kinds(run(database_url, prefix)) == {"deleted"}


def test_reordered_rows_are_caught(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "UPDATE audit_refs SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE ref_id IN (%s, %s)",
        refs[1].ref_id, refs[2].ref_id)
    assert kinds(run(database_url, prefix)) == {"reordered"}


def test_content_that_no_longer_matches_its_hash_is_caught(database_url: str, chain) -> None:
    prefix, refs = chain
    sql(database_url, "UPDATE audit_content SET body = 'forged' WHERE sha256 = %s", refs[3].content_sha256)
    report = run(database_url, prefix)
    assert kinds(report) == {"content_mismatch"} and report.findings[0].ref_id == refs[3].ref_id
    sql(database_url, "DELETE FROM audit_content WHERE sha256 = %s", refs[3].content_sha256)
    assert kinds(run(database_url, prefix)) == {"content_missing"}
    assert run(database_url, prefix, check_contents=False).ok


def test_since_verifies_a_window_of_a_chain(database_url: str, chain) -> None:
    prefix, refs = chain
    assert run(database_url, prefix, since=refs[2].finished_at).refs == 3
    assert run(database_url, prefix, since=refs[2].finished_at).ok


def _produce(bootstrap: str, refs: list[AuditRef]) -> list[tuple[AuditRef, int, int]]:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    codec, placed = Codec(), []
    for ref in refs:
        producer.produce("audit.refs", key=ref.chain_id.encode(), value=codec.encode(ref),
                         on_delivery=lambda err, msg, ref=ref: placed.append((ref, msg.partition(), msg.offset())))
        producer.flush(10)
    assert len(placed) == len(refs)
    return placed


def test_the_topic_witnesses_rows_deleted_or_edited_in_postgresql(settings, database_url: str,
                                                                    tmp_path: Path) -> None:
    ensure_topics(settings.kafka)
    prefix = uuid.uuid4().hex[:10]
    refs, contents = build(prefix, 4)
    store(database_url, _produce(settings.kafka.bootstrap_servers, refs), contents)
    # In the full suite the session's worker also consumes audit.refs and its storage consumer would put a
    # deleted row straight back: let it take these refs first, then tamper.
    time.sleep(3)
    # Deleting the last row and its head leaves no trace in PostgreSQL; the topic still has it.
    sql(database_url, "DELETE FROM audit_refs WHERE ref_id = %s", refs[-1].ref_id)
    sql(database_url, "UPDATE audit_chain_heads SET seq = 3 WHERE chain_id = %s", refs[0].chain_id)
    sql(database_url, "UPDATE audit_chain_heads SET ref_hash = (SELECT ref_hash FROM audit_refs WHERE ref_id = %s)"
        " WHERE chain_id = %s", refs[2].ref_id, refs[0].chain_id)
    assert run(database_url, prefix).ok  # PostgreSQL alone cannot tell

    env = pipeline_env(settings.kafka.bootstrap_servers, database_url, tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "alertstream", "audit", "verify", "--chain", prefix, "--topic", "--settle", "0",
         "--since", "1h"], env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "DELETED" in out.stdout and refs[-1].ref_id in out.stdout
    assert "TAMPERING OR LOSS" in out.stdout


def test_verify_cli_reports_ok_and_bad_times(settings, database_url: str, chain, tmp_path: Path) -> None:
    prefix, _ = chain
    env = pipeline_env(settings.kafka.bootstrap_servers, database_url, tmp_path)
    ok = subprocess.run([sys.executable, "-m", "alertstream", "audit", "verify", "--chain", prefix, "--json"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert '"ok": true' in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "alertstream", "audit", "verify", "--since", "yesterday-ish"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "bad time" in bad.stderr and "Traceback" not in bad.stderr
