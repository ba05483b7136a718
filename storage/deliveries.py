"""The delivery ledger that makes notification effectively once.

Every attempt *claims* its delivery key in PostgreSQL before sending (a row lock
and a decision in one transaction) and records the outcome after. A key
marked sent, failed or dlq is never sent again, whatever the topics replay.

A claim leaves the row `pending` with a lease (the send's timeout plus a
margin). If the sender crashes between send and record, its record is
redelivered and, once the lease has expired, claims again and resends: that
crash window is the one duplicate this design allows (docs/delivery.md), and
vendors that deduplicate (dedup_key, alias, webhook-id) close it.

The notify agent claims a batch of deliveries at once (`claim_many`: one transaction,
a few statements whatever the batch size) and records their outcomes at once
(`record_outcomes`).
"""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass(frozen=True)
class ClaimRequest:
    delivery_key: str
    incident_id: str
    incident_version: int
    channel: str
    channel_type: str
    trace_id: str
    attempt: int = 1
    lease_s: float = 60.0


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
    request = ClaimRequest(delivery_key, incident_id, incident_version, channel, channel_type, trace_id, attempt,
                           lease_s)
    return (await claim_many(pool, [request]))[0]


async def claim_many(pool: AsyncConnectionPool, requests: Sequence[ClaimRequest]) -> list[Claim]:
    """A claim for each request, in order, in one transaction of at most five statements.

    Requests that decide each other must not share a call: no two with one delivery key,
    nor with one (incident_id, channel) (the supersede rule compares them); the notify agent
    puts such requests in successive calls."""
    if not requests:
        return []
    keys = [r.delivery_key for r in requests]
    async with pool.connection() as conn, conn.transaction():
        found = await (await conn.execute(
            "SELECT delivery_key, status, attempts, lease_until, first_attempt_at FROM deliveries"
            " WHERE delivery_key = ANY(%b::text[]) ORDER BY delivery_key FOR UPDATE", (keys,),
        )).fetchall()
        rows = {key: LedgerRow(status, attempts, lease, first) for key, status, attempts, lease, first in found}
        checked = await (await conn.execute(
            "SELECT now(), r.n, EXISTS (SELECT 1 FROM deliveries d WHERE d.incident_id = r.incident_id"
            " AND d.channel = r.channel AND d.incident_version > r.version AND d.status = 'sent')"
            " FROM unnest(%b::text[], %b::text[], %b::bigint[]) WITH ORDINALITY AS r(incident_id, channel, version, n)",
            ([r.incident_id for r in requests], [r.channel for r in requests],
             [r.incident_version for r in requests]),
        )).fetchall()
        now: datetime = checked[0][0]
        newer = {int(n) - 1: bool(exists) for _, n, exists in checked}
        decisions = [decide_claim(rows.get(r.delivery_key), r.attempt, now, newer[i]) for i, r in enumerate(requests)]
        leases = [now + timedelta(seconds=r.lease_s) for r in requests]

        known = [r.delivery_key in rows for r in requests]
        new = [i for i in range(len(requests)) if not known[i] and decisions[i] in ("send", "superseded")]
        inserted: set[str] = set()
        if new:
            picked = [requests[i] for i in new]
            inserted = {row[0] for row in await (await conn.execute(
                "INSERT INTO deliveries (delivery_key, incident_id, incident_version, channel, channel_type,"
                " trace_id, status, attempts, lease_until, first_attempt_at)"
                " SELECT key, incident, version, channel, ctype, trace, status, attempt, lease, %s FROM unnest("
                "%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::int[],"
                " %b::timestamptz[]) AS v(key, incident, version, channel, ctype, trace, status, attempt, lease)"
                " ON CONFLICT (delivery_key) DO NOTHING RETURNING delivery_key",
                (now, [r.delivery_key for r in picked], [r.incident_id for r in picked],
                 [r.incident_version for r in picked], [r.channel for r in picked], [r.channel_type for r in picked],
                 [r.trace_id for r in picked], ["pending" if decisions[i] == "send" else "superseded" for i in new],
                 [r.attempt for r in picked], [leases[i] for i in new]),
            )).fetchall()}

        resend = [i for i in range(len(requests)) if known[i] and decisions[i] == "send"]
        if resend:
            await conn.execute(
                "UPDATE deliveries d SET status = 'pending', attempts = v.attempts, lease_until = v.lease,"
                " channel_type = v.ctype, updated_at = now()"
                " FROM unnest(%b::text[], %b::int[], %b::timestamptz[], %b::text[]) AS v(key, attempts, lease, ctype)"
                " WHERE d.delivery_key = v.key",
                ([keys[i] for i in resend],
                 [max(rows[keys[i]].attempts, requests[i].attempt) for i in resend],
                 [leases[i] for i in resend], [requests[i].channel_type for i in resend]),
            )
        superseded = [keys[i] for i in range(len(requests)) if known[i] and decisions[i] == "superseded"]
        if superseded:
            await conn.execute(
                "UPDATE deliveries SET status = 'superseded', lease_until = NULL, updated_at = now()"
                " WHERE delivery_key = ANY(%b::text[])", (superseded,),
            )

    claims = []
    for i, request in enumerate(requests):
        decision, row = decisions[i], rows.get(request.delivery_key)
        if row is None:
            if decision in ("send", "superseded") and request.delivery_key not in inserted:
                claims.append(Claim("busy", "pending", request.attempt, now, request.lease_s))  # a concurrent claim won
            else:
                claims.append(Claim(decision, "new", request.attempt, now))
        elif decision == "send":
            claims.append(Claim("send", row.status, max(row.attempts, request.attempt), row.first_attempt_at))
        else:
            wait = (row.lease_until - now).total_seconds() if decision == "busy" and row.lease_until else 0.0
            claims.append(Claim(decision, row.status, row.attempts, row.first_attempt_at, max(0.0, wait)))
    return claims


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
    outcome = Outcome(delivery_key, status, status_code, reason, attempt, next_attempt_at, payload)
    return (await record_outcomes(pool, [outcome]))[0]


