"""GapGuard: each input offset once per partition, whatever the group consumer hands over."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from alertstream.streams.gaps import GapGuard, mark_key


def _event(topic: str, offset: int, partition: int = 0) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, offset=offset),
                           key=f"k{offset}".encode(), value=f"v{offset}".encode())


async def _take(guard: GapGuard, events) -> list[tuple[int, bytes]]:
    """One batch through the guard, as an agent takes it: admit, finish, commit the marks."""
    admitted = await guard.admit(events)
    guard.commit(admitted.marks)
    return [(r.offset, r.value) for r in admitted.records]


def test_redelivered_offsets_are_skipped_and_the_mark_moves_on_finish() -> None:
    progress: dict = {}
    guard = GapGuard("127.0.0.1:1", progress)
    taken = asyncio.run(_take(guard, [_event("t", o) for o in (0, 1, 2, 1, 2, 3)]))
    assert [o for o, _ in taken] == [0, 1, 2, 3]
    assert progress == {mark_key("t", 0): 3}
    assert guard.redelivered == 2


def test_partitions_are_tracked_apart() -> None:
    progress = {mark_key("t", 1): 9}
    guard = GapGuard("127.0.0.1:1", progress)
    taken = asyncio.run(_take(guard, [_event("t", 0, 0), _event("t", 10, 1), _event("t", 1, 0)]))
    assert [o for o, _ in taken] == [0, 10, 1]
    assert progress == {mark_key("t", 0): 1, mark_key("t", 1): 10}


@pytest.mark.integration
def test_a_gap_is_read_from_the_broker_before_the_record_that_revealed_it(broker) -> None:
    topic = f"gaps-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(8):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(10) == 0

    progress: dict = {}
    guard = GapGuard(broker.bootstrap, progress)

    async def run() -> list[tuple[int, bytes]]:
        try:
            # The group consumer hands over 0, 1, then jumps to 5 (2..4 dropped around a rebalance), then 7.
            return await _take(guard, [_event(topic, o) for o in (0, 1, 5, 7)])
        finally:
            await guard.close()

    taken = asyncio.run(run())
    assert taken == [(o, f"v{o}".encode()) for o in range(8)]
    assert guard.filled == 4 and progress == {mark_key(topic, 0): 7}


def test_a_batch_is_admitted_whole_and_marked_only_on_commit() -> None:
    progress = {mark_key("t", 0): 1}
    guard = GapGuard("127.0.0.1:1", progress)
    batch = [_event("t", o) for o in (1, 2, 3, 2, 3, 4)] + [_event("t", 7, partition=1)]
    admitted = asyncio.run(guard.admit(batch))
    assert [(r.partition, r.offset) for r in admitted.records] == [(0, 2), (0, 3), (0, 4), (1, 7)]
    assert admitted.records[0].event is batch[1]  # its table rows go to that event's partition
    assert progress == {mark_key("t", 0): 1}  # nothing is done until the batch's tables are written
    assert guard.redelivered == 3
    guard.commit(admitted.marks)
    assert progress == {mark_key("t", 0): 4, mark_key("t", 1): 7}


STALL_CASES = [
    # (mark, broker's next offset, seconds the mark stood still) -> where to read again, or None
    ("records past a mark that stood still", 41, 50, 20.0, 42),
    ("caught up: the next offset is the mark's next", 41, 42, 60.0, None),
    ("the mark moved a moment ago", 41, 50, 5.0, None),
    ("nothing fetched yet, no highwater", 41, None, 60.0, None),
    ("no mark yet: nowhere known to read from", None, 50, 60.0, None),
]


@pytest.mark.parametrize(("case", "mark", "high", "still_s", "expected"), STALL_CASES, ids=[c[0] for c in STALL_CASES])
def test_a_partition_whose_mark_stands_still_behind_the_broker_is_stalled(case, mark, high, still_s, expected) -> None:
    progress = {} if mark is None else {mark_key("t", 0): mark}
    guard = GapGuard("127.0.0.1:1", progress)
    assert guard.stalled("t", {0: high}, now=100.0, after_s=15) == []  # the first look only starts the clock
    found = guard.stalled("t", {0: high}, now=100.0 + still_s, after_s=15)
    assert found == ([] if expected is None else [(0, expected)])


def test_a_stalled_partition_is_reported_once_per_period_and_forgotten_when_unassigned() -> None:
    progress = {mark_key("t", 0): 9, mark_key("t", 1): 9}
    guard = GapGuard("127.0.0.1:1", progress)
    guard.stalled("t", {0: 20, 1: 20}, now=0.0, after_s=15)
    assert guard.stalled("t", {0: 20, 1: 20}, now=16.0, after_s=15) == [(0, 10), (1, 10)]
    assert guard.stalled("t", {0: 20, 1: 20}, now=20.0, after_s=15) == []  # not again at once
    progress[mark_key("t", 0)] = 12  # partition 0 moves on; partition 1 leaves this worker
    assert guard.stalled("t", {0: 20}, now=32.0, after_s=15) == []
    assert guard.stalled("t", {0: 20, 1: 20}, now=33.0, after_s=15) == []  # back: its clock starts anew
    assert guard.stalled("t", {0: 20, 1: 20}, now=48.0, after_s=15) == [(0, 13), (1, 10)]
