"""Handing given-up deliveries back to the retry path (`deliveries retry`, `deliveries
redrive --dlq`, and the operator API). The ledger row moves to 'retrying' first, so
a second redrive finds nothing; the stored record is republished on the first delay
topic with the next attempt number and is due now. From there it goes through the
same claim-then-send path as every other attempt, so it can never send twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from alertstream.notify.retry import RETRY_TOPICS
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NotificationRetry
from alertstream.storage import deliveries

Publish = Callable[[str, bytes, bytes], Awaitable[None]]  # topic, key, value


async def redrive(
    pool: AsyncConnectionPool, codec: Codec, publish: Publish, now: datetime, *,
    keys: list[str] | None = None, statuses: tuple[str, ...] = ("failed", "dlq"),
) -> list[str]:
    """Requeue and republish; returns the delivery keys handed back."""
    done = []
    for key, attempts, payload, previous in await deliveries.requeue(pool, keys=keys, statuses=statuses):
        stored: NotificationRetry = codec.decode(payload)
        record = replace(stored, attempt=attempts + 1, first_attempt_at=now, due_at=now, reason="redrive")
        try:
            await publish(RETRY_TOPICS[0], stored.analysis.incident.incident_id.encode(), codec.encode(record))
        except Exception:
            await deliveries.restore_status(pool, key, previous)
            raise
        done.append(key)
    return done
