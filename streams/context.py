"""What every agent shares: settings, the codec, the run id, lazily opened I/O
resources, and how to emit records and references.

Agents take their input in batches (`batches`) and emit through an `Outbox`: every output
of a batch is handed to the producer at once and acknowledged together, one broker round
trip per batch instead of one per record. Only then does the agent write its tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import faust
import httpx
from faust.streams import _current_event  # the ContextVar faust's tables read to pick a changelog partition
from psycopg_pool import AsyncConnectionPool

from alertstream.audit import make_ref
from alertstream.chain import ChainHead, LocalChain, link, process_chain, worker_chain_id
from alertstream.config import Settings
from alertstream.metrics import WorkerMetrics
from alertstream.notify.base import ChannelConfig
from alertstream.schemas.codec import Codec, SchemaError
from alertstream.storage.db import open_pool

from .changelog import BATCH_CHANGELOG
from .producer import OutputProducer, Pending

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class StageContext:
    def __init__(self, settings: Settings, topics: dict[str, faust.TopicT], channels: dict[str, ChannelConfig]) -> None:
        self.settings = settings
        self.topics = topics
        self.channels = channels
        self.codec = Codec.from_settings(settings)  # Confluent wire format when SCHEMA_REGISTRY_URL is set
        self.metrics = WorkerMetrics()
        self.run_id = settings.run_id
        self._pool: AsyncConnectionPool | None = None
        self._http: httpx.AsyncClient | None = None
        self._producer: OutputProducer | None = None
        self._lock = asyncio.Lock()
        # Heads of this app's audit chains (a faust table set by the topology); written only while
        # processing the input partition a chain belongs to, so it follows that partition.
        self.chains: MutableMapping[str, Any] | None = None

    async def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await open_pool(self.settings.database_url)
        return self._pool

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            # One client per process: connection reuse matters more than anything else on the notify path.
            self._http = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=50))
        return self._http

    def topic_name(self, topic: str) -> str:
        """Where a stage's output for `topic` goes: the topic itself in production, `shadow.<topic>`
        in the shadow app (streams/shadow.py); a topic this app lacks is a KeyError, never production."""
        return str(self.topics[topic].get_topic_name())

    def producer(self) -> OutputProducer:
        """One producer for every output of this process (streams/producer.py), opened on first use."""
        if self._producer is None:
            self._producer = OutputProducer(self.settings.kafka, self.settings.worker.output_linger_ms)
        return self._producer

    async def connect_outputs(self) -> None:
        """Open the producer before the first batch needs it (OutputProducer.connect says why)."""
        producer = self.producer()
        if not await asyncio.to_thread(producer.connect, 5.0):  # a stop waits for it while the broker is down
            log.warning("the broker did not answer at start; the first outputs will wait for it")

    async def close(self) -> None:
        if self._producer is not None:
            await asyncio.to_thread(self._producer.close)
        if self._http is not None:
            await self._http.aclose()
        if self._pool is not None:
            await self._pool.close()

    async def batches(self, stream: faust.StreamT) -> AsyncIterator[Sequence[faust.EventT]]:
        """The stream's events in batches (ALERTSTREAM_STAGE_BATCH_SIZE / _SECONDS). The table
        changes the loop body makes go through this process's producer (streams/changelog.py);
        once the body has finished they are awaited, and only then does faust ack the batch's
        events. Raises OutputError (nothing acked) when the broker refused one."""
        worker = self.settings.worker
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(  # type: ignore[attr-defined]  # StreamT does not declare it
                worker.stage_batch_size, within=worker.stage_batch_seconds):
            changes = Pending(loop)
            BATCH_CHANGELOG.set(changes)
            yield events
            BATCH_CHANGELOG.set(None)
            await changes.wait()

    def outbox(self) -> Outbox:
        return Outbox(self)

    async def send(self, topic: str, key: str, record: Any) -> bytes:
        """Encode and publish, waiting for the broker: the input is acked only after its outputs are durable."""
        out = Outbox(self)
        value = await out.send(topic, key, record)
        await out.flush()
        return value

    async def send_raw(self, topic: str, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> None:
        out = Outbox(self)
        await out.send_raw(topic, key, value, headers)
        await out.flush()

    async def ref(self, **fields: Any) -> None:
        """One reference record (see Outbox.ref), durable before this returns."""
        out = Outbox(self)
        await out.ref(**fields)
        await out.flush()

    async def decoded(self, topic: str, key: bytes | None, value: bytes) -> Any | None:
        """The record `value` holds, or None once it is dead-lettered as undecodable (see Outbox.decoded)."""
        out = Outbox(self)
        record = await out.decoded(topic, key, value)
        await out.flush()
        return record

    async def dead_letter(self, source_topic: str, key: bytes | None, value: bytes, reason: str) -> None:
        """A record this stage can never process: kept, with its reason, instead of crashing the agent."""
        out = Outbox(self)
        await out.dead_letter(source_topic, key, value, reason)
        await out.flush()


@contextmanager
def processing(event: Any) -> Iterator[None]:
    """Make `event` faust's current event while a batch agent works on it: a table row written
    inside lands on the changelog partition of the event's input partition (faust reads it from the
    current event), and a reference joins that partition's audit chain. faust sets it for one event
    at a time; a batch's records need it set for each in turn."""
    token = _current_event.set(lambda: event)  # type: ignore[arg-type]  # faust only calls it, as a weakref
    try:
        yield
    finally:
        _current_event.reset(token)


