"""The delivery ledger against PostgreSQL: claim before send, one sender per key,
leases after a crash, retries in turn, superseded old versions, requeue for redrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from alertstream.storage import deliveries
from alertstream.storage.db import open_pool
from alertstream.storage.deliveries import LedgerRow, decide_claim

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def row(status: str, attempts: int = 1, lease_s: float | None = None) -> LedgerRow:
    lease = NOW + timedelta(seconds=lease_s) if lease_s is not None else None
    return LedgerRow(status, attempts, lease, NOW)


def test_decide_claim_table() -> None:
    assert decide_claim(None, 1, NOW, False) == "send"
    for final in ("sent", "failed", "dlq", "superseded"):
        assert decide_claim(row(final), 1, NOW, False) == "done"
        assert decide_claim(row(final), 5, NOW, True) == "done"
    assert decide_claim(row("pending", lease_s=30), 1, NOW, False) == "busy"  # someone is sending right now
    assert decide_claim(row("pending", lease_s=-1), 1, NOW, False) == "send"  # that someone crashed
    assert decide_claim(row("retrying", 1), 1, NOW, False) == "stale"  # a replay of the first attempt
    assert decide_claim(row("retrying", 1), 2, NOW, False) == "send"  # the retry whose turn it is
    assert decide_claim(row("retrying", 3), 2, NOW, False) == "stale"  # an older copy of a retry
    assert decide_claim(row("retrying", 1), 2, NOW, True) == "superseded"  # resolved already went out


async def claim(pool, key: str, attempt: int = 1, version: int = 1, incident: str = "i", lease_s: float = 60):
    return await deliveries.claim(pool, delivery_key=key, incident_id=incident, incident_version=version,
                                  channel="c", channel_type="webhook", trace_id="t", attempt=attempt,
                                  lease_s=lease_s)


async def test_claim_send_record_then_every_replay_is_done(database_url: str) -> None:
    pool = await open_pool(database_url)
    key = f"i-{uuid.uuid4().hex}:1:c"
    try:
        first = await claim(pool, key)
        assert first.should_send and first.attempts == 1
        assert (await claim(pool, key)).decision == "busy"  # the lease is live
        assert await deliveries.record_outcome(pool, key, "sent", 200, None, attempt=1)
        for _ in range(3):
            assert (await claim(pool, key)).decision == "done"
    finally:
        await pool.close()


async def test_a_crashed_sender_is_taken_over_after_its_lease(database_url: str) -> None:
    pool = await open_pool(database_url)
    key = f"i-{uuid.uuid4().hex}:1:c"
    try:
        assert (await claim(pool, key, lease_s=0.0)).should_send  # then "crashes": no outcome recorded
        again = await claim(pool, key)
        assert again.should_send and again.attempts == 1
    finally:
        await pool.close()


async def test_retries_take_turns_and_old_versions_are_superseded(database_url: str) -> None:
    pool = await open_pool(database_url)
    incident = f"i-{uuid.uuid4().hex}"
    v1, v2 = f"{incident}:1:c", f"{incident}:2:c"
    try:
        assert (await claim(pool, v1, incident=incident)).should_send
        assert await deliveries.record_outcome(pool, v1, "retrying", None, "http_503", attempt=1)
        assert (await claim(pool, v1, attempt=1, incident=incident)).decision == "stale"  # replayed first attempt
        assert (await claim(pool, v2, version=2, incident=incident)).should_send
        assert await deliveries.record_outcome(pool, v2, "sent", 202, None, attempt=1)
        late = await claim(pool, v1, attempt=2, incident=incident)
        assert late.decision == "superseded"  # the 'opened' must not follow the 'resolved'
    finally:
        await pool.close()


async def test_requeue_hands_a_dead_letter_back_once(database_url: str) -> None:
    pool = await open_pool(database_url)
    key = f"i-{uuid.uuid4().hex}:1:c"
    try:
        await claim(pool, key)
        assert await deliveries.record_outcome(pool, key, "dlq", None, "max_attempts: http_503", attempt=1,
                                               payload=b"record")
        listed = await deliveries.list_deliveries(pool, status="failed")
        assert key in {r["delivery_key"] for r in listed}
        assert await deliveries.requeue(pool, keys=[key]) == [(key, 1, b"record", "dlq")]
        assert await deliveries.requeue(pool, keys=[key]) == []  # a second redrive finds nothing
        assert (await claim(pool, key, attempt=2)).should_send
    finally:
        await pool.close()


async def test_a_batch_of_claims_decides_each_as_one_claim_would(database_url: str) -> None:
    pool = await open_pool(database_url)
    run = uuid.uuid4().hex

    def request(incident: str, version: int = 1, attempt: int = 1) -> deliveries.ClaimRequest:
        key = f"{incident}:{version}:c"
        return deliveries.ClaimRequest(key, incident, version, "c", "webhook", "t", attempt, 60.0)

    try:
        done, busy, newer = f"done-{run}", f"busy-{run}", f"newer-{run}"
        await deliveries.claim_many(pool, [request(done), request(busy), request(newer, version=2)])
        assert await deliveries.record_outcomes(pool, [
            deliveries.Outcome(f"{done}:1:c", "sent", 200, None, 1),
            deliveries.Outcome(f"{newer}:2:c", "sent", 202, None, 1),
            deliveries.Outcome(f"missing-{run}:1:c", "retrying", None, "http_503", 1),
        ]) == [True, True, False]
        claims = await deliveries.claim_many(pool, [
            request(f"fresh-{run}"), request(done), request(busy), request(newer, version=1),
        ])
        assert [c.decision for c in claims] == ["send", "done", "busy", "superseded"]
        assert claims[0].attempts == 1 and claims[2].wait_s > 0
        assert (await claim(pool, f"{newer}:1:c", incident=newer)).decision == "done"  # superseded is final
    finally:
        await pool.close()
