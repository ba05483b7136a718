"""The storage writer: what the topics carry, batched into PostgreSQL, off faust's consumer.

As faust agents, storage took about 7 of every 10 records the worker's one consumer handed
out (audit refs, events, analyses, results, alerts), each through faust's per-record path,
and faust's consumer feeds every agent in turn, so storage paced check, analyze and notify
too (bench/profile.md). Here one confluent-kafka consumer of its own group
(`<app id>-store`) reads the stored topics in batches on this worker's event loop; each
batch is written topic by topic with the writers in storage/, and its offsets are committed
only after every write succeeded or its records were dead-lettered. A crash or a rebalance
re-reads a batch, never skips one, and every write is idempotent (ON CONFLICT).
Workers sharing an app id share the partitions of this group too.

`alertstream worker` runs it on its own event loop; `alertstream worker --no-store` plus
`alertstream store` (same app id) put it in a process of its own, which on a busy host
leaves the stages a whole core (bench/profile.md).

The records refs point at (by SHA-256) are also kept, content-addressed, in audit_content,
so `alertstream audit verify` can check every ref against its bytes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from psycopg_pool import AsyncConnectionPool

from alertstream.config import Settings
from alertstream.schemas.codec import SchemaError
from alertstream.storage import incidents as incident_store
from alertstream.storage import silences as silence_store
from alertstream.storage import writer

from .context import StageContext

log = logging.getLogger(__name__)

Write = Callable[[AsyncConnectionPool, Sequence[Any]], Awaitable[None]]


async def _write_silences(pool: AsyncConnectionPool, records: Sequence[Any]) -> None:
    async with pool.connection() as conn:
        await silence_store.upsert(conn, records)


@dataclass(frozen=True)
class Stored:
    """How one topic is stored: its records' writers, and whether its raw records are content."""

    writes: tuple[Write, ...] = ()
    with_position: bool = False  # refs are kept with their partition and offset
    content: bool = False
    # An undecodable record: kept in the DLQ, or (a topic another stage owns and dead-letters) skipped.
    dead_letter: bool = True


STORED: dict[str, Stored] = {
    "audit.refs": Stored((writer.write_refs,), with_position=True),
    "alerts.normalized": Stored(content=True),
    "incidents.events": Stored((writer.write_incident_events, incident_store.write_timeline), content=True),
    "incidents.analyses": Stored(content=True),
    "notifications.results": Stored((writer.write_results,), content=True),
    "silences": Stored((_write_silences,), dead_letter=False),
}


def consumer_config(ctx: StageContext) -> dict[str, Any]:
    worker = ctx.settings.worker
    session_ms = int(worker.session_timeout_s * 1000)
    return {
        "bootstrap.servers": ctx.settings.kafka.bootstrap_servers,
        "group.id": f"{worker.app_id}-store",
        "enable.auto.commit": False,  # committed after the batch is in PostgreSQL
        "auto.offset.reset": "earliest",
        "session.timeout.ms": session_ms,
        "heartbeat.interval.ms": int(worker.heartbeat_interval_s * 1000),
        # librdkafka's rebalance timeout; an embedded broker makes every join wait for all of it.
        "max.poll.interval.ms": max(int(worker.rebalance_timeout_s * 1000), session_ms),
    }


