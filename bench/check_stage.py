"""Check-stage throughput: alerts/s through dedup and incidents for ONE worker process.

    .venv/bin/python -m bench.check_stage [--alerts 20000] [--repeats 0.8] [--partitions 6]

`measure(bootstrap, topic, count, partitions)` (bench/run.py) does the same over records
already in `topic` on another broker: they are copied, untimed, onto a broker of its own, so
nothing else that broker's alerts.normalized holds is counted.

A benchmark, not a test: it starts its own broker (and embedded PostgreSQL unless DATABASE_URL
answers), fills alerts.normalized with a stream in which ~80 % of alerts repeat an earlier one
unchanged (the rest are new alerts, status or severity changes), then starts one real
`alertstream worker` (all agents, as deployed) and times the check stage from the broker's own
timestamps: from the first record the stage wrote to the last, over every input alert.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from alertstream.config import KafkaSettings
from alertstream.embedded import free_port, start_broker, start_postgres
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert
from alertstream.storage.migrate import migrate
from alertstream.streams.admin import ensure_topics

SEVERITIES = ("critical", "error", "warning", "info")


def stream(count: int, repeats: float, seed: int = 1) -> list[NormalizedAlert]:
    rng, now = random.Random(seed), datetime.now(UTC)
    known: dict[str, tuple[str, str]] = {}
    out = []
    for i in range(count):
        if known and rng.random() < repeats:
            fp = rng.choice(list(known))  # an unchanged repeat
            status, severity = known[fp]
        else:
            fp = f"fp-{rng.randrange(max(1, count // 10))}"
            status = rng.choices(("firing", "resolved"), (4, 1))[0]
            severity = rng.choice(SEVERITIES)
            known[fp] = (status, severity)
        n = int(fp[3:])
        out.append(NormalizedAlert(
            fingerprint=fp, source="generic", name=f"Bench{n % 200}", status=status, severity=severity,
            labels={"instance": f"host-{n % 7}"}, annotations={"summary": "bench"}, event_id=uuid.uuid4().hex,
            trace_id=uuid.uuid4().hex, received_at=now + timedelta(milliseconds=i),
        ))
    return out


def fill(bootstrap: str, values: Sequence[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for i, (key, value) in enumerate(values):
        producer.produce("alerts.normalized", key=key, value=value)
        if i % 5000 == 0:
            producer.poll(0)
    producer.flush(120)


def encoded(alerts: Sequence[NormalizedAlert]) -> list[tuple[bytes, bytes]]:
    codec = Codec()
    return [(alert.fingerprint.encode(), codec.encode(alert)) for alert in alerts]


def read_records(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    """Up to `count` (key, value) records of a topic, every partition to its end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending, out, deadline = set(partitions), [], time.monotonic() + 120
        while pending and len(out) < count and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                    continue
                out.append((msg.key() or b"", msg.value()))
        return out[:count]
    finally:
        consumer.close()


def timestamps(bootstrap: str, topic: str) -> tuple[int, float, float]:
    """(records, first, last) broker timestamps (s) of a topic. The end offset is a fetch's high
    watermark: Tansu's ListOffsets stops after the first record of a partition's last batch."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}"})
    count, first, last = 0, float("inf"), 0.0
    try:
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            tp = TopicPartition(topic, p)
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high <= low:
                continue
            for offset in (low, None):
                if offset is None:  # the last record, by the watermark the first fetch brought back
                    offset = consumer.get_watermark_offsets(tp, cached=True)[1] - 1
                    count += offset + 1 - low
                consumer.assign([TopicPartition(topic, p, offset)])
                msg = consumer.poll(10)
                if msg is not None and not msg.error():
                    stamp = msg.timestamp()[1] / 1000
                    first, last = min(first, stamp), max(last, stamp)
    finally:
        consumer.close()
    return count, first, last


def stop(worker: subprocess.Popen[bytes]) -> None:
    """SIGINT, and SIGKILL when faust's shutdown hangs (it can wait for a record it already dropped)."""
    worker.send_signal(2)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)


@dataclass(frozen=True)
class Result:
    alerts: int
    changes: int
    events: int
    seconds: float

    @property
    def alerts_per_s(self) -> float:
        return self.alerts / self.seconds if self.seconds > 0 else 0.0


def run_stage(fill_input: Callable[[str], int], partitions: int) -> Result:
    """A broker and database of its own, alerts.normalized filled by `fill_input(bootstrap)` (which
    returns how many it wrote), one real worker; timed from the broker's timestamps."""
    work = Path(tempfile.mkdtemp(prefix="check-bench-"))
    broker = start_broker(free_port(), work / "broker.log")
    postgres, base, name = None, os.environ.get("DATABASE_URL", ""), f"check_bench_{os.getpid()}"
    try:
        url = base
        try:
            psycopg.connect(url, connect_timeout=2).close()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = str(psycopg.conninfo.make_conninfo(url, dbname=name))
        except psycopg.Error:
            base = ""
            postgres = start_postgres(work / "pgdata")
            url = postgres.url
        migrate(url)
        ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=partitions))
        count = fill_input(broker.bootstrap)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_", "DATABASE_"))}
        env.update(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, DATABASE_URL=url, ALERTSTREAM_STATE_DIR=str(work),
                   ALERTSTREAM_PARTITIONS=str(partitions), ALERTSTREAM_REBALANCE_TIMEOUT_S="3",
                   ALERTSTREAM_LOG_LEVEL="WARNING", ALERTSTREAM_APP_ID="check-bench",
                   ALERTSTREAM_WORKER_METRICS_PORT="0")
        with open(work / "worker.log", "wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "alertstream", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        try:
            settled, seen = time.monotonic(), (-1, -1)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:  # done once both of the stage's outputs stop growing
                time.sleep(2)
                now_seen = (timestamps(broker.bootstrap, "alerts.changes")[0],
                            timestamps(broker.bootstrap, "incidents.events")[0])
                if now_seen != seen:
                    seen, settled = now_seen, time.monotonic()
                elif seen[1] > 0 and time.monotonic() - settled > 6:
                    break
        finally:
            stop(worker)
        changes, c_first, c_last = timestamps(broker.bootstrap, "alerts.changes")
        events, _, e_last = timestamps(broker.bootstrap, "incidents.events")
        span = max(c_last, e_last) - c_first  # the first input is almost always new, so it writes a change
        return Result(count, changes, events, span)
    finally:
        broker.stop()
        if base:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(bootstrap: str, topic: str, count: int, partitions: int) -> float:
    """Alerts/s of the check stage over the first `count` records of `topic` (bench/run.py)."""
    records = read_records(bootstrap, topic, count)

    def copy(own: str) -> int:
        fill(own, records)
        return len(records)

    return run_stage(copy, partitions).alerts_per_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--repeats", type=float, default=0.8)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args(argv)
    values = encoded(stream(args.alerts, args.repeats))

    def own_stream(bootstrap: str) -> int:
        fill(bootstrap, values)
        return len(values)

    result = run_stage(own_stream, args.partitions)
    print(f"check stage, one worker, {args.partitions} partitions: {result.alerts} alerts "
          f"({1 - result.changes / result.alerts:.0%} repeats dropped by dedup), {result.changes} changes -> "
          f"{result.events} incident events in {result.seconds:.2f}s = {result.alerts_per_s:,.0f} alerts/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
