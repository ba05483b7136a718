"""storage/writer.py: one statement per table per batch, idempotent under redelivery."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alertstream.audit import make_ref
from alertstream.chain import LocalChain
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NotificationResult
from alertstream.storage import writer
from alertstream.storage.db import open_pool

pytestmark = pytest.mark.integration


def test_columns_turns_rows_into_one_list_per_column() -> None:
    assert writer.columns([(1, "a", None), (2, "b", b"x")]) == [[1, 2], ["a", "b"], [None, b"x"]]


def test_a_batch_with_repeats_written_twice_stores_each_row_once(database_url: str) -> None:
    prefix = uuid.uuid4().hex[:10]
    chain = LocalChain(f"{prefix}/checked/alerts.normalized/0")
    now = datetime.now(UTC).replace(microsecond=0)
    refs = [chain.link(make_ref(trace_id=prefix, run_id="run", stage="checked", input_ref=f"alert:{i}",
                                output_ref=f"incident:{prefix}@{i}", content=f"{prefix}{i}".encode(),
                                started_at=now, finished_at=now + timedelta(milliseconds=i),
                                status="error" if i == 1 else "ok", error="refused" if i == 1 else None))
            for i in range(3)]
    batch = [(ref, 2, 10 + i) for i, ref in enumerate(refs)]
    batch.append(batch[0])  # a redelivery inside the batch itself
    body = f"{prefix}-body".encode()
    contents = [(Codec.sha256(body), body), (Codec.sha256(body), body)]
    result = NotificationResult(
        delivery_key=f"{prefix}:1", incident_id=prefix, incident_version=1, channel="ops", channel_type="webhook",
        status="sent", attempt=1, status_code=None, reason="", trace_id=prefix, started_at=now, finished_at=now,
    )

    async def write() -> None:
        pool = await open_pool(database_url)
        try:
            for _ in range(2):  # the consumer re-reads a batch after a crash before its commit
                await writer.write_refs(pool, batch)
                await writer.write_content(pool, "incidents.events", contents)
                await writer.write_results(pool, [result, result])
        finally:
            await pool.close()

    asyncio.run(write())
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT seq, status, error, kafka_partition, kafka_offset, finished_at FROM audit_refs"
                            " WHERE trace_id = %s ORDER BY seq", (prefix,)).fetchall()
        assert rows == [(i + 1, "error" if i == 1 else "ok", "refused" if i == 1 else None, 2, 10 + i,
                         now + timedelta(milliseconds=i)) for i in range(3)]
        head = conn.execute("SELECT seq, ref_id FROM audit_chain_heads WHERE chain_id = %s",
                            (chain.chain_id,)).fetchone()
        assert head == (3, refs[2].ref_id)
        stored = conn.execute("SELECT topic, body FROM audit_content WHERE sha256 = %s",
                              (Codec.sha256(body),)).fetchall()
        assert stored == [("incidents.events", body)]
        assert conn.execute("SELECT status_code, attempt FROM delivery_results WHERE incident_id = %s",
                            (prefix,)).fetchall() == [(None, 1)]
