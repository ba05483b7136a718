"""The stages' producer (streams/producer.py) against a real broker: a small batch that waits for
its outputs has them sent at once instead of after linger.ms."""

from __future__ import annotations

import asyncio

import pytest

from alertstream.config import KafkaSettings
from alertstream.streams.admin import ensure_topics
from alertstream.streams.producer import KICK_BELOW, OutputProducer, Pending

pytestmark = pytest.mark.integration

LINGER_MS = 20_000  # far longer than the test waits: only a kick can get the records out in time


async def test_a_small_batch_does_not_wait_out_the_linger(broker) -> None:
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=3)
    ensure_topics(settings)
    producer = OutputProducer(settings, LINGER_MS)
    try:
        # Connected first: a kick before the producer knows its partitions' leader sends nothing (in a
        # worker that is the first batch after start, which then waits out the linger once).
        await asyncio.to_thread(producer._producer.list_topics, "pipeline.dlq", 10)
        pending = Pending(asyncio.get_running_loop())
        for n in range(min(3, KICK_BELOW)):
            producer.produce("pipeline.dlq", b"kick-%d" % n, b"test", None, pending)
        await asyncio.wait_for(pending.wait(), LINGER_MS / 1000 / 4)
    finally:
        await asyncio.to_thread(producer.close, 5)


async def test_a_large_batch_lingers_to_fill_its_requests(broker) -> None:
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=3)
    ensure_topics(settings)
    producer = OutputProducer(settings, LINGER_MS)
    try:
        pending = Pending(asyncio.get_running_loop())
        for n in range(KICK_BELOW + 1):
            producer.produce("pipeline.dlq", b"big-%d" % n, b"test", None, pending)
        waiting = asyncio.ensure_future(pending.wait())
        await asyncio.sleep(1)
        assert not waiting.done()  # still lingering, as configured
        waiting.cancel()
    finally:
        await asyncio.to_thread(producer.close, 5)  # flush() sends them on the way out
