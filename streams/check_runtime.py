"""What the check stage holds per worker besides its tables: the policy, the lanes (reloaded
when their file changes), the silences (read from the compacted `silences` topic, every
partition, by every worker: no database on the hot path), and its timer.

The timer never changes a table itself (faust tables are written only from a stream, so
that each write lands on its partition's changelog). It sends a tick command to
alerts.changes for each incident that needs one; the incident agent applies it in
order with everything else, using the tick's own time as the clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from alertstream.config import Settings
from alertstream.schemas.codec import Codec, SchemaError
from alertstream.schemas.records import IncidentCommand, Silence

from .announce import Routing, needs_tick
from .context import StageContext, utcnow
from .gaps import is_mark
from .incident_state import IncidentState
from .incidents import IncidentPolicy
from .lanes import LaneBook
from .silences import SilenceBook

log = logging.getLogger(__name__)

SILENCES_TOPIC = "silences"
_FULL_SCAN_EVERY = 30  # ticks between full scans of the table (after a restart or a rebalance)


def policy_from(settings: Settings) -> IncidentPolicy:
    check = settings.check
    return IncidentPolicy(
        correlation_labels=check.correlation_labels,
        reopen_window=timedelta(seconds=check.reopen_window_s),
        max_lifetime=timedelta(seconds=check.max_incident_lifetime_s),
    )


def watchable(raw: dict[str, Any]) -> bool:
    """Might time passing change this row? Cheap, on the raw JSON."""
    if "incident_id" not in raw:
        return False
    return bool(
        raw.get("pending_due") or raw.get("silenced_by") or raw.get("status") == "resolved"
        or (raw.get("status") == "open" and raw.get("notified_at"))
    )


def only_reminders(raw: dict[str, Any]) -> bool:
    """Is a reminder the only thing time could bring this row (nothing held, muted or resolved)?"""
    return raw.get("status") == "open" and not raw.get("pending_due") and not raw.get("silenced_by")


class CheckRuntime:
    def __init__(self, settings: Settings, channels: Callable[[], Collection[str]]) -> None:
        self.settings = settings
        self.policy = policy_from(settings)
        lanes_file = settings.check.lanes_file
        self.lanes = LaneBook(Path(lanes_file) if lanes_file else None, channels)
        self.silences = SilenceBook()
        self.repeats = 0  # dedup: repeats seen by this process (for the benchmark and logs)
        self._watch: set[str] = set()
        self._ticked: dict[str, float] = {}
        self._runs = 0
        self._silences_ready = asyncio.Event()

    # -- the incident agent keeps the watch set current ------------------------------------
    def watch_if_needed(self, key: str, state: IncidentState) -> None:
        if watchable({"incident_id": state.incident_id, "pending_due": state.pending_due,
                      "silenced_by": state.silenced_by, "status": state.status, "notified_at": state.notified_at}):
            self._watch.add(key)
        else:
            self._watch.discard(key)

    def unwatch(self, key: str) -> None:
        self._watch.discard(key)

    async def silences_loaded(self, timeout: float) -> None:
        """Wait (bounded) until the silences that existed at start are known."""
        try:
            await asyncio.wait_for(self._silences_ready.wait(), timeout)
        except TimeoutError:
            log.warning("silences not loaded within %.0fs; checking alerts without them for now", timeout)

    # -- the timer -------------------------------------------------------------------------
    async def on_timer(
        self, ctx: StageContext, incidents: faust.Table, active_partitions: Callable[[], set[int]]
    ) -> None:
        self.lanes.refresh()
        self._runs += 1
        actives = active_partitions()
        if self._runs % _FULL_SCAN_EVERY == 1:
            self._watch.update(key for key, raw in list(incidents.items())
                               if raw and not is_mark(key) and watchable(raw))
        now, clock = utcnow(), time.monotonic()
        routing = Routing(self.lanes.lanes, self.silences)
        quiet_for = max(5.0, 5 * self.settings.check.tick_s)
        # Without a lane that repeats, a notified open incident with nothing held or muted has nothing
        # due: skip it on its raw row (loading every open incident each tick grew with their number).
        reminders = any(lane.timing.repeat_interval > timedelta(0) for lane in self.lanes.lanes)
        for key in list(self._watch):
            raw = incidents.get(key)
            if not raw or not watchable(raw) or (not reminders and only_reminders(raw)):
                self._watch.discard(key)
                continue
            if raw.get("partition", -1) not in actives or clock - self._ticked.get(key, 0.0) < quiet_for:
                continue  # a standby copy, or a tick already on its way
            if not needs_tick(IncidentState.from_json(raw), now, routing, self.policy):
                continue
            self._ticked[key] = clock
            command = IncidentCommand(
                command_id=uuid.uuid4().hex, kind="tick", incident_id=raw["incident_id"], correlation_key=key,
                issued_at=now,
            )
            await ctx.send("alerts.changes", key, command)
        for key in [k for k, at in self._ticked.items() if clock - at >= quiet_for]:
            del self._ticked[key]

    # -- the silence feed ------------------------------------------------------------------
    async def feed_silences(self, codec: Codec) -> None:
        """Read the whole `silences` topic, then follow it; every worker keeps every silence."""
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka.bootstrap_servers, group_id=None, enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            try:
                await consumer.start()
                await self._follow(consumer, codec)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("silence feed failed; reconnecting in 2s")
                await asyncio.sleep(2)
            finally:
                await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer, codec: Codec) -> None:
        partitions = consumer.partitions_for_topic(SILENCES_TOPIC)
        while not partitions:
            await consumer.topics()  # refreshes metadata
            partitions = consumer.partitions_for_topic(SILENCES_TOPIC)
            if not partitions:
                await asyncio.sleep(1)
        tps = [TopicPartition(SILENCES_TOPIC, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    self._take(message.key, message.value, codec)
            if not self._silences_ready.is_set() and await _caught_up(consumer, ends):
                log.info("silences loaded: %d known", len(self.silences.silences))
                self._silences_ready.set()

    def _take(self, key: bytes | None, value: bytes | None, codec: Codec) -> None:
        if value is None:
            if key:
                self.silences.forget(key.decode())
            return
        try:
            silence = codec.decode(value)
        except SchemaError as exc:
            log.error("skipping an undecodable record on %s: %s", SILENCES_TOPIC, exc)
            return
        if isinstance(silence, Silence):
            self.silences.put(silence)


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Has the feed read up to the end offsets it saw at start? (A loop, not all() over a generator
    with await in it: that is an async generator, which all() cannot iterate.)"""
    for tp, end in ends.items():
        if int(await consumer.position(tp)) < end:
            return False
    return True