@dataclass(frozen=True)
class Outcome:
    delivery_key: str
    status: str
    status_code: int | None
    reason: str | None
    attempt: int | None = None
    next_attempt_at: datetime | None = None
    payload: bytes | None = None


async def record_outcomes(pool: AsyncConnectionPool, outcomes: Sequence[Outcome]) -> list[bool]:
    """record_outcome for many deliveries (distinct keys) in at most two statements; whether each landed."""
    if not outcomes:
        return []
    sent = [o for o in outcomes if o.status == "sent"]
    other = [o for o in outcomes if o.status != "sent"]
    landed: set[str] = set()
    async with pool.connection() as conn:
        if sent:
            cur = await conn.execute(
                "UPDATE deliveries d SET status = 'sent', last_status_code = v.code, last_reason = NULL,"
                " lease_until = NULL, next_attempt_at = NULL, payload = NULL, updated_at = now()"
                " FROM unnest(%b::text[], %b::int[]) AS v(key, code)"
                " WHERE d.delivery_key = v.key AND d.status <> 'sent' RETURNING d.delivery_key",
                ([o.delivery_key for o in sent], [o.status_code for o in sent]),
            )
            landed.update(row[0] for row in await cur.fetchall())
        if other:
            cur = await conn.execute(
                "UPDATE deliveries d SET status = v.status, last_status_code = v.code, last_reason = v.reason,"
                " lease_until = NULL, next_attempt_at = v.next_at, payload = COALESCE(v.payload, d.payload),"
                " updated_at = now()"
                " FROM unnest(%b::text[], %b::text[], %b::int[], %b::text[], %b::timestamptz[], %b::bytea[],"
                " %b::int[]) AS v(key, status, code, reason, next_at, payload, attempt)"
                " WHERE d.delivery_key = v.key AND d.status = 'pending'"
                " AND (v.attempt IS NULL OR d.attempts = v.attempt)"
                " RETURNING d.delivery_key",
                ([o.delivery_key for o in other], [o.status for o in other], [o.status_code for o in other],
                 [o.reason for o in other], [o.next_attempt_at for o in other], [o.payload for o in other],
                 [o.attempt for o in other]),
            )
            landed.update(row[0] for row in await cur.fetchall())
    return [o.delivery_key in landed for o in outcomes]


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
