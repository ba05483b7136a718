"""Every input offset exactly once per partition, whatever the consumer group does.

faust's consumer can resume a partition past records it fetched but never handed to the
agent (prefetched records dropped when a rebalance changes the generation, with no seek
back; faust-streaming issues #216 and #221 describe the family). The group's committed
offset then moves over them and they are never processed: a lost alert change.

So the check stage does not trust the group offset alone. It keeps the last offset it
finished per input partition as a row of its own state table (a key no alert or incident
can have), so the mark shares one changelog partition with the rows of the records it
vouches for and is written after them: the producer keeps a partition's records in order,
so a mark that survived a crash implies the rows before it did. (Kept in a table of its
own, a mark could reach the broker before the rows it vouched for; a crash in between
skipped those records on redelivery and lost their rows.) A record at or below the mark
is a redelivery and is skipped; a record beyond the next one reveals a gap, which is read
straight from the broker and processed first.

A batch agent asks `admit` for the records of a batch and calls `commit` with the marks it
returned once every admitted record's outputs are acknowledged and its rows are written.

A gap at the end of a partition has no later record to reveal it: faust drops what it fetched when
a rebalance stops its flow mid-batch, and the fetch position has already moved past those records.
`stalled` finds such partitions (records on the broker past the mark, and the mark still for a
while) so the worker can seek its consumer back to the mark; the records then come through the
agent again, and any it had in fact finished are skipped as redeliveries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from .context import processing

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 5
# How long a partition's mark may stand still with records past it before they are read again.
# Longer than a busy agent takes to come back to a partition; a false alarm costs a re-read.
STALL_S = 15.0


@dataclass(frozen=True)
class InputRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    # The group consumer's event this record came with (for a gap: the one that revealed it, of the
    # same partition); its partition is where this record's table rows go.
    event: Any = field(default=None, compare=False, repr=False)


@dataclass
class Admitted:
    """A batch's records to process, in order, and the marks to write once they are finished:
    mark -> (last offset, an event of that partition)."""

    records: list[InputRecord]
    marks: dict[str, tuple[int, Any]]


class GapError(Exception):
    """A gap that could not be read from the broker."""


class GapGuard:
    def __init__(self, bootstrap: str, progress: MutableMapping[str, Any], fetch_timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.progress = progress
        self.fetch_timeout_s = fetch_timeout_s
        self.filled = 0  # records read past the group consumer (for tests and logs)
        self.redelivered = 0
        self._consumer: AIOKafkaConsumer | None = None
        # topic -> mark -> (its value, seen unchanged since)
        self._marks_seen: dict[str, dict[str, tuple[int | None, float]]] = {}

    def stalled(self, topic: str, highwaters: Mapping[int, int | None], now: float,
                after_s: float = STALL_S) -> list[tuple[int, int]]:
        """(partition, offset to read again from) for each partition of `topic` in `highwaters`
        (partition -> the broker's next offset, None when not known yet) whose mark has not moved
        for `after_s` while records past it exist. Pure but for the time each mark was last seen
        to move; partitions left out (no longer assigned) are forgotten."""
        stalled: list[tuple[int, int]] = []
        seen: dict[str, tuple[int | None, float]] = {}
        for partition, high in highwaters.items():
            mark = mark_key(topic, partition)
            done = self.progress.get(mark)
            before = self._marks_seen.get(topic, {}).get(mark)
            since = before[1] if before is not None and before[0] == done else now
            if done is not None and high is not None and high > done + 1 and now - since >= after_s:
                stalled.append((partition, done + 1))
                since = now  # once per period, not on every look
            seen[mark] = (done, since)
        self._marks_seen[topic] = seen
        return stalled

    async def admit(self, events: Iterable[Any]) -> Admitted:
        """The records of a batch of events, in offset order per partition, each once: redeliveries
        dropped, gaps read from the broker and put before the record that revealed them. Nothing is
        marked done here; `commit(admitted.marks)` does that once the records are finished."""
        marks: dict[str, tuple[int, Any]] = {}
        out: list[InputRecord] = []
        for event in events:
            message = event.message
            mark = mark_key(message.topic, message.partition)
            last = marks[mark][0] if mark in marks else self.progress.get(mark)
            if last is not None and message.offset <= last:
                self.redelivered += 1
                continue
            if last is not None and message.offset > last + 1:
                log.warning("input gap on %s[%d]: offsets %d..%d were skipped by the consumer; reading them now",
                            message.topic, message.partition, last + 1, message.offset - 1)
                try:
                    async for missed in self._read(message.topic, message.partition, last + 1, message.offset):
                        self.filled += 1
                        out.append(replace(missed, event=event))
                        marks[mark] = (missed.offset, event)
                except GapError as exc:  # keep the stage running; the loss is on record, loudly
                    log.error("input gap on %s[%d] not filled: %s", message.topic, message.partition, exc)
            out.append(InputRecord(message.topic, message.partition, message.offset, event.key, event.value, event))
            marks[mark] = (message.offset, event)
        return Admitted(out, marks)

    def commit(self, marks: dict[str, tuple[int, Any]]) -> None:
        """Mark records done: only after their outputs are acknowledged and their rows written."""
        for mark, (offset, event) in marks.items():
            with processing(event):
                self.progress[mark] = offset

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _read(self, topic: str, partition: int, start: int, end: int) -> AsyncIterator[InputRecord]:
        """Offsets start..end-1 of one partition, straight from the broker."""
        tp = TopicPartition(topic, partition)
        want = start
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                consumer = await self._reader()
                consumer.assign([tp])
                consumer.seek(tp, want)
                deadline = asyncio.get_running_loop().time() + self.fetch_timeout_s
                while want < end:
                    if asyncio.get_running_loop().time() > deadline:
                        raise GapError(f"offsets {want}..{end - 1} of {topic}[{partition}] not readable")
                    batch = await consumer.getmany(tp, timeout_ms=500)
                    for msg in batch.get(tp, []):
                        if msg.offset < want:
                            continue
                        if msg.offset >= end:
                            return
                        want = msg.offset + 1
                        yield InputRecord(topic, partition, msg.offset, msg.key, msg.value)
                return
            except (TimeoutError, GapError, OSError) as exc:
                log.warning("reading a gap failed (attempt %d of %d): %s", attempt, FETCH_ATTEMPTS, exc)
                await self.close()
                await asyncio.sleep(min(2.0 * attempt, 10.0))
        raise GapError(f"offsets {want}..{end - 1} of {topic}[{partition}] could not be read")

    async def _reader(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        return self._consumer


# Alert fingerprints and correlation keys never hold NUL (the edge refuses it), so marks cannot collide.
MARK_PREFIX = "\x00progress:"


def mark_key(topic: str, partition: int) -> str:
    return f"{MARK_PREFIX}{topic}:{partition}"


def is_mark(key: Any) -> bool:
    """Is this row of a state table a progress mark rather than state?"""
    return isinstance(key, str) and key.startswith(MARK_PREFIX)
