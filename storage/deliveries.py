"""The delivery ledger that makes notification effectively once.

The notify agent claims a delivery key under a unique constraint *before*
sending and records the outcome after. A key already marked sent is never
sent again, whatever the topics replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool


@dataclass(frozen=True)
class Claim:
    should_send: bool
    status: str  # the ledger status found or created
    attempts: int


async def claim(
    pool: AsyncConnectionPool,
    *,
    delivery_key: str,
    incident_id: str,
    incident_version: int,
    channel: str,
    channel_type: str,
    trace_id: str,
) -> Claim:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "INSERT INTO deliveries (delivery_key, incident_id, incident_version, channel, channel_type,"
                " trace_id, status, attempts) VALUES (%s,%s,%s,%s,%s,%s,'pending',1)"
                " ON CONFLICT (delivery_key) DO UPDATE SET attempts = deliveries.attempts + 1, updated_at = now()"
                "   WHERE deliveries.status NOT IN ('sent', 'dlq')"
                " RETURNING status, attempts",
                (delivery_key, incident_id, incident_version, channel, channel_type, trace_id),
            )
        ).fetchone()
        if row is not None:
            return Claim(True, row[0], row[1])
        existing = await (
            await conn.execute("SELECT status, attempts FROM deliveries WHERE delivery_key = %s", (delivery_key,))
        ).fetchone()
        assert existing is not None  # the conflict that suppressed the upsert is this row
        return Claim(False, existing[0], existing[1])


async def record_outcome(
    pool: AsyncConnectionPool, delivery_key: str, status: str, status_code: int | None, reason: str | None
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE deliveries SET status = %s, last_status_code = %s, last_reason = %s, updated_at = now()"
            " WHERE delivery_key = %s",
            (status, status_code, reason, delivery_key),
        )
