"""Check-stage throughput: alerts/s through dedup and incidents for ONE worker process.

    .venv/bin/python -m bench.check_stage [--alerts 20000] [--repeats 0.8] [--partitions 6]

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition

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


def fill(bootstrap: str, alerts: list[NormalizedAlert]) -> None:
    codec = Codec()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for i, alert in enumerate(alerts):
        producer.produce("alerts.normalized", key=alert.fingerprint.encode(), value=codec.encode(alert))
        if i % 5000 == 0:
            producer.poll(0)
    producer.flush(120)


def timestamps(bootstrap: str, topic: str) -> tuple[int, float, float]:
    """(records, first, last) broker timestamps (s) of a topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}"})
    count, first, last = 0, float("inf"), 0.0
    try:
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            count += high - low
            for offset in (low, high - 1):
                consumer.assign([TopicPartition(topic, p, offset)])
                msg = consumer.poll(10)
                if msg is not None and not msg.error():
                    stamp = msg.timestamp()[1] / 1000
                    first, last = min(first, stamp), max(last, stamp)
    finally:
        consumer.close()
    return count, first, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--repeats", type=float, default=0.8)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args(argv)
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
        ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=args.partitions))
        alerts = stream(args.alerts, args.repeats)
        fill(broker.bootstrap, alerts)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_", "DATABASE_"))}
        env.update(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, DATABASE_URL=url, ALERTSTREAM_STATE_DIR=str(work),
                   ALERTSTREAM_PARTITIONS=str(args.partitions), ALERTSTREAM_REBALANCE_TIMEOUT_S="3",
                   ALERTSTREAM_LOG_LEVEL="WARNING", ALERTSTREAM_APP_ID="check-bench")
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
            worker.send_signal(2)
            worker.wait(30)
        changes, c_first, c_last = timestamps(broker.bootstrap, "alerts.changes")
        events, _, e_last = timestamps(broker.bootstrap, "incidents.events")
        span = max(c_last, e_last) - c_first  # the first input is almost always new, so it writes a change
        print(f"check stage, one worker, {args.partitions} partitions: {args.alerts} alerts "
              f"({1 - changes / args.alerts:.0%} repeats dropped by dedup), {changes} changes -> {events} "
              f"incident events in {span:.2f}s = {args.alerts / span:,.0f} alerts/s")
        return 0
    finally:
        broker.stop()
        if base:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
