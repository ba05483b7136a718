"""The check stage's queryable copies in PostgreSQL: silences (from the compacted topic)
and the full incident timeline (from incidents.events). Batched; a failed batch is
retried before its offsets move on, so nothing is skipped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import psycopg
from psycopg_pool import AsyncConnectionPool

from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import IncidentEvent, Silence
from alertstream.storage import incidents as incident_store
from alertstream.storage import silences as silence_store

from .check import Agent
from .context import StageContext

log = logging.getLogger(__name__)


async def _write_silences(pool: AsyncConnectionPool, records: Sequence[Silence]) -> None:
    async with pool.connection() as conn:
        await silence_store.upsert(conn, records)


Write = Callable[[Any, list[Any]], Awaitable[None]]


def _batch_agent(ctx: StageContext, topic: str, kind: type, write: Write) -> Agent:
    size, within = ctx.settings.worker.storage_batch_size, ctx.settings.worker.storage_batch_seconds

    async def store(stream: faust.StreamT) -> None:
        # faust-streaming's Stream has take_events; its StreamT interface does not declare it.
        async for events in stream.take_events(size, within=within):  # type: ignore[attr-defined]
            batch = []
            for event in events:
                try:
                    record = ctx.codec.decode(event.value) if event.value else None
                except SchemaError:
                    continue  # the stage that owns this topic dead-letters what it cannot decode
                if isinstance(record, kind):
                    batch.append(record)
            delay = 0.5
            while batch:
                try:
                    await write(await ctx.pool(), batch)
                    break
                except (psycopg.OperationalError, OSError) as exc:
                    log.warning("storing %d records from %s failed (%s); retrying in %.1fs", len(batch), topic,
                                type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                except Exception:
                    log.exception("storing a batch from %s failed permanently; skipping it", topic)
                    break

    return store


def make_check_storage_agents(ctx: StageContext) -> dict[str, Agent]:
    """topic -> agent (register as store_check_<...>)."""
    return {
        "silences": _batch_agent(ctx, "silences", Silence, _write_silences),
        "incidents.events": _batch_agent(ctx, "incidents.events", IncidentEvent, incident_store.write_timeline),
    }
