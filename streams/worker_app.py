"""Table recovery that reads each changelog to its true end.

faust restores a table by reading its changelog up to the end offset the broker reports
through ListOffsets. The embedded broker (Tansu) answers ListOffsets with the base offset of
the partition's last record batch plus one, not the offset after its last record; the
producers write changelogs in batches, so a worker restarted after a crash or handed a
partition in a rebalance would stop short and lose the tail of its table: the next
incident event would reuse a version another history already took.

A Fetch from the last batch's base reports the partition's real high watermark, so recovery
ends at the larger of the two. On Apache Kafka both agree and this costs one small fetch per
changelog partition at assignment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaTP
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0


async def fetched_high_watermarks(bootstrap: str, listed: Mapping[TP, int],
                                  timeout: float = FETCH_TIMEOUT_S) -> dict[TP, int]:
    """The high watermark a Fetch reports for each partition, fetched from just before `listed`
    (ListOffsets' end offset). Partitions it cannot learn keep their listed value."""
    out = dict(listed)
    wanted = {tp: end for tp, end in listed.items() if end > 0}
    if not wanted:
        return out
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                max_partition_fetch_bytes=1024)
    await consumer.start()
    try:
        kafka_tps = {tp: KafkaTP(tp.topic, tp.partition) for tp in wanted}
        consumer.assign(list(kafka_tps.values()))
        for tp, ktp in kafka_tps.items():
            consumer.seek(ktp, wanted[tp] - 1)
        deadline = asyncio.get_running_loop().time() + timeout
        pending = set(wanted)
        while pending and asyncio.get_running_loop().time() < deadline:
            await consumer.getmany(*(kafka_tps[tp] for tp in pending), timeout_ms=200, max_records=1)
            for tp in list(pending):
                high = consumer.highwater(kafka_tps[tp])
                if high is not None:
                    out[tp] = max(out[tp], high)
                    pending.discard(tp)
        if pending:
            log.warning("no fetch answer for %d changelog partitions; trusting ListOffsets for them", len(pending))
    finally:
        await consumer.stop()
    return out


class TrueEndRecovery(Recovery):
    async def _build_highwaters(self, consumer: Any, tps: Any, destination: Counter[TP], title: str) -> None:
        await super()._build_highwaters(consumer, tps, destination, title)
        # faust stores "last offset" (end - 1); -1 means empty.
        listed = {tp: destination[tp] + 1 for tp in tps}
        bootstrap = ",".join(f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker_consumer)
        try:
            true_ends = await fetched_high_watermarks(bootstrap, listed)
        except Exception as exc:  # never block recovery on the check itself
            log.warning("could not confirm changelog end offsets (%s); using ListOffsets", exc)
            return
        for tp, end in true_ends.items():
            if end - 1 > destination[tp]:
                log.info("changelog %s[%d]: recovering to offset %d, not %d as listed",
                         tp.topic, tp.partition, end - 1, destination[tp])
                destination[tp] = end - 1


class ChangelogTableManager(TableManager):
    """faust's TableManager with TrueEndRecovery (App(..., TableManager=ChangelogTableManager))."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = TrueEndRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
