"""The stages' producer (streams/producer.py): a batch that waits for at most KICK_BELOW records
kicks the producer (sends its queue without lingering); a larger one lets linger.ms fill requests.
What the kick buys is measured by `make bench` (end to end at a light load), not timed here;
nor is what connect() saves (the first delivery of a fresh idempotent producer, ~500 ms)."""

from __future__ import annotations

import asyncio
import dataclasses

from alertstream.config import Settings
from alertstream.embedded import free_port
from alertstream.streams.producer import KICK_BELOW, OutputProducer, Pending


async def _wait_with(records: int) -> int:
    """How many kicks a batch of `records` outstanding records asks for while it waits."""
    kicks: list[int] = []
    pending = Pending(asyncio.get_running_loop())
    for _ in range(records):
        pending.add(lambda: kicks.append(1))
    waiter = asyncio.ensure_future(pending.wait())
    await asyncio.sleep(0)
    for _ in range(records):
        pending.delivered(None, None)
    await asyncio.wait_for(waiter, 1)
    return len(kicks)


async def test_a_small_batch_kicks_the_producer_once() -> None:
    assert await _wait_with(1) == 1
    assert await _wait_with(KICK_BELOW) == 1


async def test_a_large_batch_lingers_to_fill_its_requests() -> None:
    assert await _wait_with(KICK_BELOW + 1) == 0


async def test_a_batch_with_nothing_in_flight_kicks_nothing() -> None:
    assert await _wait_with(0) == 0


def test_connect_answers_whether_the_broker_did(settings: Settings) -> None:
    reachable = OutputProducer(settings.kafka, 50)
    unreachable = OutputProducer(dataclasses.replace(settings.kafka, bootstrap_servers=f"127.0.0.1:{free_port()}"), 50)
    try:
        assert reachable.connect(timeout=10)
        assert not unreachable.connect(timeout=0.5)
    finally:
        reachable.close(1)
        unreachable.close(0)