class StorageConsumer:
    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        # This app's topic name -> the name STORED knows it by.
        self._names = {ctx.topic_name(t): t for t in STORED}
        self.batch_size = ctx.settings.worker.storage_batch_size
        self.batch_s = ctx.settings.worker.storage_batch_seconds  # the longest a batch waits to fill

    async def run(self) -> None:
        """Until cancelled. The consumer's blocking calls run in a thread; the writes on this loop."""
        consumer = Consumer(consumer_config(self.ctx))
        consumer.subscribe(list(self._names))
        loop = asyncio.get_running_loop()
        polling: asyncio.Future[list[Message]] | None = None
        try:
            while True:
                polling = loop.run_in_executor(None, consumer.consume, self.batch_size, self.batch_s)
                messages = await polling
                polling = None
                if errors := [m.error() for m in messages if m.error() is not None]:
                    log.warning("storage consumer: %d fetch errors, the first: %s", len(errors), errors[0])
                    messages = [m for m in messages if m.error() is None]
                if not messages:
                    continue
                try:
                    await self.store(messages)
                    committed = await loop.run_in_executor(None, _commit, consumer, messages)
                except Exception:  # a bug, not the database (store() waits that out): read the batch again
                    log.exception("storing a batch failed; reading it again")
                    await loop.run_in_executor(None, _rewind, consumer, messages)
                    await asyncio.sleep(1.0)
                    continue
                self._record_lag(consumer, committed)
        finally:
            if polling is not None:  # cancelled mid-consume: let that call return before closing
                await asyncio.shield(polling)
            await loop.run_in_executor(None, consumer.close)

    async def run_supervised(self, retry_s: float = 5.0) -> None:
        """run(), started again after anything but cancellation: in a worker a faust task that
        raised would leave PostgreSQL behind in silence (`alertstream store` exits instead)."""
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the storage consumer failed; starting it again in %.0f s", retry_s)
                await asyncio.sleep(retry_s)

    def _record_lag(self, consumer: Consumer, committed: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in committed.items():
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high >= 0:  # known from the last fetch; no broker round trip
                self.ctx.metrics.lag.labels(topic, str(partition)).set(max(0, high - offset))

    async def store(self, messages: Sequence[Message]) -> None:
        by_topic: dict[str, list[Message]] = {}
        for message in messages:
            by_topic.setdefault(self._names[str(message.topic())], []).append(message)
        for topic, batch in by_topic.items():
            await self._store_topic(topic, STORED[topic], batch)

    async def _store_topic(self, topic: str, how: Stored, messages: list[Message]) -> None:
        records: list[Any] = []
        for message in messages if how.writes else ():
            value = message.value()
            if not value:
                continue  # a tombstone (compacted topics)
            try:
                record = self.ctx.codec.decode(value)
            except SchemaError as exc:
                if how.dead_letter:
                    await self.ctx.dead_letter(topic, message.key(), value, f"schema: {exc}")
                continue
            records.append((record, message.partition(), message.offset()) if how.with_position else record)
        contents = [(self.ctx.codec.sha256(v), v) for v in (m.value() for m in messages) if v] if how.content else []
        delay = 0.5
        while True:
            try:
                pool = await self.ctx.pool()
                for write in how.writes:
                    if records:
                        await write(pool, records)
                if contents:
                    await writer.write_content(pool, topic, contents)
                return
            except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout, OSError) as exc:
                # The database is the queryable copy; the topic still holds the data, so wait, don't drop.
                log.warning("storing %d records from %s failed (%s); retrying in %.1fs", len(messages), topic,
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            except Exception:
                log.exception("storing a batch from %s failed permanently; dead-lettering it", topic)
                for message in messages:
                    await self.ctx.dead_letter(topic, message.key(), message.value() or b"", "storage: write failed")
                return


def _positions(messages: Sequence[Message]) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """Per (topic, partition): the batch's first offset, and the offset after its last."""
    first: dict[tuple[str, int], int] = {}
    after: dict[tuple[str, int], int] = {}
    for message in messages:
        key, offset = (str(message.topic()), int(message.partition() or 0)), int(message.offset() or 0)
        first[key] = min(first.get(key, offset), offset)
        after[key] = max(after.get(key, 0), offset + 1)
    return first, after


def _commit(consumer: Consumer, messages: Sequence[Message]) -> dict[tuple[str, int], int]:
    _, after = _positions(messages)
    try:
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in after.items()], asynchronous=False)
    except KafkaException as exc:
        # Revoked in a rebalance: the partition's next owner re-reads the batch; the writes are idempotent.
        log.warning("storage offsets not committed (%s); those records will be stored again", exc)
    return after


def _rewind(consumer: Consumer, messages: Sequence[Message]) -> None:
    first, _ = _positions(messages)
    for (topic, partition), offset in first.items():
        try:
            consumer.seek(TopicPartition(topic, partition, offset))
        except KafkaException as exc:  # no longer assigned: its next owner reads from the last commit
            log.warning("could not rewind %s[%d]: %s", topic, partition, exc)


class StoreContext(StageContext):
    """The storage consumer's context in a process of its own (`alertstream store`): no faust
    app, so no tables; the topics are production's."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, {}, {})

    def topic_name(self, topic: str) -> str:
        return topic


async def run_alone(settings: Settings) -> None:
    """`alertstream store`: until SIGINT/SIGTERM, then the current batch's call returns and the
    consumer leaves its group."""
    ctx = StoreContext(settings)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await StorageConsumer(ctx).run()
    except asyncio.CancelledError:
        log.info("storage consumer stopped")
    finally:
        await ctx.close()
