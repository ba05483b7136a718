"""The storage agents: batch what the topics carry into PostgreSQL. A failed batch
is retried before its offsets are committed, so nothing is skipped.

The records audit refs point at (by SHA-256) are also kept, content-addressed, in
audit_content, so `alertstream audit verify` can check every ref against its bytes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import psycopg

from alertstream.schemas.codec import SchemaError
from alertstream.storage import writer

from .check import Agent
from .context import StageContext

log = logging.getLogger(__name__)

Write = Callable[[Any, Sequence[Any]], Awaitable[None]]

# Topics whose records refs name by content_sha256 (what each stage emits, already redacted).
CONTENT_TOPICS = ("alerts.normalized", "incidents.events", "incidents.analyses", "notifications.results")


def _make(ctx: StageContext, topic: str, write: Write | None, with_position: bool) -> Agent:
    """write=None: a content-only agent (the stage that reads the topic dead-letters what it cannot decode)."""
    size = ctx.settings.worker.storage_batch_size
    within = ctx.settings.worker.storage_batch_seconds
    keep_content = topic in CONTENT_TOPICS

    async def store(stream: faust.StreamT) -> None:
        # faust-streaming's Stream has take_events; its StreamT interface does not declare it.
        async for events in stream.take_events(size, within=within):  # type: ignore[attr-defined]
            batch = []
            contents = [(ctx.codec.sha256(e.value), e.value) for e in events if e.value] if keep_content else []
            for event in events if write is not None else ():
                try:
                    record = ctx.codec.decode(event.value)
                except SchemaError as exc:
                    await ctx.dead_letter(topic, event.key, event.value, f"schema: {exc}")
                    continue
                batch.append((record, event.message.partition, event.message.offset) if with_position else record)
            delay = 0.5
            while True:
                try:
                    pool = await ctx.pool()
                    if write is not None:
                        await write(pool, batch)
                    await writer.write_content(pool, topic, contents)
                    break
                except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout, OSError) as exc:
                    # The database is the queryable copy; the topic still holds the data, so wait, don't drop.
                    log.warning("storing %d records from %s failed (%s); retrying in %.1fs", len(batch), topic,
                                type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                except Exception:
                    log.exception("storing a batch from %s failed permanently; dead-lettering it", topic)
                    for event in events:
                        await ctx.dead_letter(topic, event.key, event.value, "storage: write failed")
                    break

    store.__name__ = f"store_{topic.replace('.', '_')}"
    return store


def make_storage_agents(ctx: StageContext) -> dict[str, Agent]:
    return {
        "audit.refs": _make(ctx, "audit.refs", writer.write_refs, with_position=True),
        "alerts.normalized": _make(ctx, "alerts.normalized", None, with_position=False),
        "incidents.analyses": _make(ctx, "incidents.analyses", None, with_position=False),
        "incidents.events": _make(ctx, "incidents.events", writer.write_incident_events, with_position=False),
        "notifications.results": _make(ctx, "notifications.results", writer.write_results, with_position=False),
    }
