"""The delivery ledger that makes notification effectively once.

Every attempt *claims* its delivery key in PostgreSQL before sending (a row lock
and a decision in one transaction) and records the outcome after. A key
marked sent, failed or dlq is never sent again, whatever the topics replay.

A claim leaves the row `pending` with a lease (the send's timeout plus a
margin). If the sender crashes between send and record, its record is
redelivered and, once the lease has expired, claims again and resends: that
crash window is the one duplicate this design allows (docs/delivery.md), and
vendors that deduplicate (dedup_key, alias, webhook-id) close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

FINAL = frozenset({"sent", "failed", "dlq", "superseded"})
STATUSES = ("pending", "sent", "retrying", "failed", "dlq", "superseded")


@dataclass(frozen=True)
class LedgerRow:
    status: str
    attempts: int
    lease_until: datetime | None
    first_attempt_at: datetime


@dataclass(frozen=True)
class Claim:
    decision: str  # send | done | busy | stale | superseded
    status: str  # the ledger status found (before this claim)
    attempts: int  # the attempt number this claim owns (for send)
    first_attempt_at: datetime
    wait_s: float = 0.0  # busy: how long until the current lease expires

    @property
    def should_send(self) -> bool:
        return self.decision == "send"


def decide_claim(row: LedgerRow | None, attempt: int, now: datetime, newer_sent: bool) -> str:
    """Pure: may attempt number `attempt` send this delivery now?

    send: new key, an expired lease (a sender crashed), or a retry whose turn it is;
    done: already settled; superseded: a newer version of the incident already went
    to this channel (an old 'opened' must not follow the 'resolved');
    busy: someone holds a live lease (try again after it); stale: a later attempt owns it."""
    if row is not None and row.status in FINAL:
        return "done"
    if newer_sent:
        return "superseded"
    if row is None:
        return "send"
    if row.status == "pending":
        return "busy" if row.lease_until is not None and row.lease_until > now else "send"
    if row.status == "retrying":
        return "send" if row.attempts < attempt else "stale"
    return "stale"


async def claim(
    pool: AsyncConnectionPool,
    *,
    delivery_key: str,
    incident_id: str,
    incident_version: int,
    channel: str,
    channel_type: str,
    trace_id: str,
    attempt: int = 1,
    lease_s: float = 60.0,
) -> Claim:
    async with pool.connection() as conn, conn.transaction():
        found = await (await conn.execute(
            "SELECT status, attempts, lease_until, first_attempt_at, now() FROM deliveries"
            " WHERE delivery_key = %s FOR UPDATE", (delivery_key,),
        )).fetchone()
        now_row = found or await (await conn.execute("SELECT NULL, 0, NULL, now(), now()")).fetchone()
        assert now_row is not None
        now: datetime = now_row[4]
        row = LedgerRow(found[0], found[1], found[2], found[3]) if found else None
        newer = await (await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE incident_id = %s AND channel = %s"
            " AND incident_version > %s AND status = 'sent')", (incident_id, channel, incident_version),
        )).fetchone()
        decision = decide_claim(row, attempt, now, bool(newer and newer[0]))
        lease = now + timedelta(seconds=lease_s)
        if row is None and decision in ("send", "superseded"):
            inserted = await (await conn.execute(
                "INSERT INTO deliveries (delivery_key, incident_id, incident_version, channel, channel_type,"
                " trace_id, status, attempts, lease_until, first_attempt_at)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (delivery_key) DO NOTHING RETURNING 1",
                (delivery_key, incident_id, incident_version, channel, channel_type, trace_id,
                 "pending" if decision == "send" else "superseded", attempt, lease, now),
            )).fetchone()
            if inserted is None:  # a concurrent claim inserted it first
                return Claim("busy", "pending", attempt, now, lease_s)
            return Claim(decision, "new", attempt, now)
        assert row is not None or decision not in ("send", "superseded")
        if row is None:
            return Claim(decision, "new", attempt, now)
        if decision == "send":
            attempts = max(row.attempts, attempt)
            await conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = %s, lease_until = %s, channel_type = %s,"
                " updated_at = now() WHERE delivery_key = %s", (attempts, lease, channel_type, delivery_key),
            )
            return Claim("send", row.status, attempts, row.first_attempt_at)
        if decision == "superseded":
            await conn.execute(
                "UPDATE deliveries SET status = 'superseded', lease_until = NULL, updated_at = now()"
                " WHERE delivery_key = %s", (delivery_key,),
            )
        wait = (row.lease_until - now).total_seconds() if decision == "busy" and row.lease_until else 0.0
        return Claim(decision, row.status, row.attempts, row.first_attempt_at, max(0.0, wait))


async def record_outcome(
    pool: AsyncConnectionPool,
    delivery_key: str,
    status: str,
    status_code: int | None,
    reason: str | None,
    *,
    attempt: int | None = None,
    next_attempt_at: datetime | None = None,
    payload: bytes | None = None,
) -> bool:
    """Mark the outcome of the attempt that holds the claim. 'sent' always wins (whoever
    sent, it went out); other outcomes only land while the row is still this attempt's."""
    async with pool.connection() as conn:
        if status == "sent":
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'sent', last_status_code = %s, last_reason = NULL, lease_until = NULL,"
                " next_attempt_at = NULL, payload = NULL, updated_at = now()"
                " WHERE delivery_key = %s AND status <> 'sent'", (status_code, delivery_key),
            )
            return cur.rowcount == 1
        cur = await conn.execute(
            "UPDATE deliveries SET status = %s, last_status_code = %s, last_reason = %s, lease_until = NULL,"
            " next_attempt_at = %s, payload = COALESCE(%s, payload), updated_at = now()"
            " WHERE delivery_key = %s AND status = 'pending' AND (%s::int IS NULL OR attempts = %s::int)",
            (status, status_code, reason, next_attempt_at, payload, delivery_key, attempt, attempt),
        )
        return cur.rowcount == 1