class Outbox:
    """The outputs of one batch. Each record goes to the producer as it is added; `flush` waits
    until the broker has acknowledged all of them, then moves the audit chains' heads. An agent
    writes its tables only after `flush`, so a crash in between redelivers inputs whose outputs
    are already out, never tables that claim outputs which are not (docs/reliability.md)."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.codec = ctx.codec
        self._pending = Pending(asyncio.get_running_loop())
        self._count = 0
        self._records: list[Any] = []
        # chain id -> (its head after the refs linked so far, an event of the partition it follows)
        self._heads: dict[str, tuple[ChainHead, Any]] = {}

    def __len__(self) -> int:
        return self._count

    async def send(self, topic: str, key: str, record: Any) -> bytes:
        value = self.codec.encode(record)
        await self.send_raw(topic, key.encode(), value)
        self._records.append(record)
        return value

    async def send_raw(self, topic: str, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> None:
        self.ctx.producer().produce(self.ctx.topic_name(topic), key, value, headers, self._pending)
        self._count += 1

    async def ref(
        self,
        *,
        trace_id: str,
        stage: str,
        input_ref: str,
        output_ref: str,
        content: bytes,
        started_at: datetime,
        status: str = "ok",
        error: str | None = None,
    ) -> None:
        """A reference record, linked (in memory, in order) into the chain of the input partition
        of the current event; outside an agent's event, into this process run's chain."""
        ref = make_ref(
            trace_id=trace_id,
            run_id=self.ctx.run_id,
            stage=stage,
            input_ref=input_ref,
            output_ref=output_ref,
            content=content,
            started_at=started_at,
            finished_at=utcnow(),
            status=status,
            error=error,
        )
        event = faust.current_event()
        chains = self.ctx.chains
        if event is None or chains is None:
            # Outside an agent's event (tests, tools): a chain of this process run.
            local: LocalChain = process_chain(stage, "worker", self.ctx.run_id)
            await self.send("audit.refs", local.chain_id, local.link(ref))
            return
        chain_id = worker_chain_id(stage, event.message.topic, event.message.partition)
        known = self._heads.get(chain_id)
        head = known[0] if known is not None else ChainHead.from_json(chains.get(chain_id))
        ref, head = link(ref, chain_id, head)
        await self.send("audit.refs", chain_id, ref)
        self._heads[chain_id] = (head, event)

    async def decoded(self, topic: str, key: bytes | None, value: bytes) -> Any | None:
        """The record `value` holds, or None once it is dead-lettered from `topic` ("schema: ...")."""
        try:
            return self.codec.decode(value)
        except SchemaError as exc:
            await self.dead_letter(topic, key, value, f"schema: {exc}")
            return None

    async def dead_letter(self, source_topic: str, key: bytes | None, value: bytes, reason: str) -> None:
        log.error("dead-lettering a record from %s: %s", source_topic, reason)
        self.ctx.metrics.dead_letters.labels(source_topic).inc()
        await self.send_raw(
            "pipeline.dlq", key or b"", value,
            headers={"source-topic": source_topic.encode(), "reason": reason.encode()},
        )

    async def flush(self) -> None:
        """Wait for the broker to acknowledge every output, then move the chain heads. The refs
        are durable before their head moves: a crash in between re-links the redelivered input at
        the same seq (a fork `audit verify` reports as a duplicate), never leaves a gap. Raises
        (and moves nothing) when an output was not acknowledged."""
        records, self._records = self._records, []
        heads, self._heads = self._heads, {}
        self._count = 0
        await self._pending.wait()
        for record in records:
            self.ctx.metrics.observe_record(record)
        chains = self.ctx.chains
        for chain_id, (head, event) in heads.items():
            assert chains is not None
            with processing(event):
                chains[chain_id] = head.to_json()

