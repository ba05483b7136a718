"""What every agent shares: settings, the codec, the run id, lazily opened I/O
resources, and how to emit records and references."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import faust
import httpx
from alertstream.notify.base import ChannelConfig
from alertstream.schemas.codec import Codec
from alertstream.storage.db import open_pool
from psycopg_pool import AsyncConnectionPool

from alertstream.audit import make_ref
from alertstream.chain import ChainHead, LocalChain, link, process_chain, worker_chain_id
from alertstream.config import Settings
from alertstream.metrics import WorkerMetrics

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

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._pool is not None:
            await self._pool.close()

    async def send(self, topic: str, key: str, record: Any) -> bytes:
        """Encode and publish, waiting for the broker: the input is acked only after its outputs are durable."""
        value = self.codec.encode(record)
        fut = await self.topics[topic].send(key=key.encode(), value=value)
        await fut
        self.metrics.observe_record(record)
        return value

    async def send_raw(self, topic: str, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> None:
        fut = await self.topics[topic].send(key=key, value=value, headers=headers)
        await fut

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
        ref = make_ref(
            trace_id=trace_id,
            run_id=self.run_id,
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
        if event is None or self.chains is None:
            # Outside an agent's event (tests, tools): a chain of this process run.
            local: LocalChain = process_chain(stage, "worker", self.run_id)
            ref = local.link(ref)
            await self.send("audit.refs", local.chain_id, ref)
            return
        chain_id = worker_chain_id(stage, event.message.topic, event.message.partition)
        ref, head = link(ref, chain_id, ChainHead.from_json(self.chains.get(chain_id)))
        # The ref is durable before the head moves: a crash in between re-links the redelivered
        # input at the same seq (a fork `audit verify` reports as a duplicate), never leaves a gap.
        await self.send("audit.refs", chain_id, ref)
        self.chains[chain_id] = head.to_json()

    async def dead_letter(self, source_topic: str, key: bytes | None, value: bytes, reason: str) -> None:
        """A record this stage can never process: kept, with its reason, instead of crashing the agent."""
        log.error("dead-lettering a record from %s: %s", source_topic, reason)
        self.metrics.dead_letters.labels(source_topic).inc()
        await self.send_raw(
            "pipeline.dlq", key or b"", value,
            headers={"source-topic": source_topic.encode(), "reason": reason.encode()},
        )