async def list_deliveries(
    pool: AsyncConnectionPool, *, incident_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    statuses = None if not status else (["failed", "dlq"] if status == "failed" else [status])  # failed: gave up
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT delivery_key, incident_id, incident_version, channel, channel_type, trace_id, status, attempts,"
            " last_status_code, last_reason, first_attempt_at, next_attempt_at, created_at, updated_at"
            " FROM deliveries WHERE (%s::text IS NULL OR incident_id = %s)"
            " AND (%s::text[] IS NULL OR status = ANY(%s::text[])) ORDER BY updated_at DESC LIMIT %s",
            (incident_id, incident_id, statuses, statuses, limit),
        )
        return list(await cur.fetchall())


async def requeue(
    pool: AsyncConnectionPool, *, keys: list[str] | None = None, statuses: tuple[str, ...] = ("failed", "dlq")
) -> list[tuple[str, int, bytes, str]]:
    """Hand given-up deliveries back to the retry path: rows move to 'retrying' (so a second
    redrive finds nothing) and their stored records come back. (key, attempts, payload, previous status)."""
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "UPDATE deliveries d SET status = 'retrying', next_attempt_at = now(), updated_at = now()"
            " FROM (SELECT delivery_key, status FROM deliveries WHERE status = ANY(%s) AND payload IS NOT NULL"
            "       AND (%s::text[] IS NULL OR delivery_key = ANY(%s::text[])) FOR UPDATE) old"
            " WHERE d.delivery_key = old.delivery_key"
            " RETURNING d.delivery_key, d.attempts, d.payload, old.status",
            (list(statuses), keys, keys),
        )).fetchall()
        return [(r[0], r[1], bytes(r[2]), r[3]) for r in rows]


async def restore_status(pool: AsyncConnectionPool, key: str, status: str) -> None:
    """Undo a requeue whose record could not be published."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE deliveries SET status = %s, updated_at = now() WHERE delivery_key = %s AND status = 'retrying'",
            (status, key),
        )


async def get_delivery(pool: AsyncConnectionPool, key: str) -> dict[str, Any] | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT delivery_key, incident_id, incident_version, channel, channel_type, status, attempts,"
            " last_status_code, last_reason, payload IS NOT NULL AS retryable FROM deliveries WHERE delivery_key = %s",
            (key,),
        )
        return await cur.fetchone()
