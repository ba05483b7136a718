"""The notify stage end to end with a real worker process, broker and PostgreSQL:

- the receiver answers 429 (Retry-After), then is down (503) for a while, then
  recovers: every notification arrives exactly once (delay topics, circuit breaker);
- then incidents.events and incidents.analyses are replayed from the beginning
  (the same worker under a fresh consumer group, against the same ledger): zero new sends.

The worker here is private (its own consumer group, database, stored channel and
receiver), with retry delays of seconds. Analyses are produced straight onto
incidents.analyses, so the check stage's routing is not part of what is tested.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Producer

from alertstream.notify.base import ChannelConfig
from alertstream.schemas.codec import Codec
from alertstream.secrets import Keyring, generate_key
from alertstream.storage import channels as channel_store
from alertstream.storage.db import open_pool

from .. import components
from ..components import Process, pipeline_env, spawn
from ..notify.factories import analysis
from ..notify.receivers import Scripted, VendorServer, vendor_server, webhook_contract

pytestmark = pytest.mark.integration

SECRET = "whsec_" + __import__("base64").b64encode(b"e2e-webhook-signing-secret-0123").decode()
RUN = uuid.uuid4().hex[:8]
CHANNEL = f"recover-{RUN}"


@dataclass
class Private:
    bootstrap: str
    database_url: str
    receiver: VendorServer
    env: dict[str, str]
    worker: Process
    log_path: Path

    def restart(self) -> None:
        self.worker.stop()
        self.worker = spawn("worker", self.env, self.log_path)


def produce(bootstrap: str, records: list) -> None:
    codec, producer = Codec(), Producer({"bootstrap.servers": bootstrap})
    for record in records:
        producer.produce("incidents.analyses", key=record.incident.incident_id.encode(), value=codec.encode(record))
    assert producer.flush(15) == 0


def ours(channel: str = CHANNEL):
    return lambda r: r.headers.get("webhook-id", "").endswith(f":{channel}")


@pytest.fixture(scope="module")
def private(broker, session_dir: Path) -> Iterator[Private]:
    key = f"e2e:{generate_key()}"
    database = components.test_database(session_dir / f"notify-{RUN}")
    with database as url, vendor_server(webhook_contract(SECRET)) as receiver:
        async def store_channel() -> None:
            pool = await open_pool(url)
            try:
                channel = ChannelConfig(CHANNEL, "webhook", {"url": f"{receiver.base}/hook", "secret": SECRET,
                                                             "timeout_s": 2.0})
                await channel_store.save(pool, Keyring.parse(key), channel, "127.0.0.1")
            finally:
                await pool.close()

        asyncio.run(store_channel())
        env = pipeline_env(
            broker.bootstrap, url, session_dir, ALERTSTREAM_APP_ID=f"as-notify-{RUN}", ALERTSTREAM_SECRET_KEY=key,
            ALERTSTREAM_WORKER_DIR=str(session_dir / f"worker-{RUN}"),
            ALERTSTREAM_NOTIFY_RETRY_DELAYS_S="0.5,1,2", ALERTSTREAM_NOTIFY_MAX_ATTEMPTS="60",
            ALERTSTREAM_NOTIFY_BREAKER_FAILURES="3", ALERTSTREAM_NOTIFY_BREAKER_COOLDOWN_S="1",
            ALERTSTREAM_CHANNEL_REFRESH_S="1", ALERTSTREAM_OUTBOUND_ALLOW="127.0.0.1",
            ALERTSTREAM_LOG_LEVEL="INFO",
        )
        env.pop("ALERTSTREAM_WEBHOOK_URL", None)
        log_path = session_dir / f"notify-worker-{RUN}.log"
        state = Private(broker.bootstrap, url, receiver, env, spawn("worker", env, log_path), log_path)
        try:
            probe = analysis(channels=(CHANNEL,), title=f"probe {RUN}")
            produce(broker.bootstrap, [probe])
            assert receiver.wait_for(lambda r: probe.incident.incident_id in r.headers["webhook-id"], 1, 120), \
                "the private worker never delivered its probe:\n" + log_path.read_text()[-3000:]
            yield state
        finally:
            state.worker.stop()


def test_receiver_down_then_up_every_notification_arrives_exactly_once(private: Private) -> None:
    receiver = private.receiver
    batch = [analysis(channels=(CHANNEL,), title=f"outage {RUN} #{i}", alerts=3) for i in range(8)]
    keys = {f"{a.incident.incident_id}:1:{CHANNEL}" for a in batch}
    with receiver.lock:
        receiver.script.append(Scripted(429, {"retry-after": "1"}, b"slow down"))
        receiver.down = True
    produce(private.bootstrap, batch)
    time.sleep(6)  # attempts fail, back off through the delay topics, the breaker opens and probes
    with receiver.lock:
        failed_attempts = sum(1 for r in receiver.requests if r.headers.get("webhook-id") in keys)
        receiver.down = False
    assert failed_attempts >= 3, "the outage saw no attempts"
    got = receiver.wait_for(lambda r: r.headers["webhook-id"] in keys, len(keys), timeout=90)
    assert {r.headers["webhook-id"] for r in got} == keys
    time.sleep(3)  # anything still in a delay topic would show up now
    counts = Counter(r.headers["webhook-id"] for r in receiver.accepted if r.headers["webhook-id"] in keys)
    assert set(counts.values()) == {1}, f"duplicates: {[k for k, n in counts.items() if n > 1]}"
    with psycopg.connect(private.database_url) as conn:
        rows = conn.execute("SELECT status, attempts FROM deliveries WHERE delivery_key = ANY(%s)",
                            (list(keys),)).fetchall()
    assert {status for status, _ in rows} == {"sent"} and len(rows) == len(keys)
    assert max(attempts for _, attempts in rows) > 1  # they really went through the retry path


def test_replaying_events_and_analyses_from_the_beginning_sends_nothing_new(private: Private) -> None:
    receiver = private.receiver
    with psycopg.connect(private.database_url) as conn:
        sent = [r[0] for r in conn.execute("SELECT delivery_key FROM deliveries WHERE status = 'sent'")]
    assert sent
    # A replay: the same worker configuration under a new consumer group reads every topic from the
    # beginning (incidents.events and incidents.analyses included) against the same ledger.
    with receiver.lock:
        before = Counter(r.headers["webhook-id"] for r in receiver.accepted if r.headers["webhook-id"] in sent)
    private.worker.stop()
    private.env = {**private.env, "ALERTSTREAM_APP_ID": f"as-replay-{RUN}",
                   "ALERTSTREAM_WORKER_DIR": private.env["ALERTSTREAM_WORKER_DIR"] + "-replay"}
    private.worker = spawn("worker", private.env, private.log_path)
    deadline = time.monotonic() + 120
    replayed: set[str] = set()
    while time.monotonic() < deadline and not set(sent) <= replayed:
        with psycopg.connect(private.database_url) as conn:
            replayed = {r[0] for r in conn.execute(
                "SELECT delivery_key FROM delivery_results WHERE status = 'duplicate' AND delivery_key = ANY(%s)",
                (sent,))}
        time.sleep(0.5)
    assert set(sent) <= replayed, "the replay did not reach every delivery:\n" + private.log_path.read_text()[-3000:]
    time.sleep(2)
    # Only this test's deliveries count: the replay also re-checks alerts other tests put on the shared
    # topics, and those are new to this private ledger, so sending them is correct.
    with receiver.lock:
        after = Counter(r.headers["webhook-id"] for r in receiver.accepted if r.headers["webhook-id"] in sent)
    assert after == before, "a replay sent something again"
