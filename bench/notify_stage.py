"""Notify-stage throughput: deliveries/s to a local webhook receiver for ONE worker process.

    .venv/bin/python -m bench.notify_stage [--deliveries 5000] [--partitions 6] [--alerts 3]

A benchmark, not a test: it starts its own broker (and embedded PostgreSQL unless DATABASE_URL
answers), fills incidents.analyses with analysed incidents whose lane names the env webhook
channel, starts a fast local receiver (keep-alive, answers 204) and one real
`alertstream worker` (all agents, as deployed), and times the notify stage from the first
delivery the receiver saw to the last. Every delivery goes the production path: ledger claim in
PostgreSQL, Standard Webhooks POST through the SSRF-guarded client, outcome, result record,
audit reference. It also reports duplicates (there must be none).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from alertstream.config import KafkaSettings
from alertstream.embedded import free_port, start_broker, start_postgres
from alertstream.schemas.codec import Codec
from alertstream.storage.migrate import migrate
from alertstream.streams.admin import ensure_topics


class Receiver:
    """A minimal HTTP/1.1 keep-alive server on its own thread: counts webhook-ids and arrival times."""

    def __init__(self, port: int) -> None:
        self.port, self.ids, self.first, self.last = port, Counter(), 0.0, 0.0
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                length, msg_id = 0, ""
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "webhook-id":
                        msg_id = value.strip()
                await reader.readexactly(length)
                now = time.time()
                self.first, self.last = self.first or now, now
                self.ids[msg_id] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass


def fill(bootstrap: str, count: int, alerts: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.notify.factories import analysis  # the same realistic records the tests use

    codec = Codec()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for i in range(count):
        record = analysis(alerts=alerts, title=f"Bench {i}", channels=("default-webhook",))
        producer.produce("incidents.analyses", key=record.incident.incident_id.encode(), value=codec.encode(record))
        if i % 2000 == 0:
            producer.poll(0)
    producer.flush(120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--alerts", type=int, default=3, help="alerts per incident")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    broker = start_broker(free_port(), work / "broker.log")
    postgres, base, name = None, os.environ.get("DATABASE_URL", ""), f"notify_bench_{os.getpid()}"
    try:
        try:
            psycopg.connect(base, connect_timeout=2).close()
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = str(psycopg.conninfo.make_conninfo(base, dbname=name))
        except psycopg.Error:
            base, postgres = "", start_postgres(work / "pgdata")
            url = postgres.url
        migrate(url)
        ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=args.partitions))
        fill(broker.bootstrap, args.deliveries, args.alerts)
        receiver = Receiver(free_port())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_", "DATABASE_"))}
        env.update(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, DATABASE_URL=url, ALERTSTREAM_STATE_DIR=str(work),
                   ALERTSTREAM_PARTITIONS=str(args.partitions), ALERTSTREAM_REBALANCE_TIMEOUT_S="3",
                   ALERTSTREAM_LOG_LEVEL="WARNING", ALERTSTREAM_APP_ID=f"notify-bench-{uuid.uuid4().hex[:6]}",
                   ALERTSTREAM_WEBHOOK_URL=f"http://127.0.0.1:{receiver.port}/hook")
        with open(work / "worker.log", "wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "alertstream", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        try:
            deadline, seen, settled = time.monotonic() + 900, -1, time.monotonic()
            while time.monotonic() < deadline and len(receiver.ids) < args.deliveries:
                time.sleep(1)
                if len(receiver.ids) != seen:
                    seen, settled = len(receiver.ids), time.monotonic()
                elif seen > 0 and time.monotonic() - settled > 30:
                    break  # stalled: report what arrived
        finally:
            worker.send_signal(2)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:  # faust's shutdown can wait for a record it already dropped
                worker.kill()
                worker.wait(10)
        delivered, span = len(receiver.ids), max(receiver.last - receiver.first, 1e-9)
        duplicates = sum(n - 1 for n in receiver.ids.values() if n > 1)
        print(f"notify stage, one worker, {args.partitions} partitions: {delivered}/{args.deliveries} deliveries "
              f"({args.alerts} alerts each) in {span:.2f}s = {delivered / span:,.0f} deliveries/s; "
              f"duplicates: {duplicates}")
        return 0 if delivered == args.deliveries and duplicates == 0 else 1
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
