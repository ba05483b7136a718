"""The stages' outputs go through one confluent-kafka producer per worker process.

faust's own producer (aiokafka, pure Python) costs tens of microseconds per record and
waits a broker round trip whenever a partition's batch is full; librdkafka takes a
record in a few microseconds and batches in C. Every stage output (events, refs, dead
letters, retries) comes here, and so do the table changes batch agents make
(streams/changelog.py); faust's producer is left with the writes outside a batch.

Keys are partitioned with murmur2, as aiokafka and the Java client do, so a key lands
on the partition it always did whichever client wrote it (the incident table of a
correlation key lives on one partition).

A `Pending` counts one batch's records in flight: librdkafka reports each delivery
on the poller thread, and the batch's waiter is woken once, when the last one is in.

linger.ms (ALERTSTREAM_WORKER_LINGER_MS) fills produce requests under load; a small batch
that waits for its outputs is "kicked" instead: a thread runs a brief flush(), during
which librdkafka sends what is queued without lingering.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from alertstream import broker
from alertstream.config import KafkaSettings

# A batch waiting for at most this many records has them sent at once (Pending.wait): at 100
# alerts/s end to end p50 ~500 -> ~130 ms; at 1,000/s, where batches are still this small, it
# cost ~3 % more worker and broker CPU per alert (bench/profile.md). Larger batches linger.
KICK_BELOW = 50
# How long a kick holds librdkafka's flush (linger.ms treated as elapsed): enough to wake its
# broker threads; the acks come through the poller either way.
KICK_S = 0.005


class OutputError(Exception):
    """The broker did not acknowledge an output: the batch's inputs must not be marked done."""


class Pending:
    """Records of one batch not yet acknowledged. Deliveries arrive on the poller thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._outstanding = 0
        self._error: KafkaError | None = None
        self._done: asyncio.Future[None] | None = None
        self._kick: Callable[[], None] | None = None

    def add(self, kick: Callable[[], None] | None = None) -> None:
        """One more record in flight; `kick` sends the producer's queue without lingering."""
        with self._lock:
            self._outstanding += 1
        if kick is not None:
            self._kick = kick

    def delivered(self, err: KafkaError | None, _msg: object) -> None:
        with self._lock:
            self._outstanding -= 1
            if err is not None and self._error is None:
                self._error = err
            wake = self._done if self._outstanding == 0 else None
        if wake is not None:
            self._loop.call_soon_threadsafe(_wake, wake)

    async def wait(self) -> None:
        """Until every record added so far is acknowledged; raises OutputError if one was refused."""
        with self._lock:
            if self._outstanding > 0:
                self._done = self._loop.create_future()
            done = self._done
            small = 0 < self._outstanding <= KICK_BELOW
        if small and self._kick is not None:
            self._kick()  # a full batch fills requests by itself; a small one would only wait out linger.ms
        if done is not None:
            await done
            self._done = None
        if self._error is not None:
            raise OutputError(f"broker refused an output: {self._error.name()}")


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class OutputProducer:
    def __init__(self, settings: KafkaSettings, linger_ms: int) -> None:
        config: dict[str, Any] = {
            **settings.producer_config(),
            "partitioner": "murmur2_random",
            # Outputs are awaited per batch, not per request: fill requests instead of sending each record.
            "linger.ms": linger_ms,
            # A worker is not the edge: keep retrying a slow broker well past the edge's answer deadline.
            "message.timeout.ms": max(settings.publish_timeout_ms, 30_000),
        }
        self._producer = Producer(config)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="stage-output-poller", daemon=True)
        self._poller.start()
        self._kicked = threading.Event()
        self._kicker = threading.Thread(target=self._kick_loop, name="stage-output-kicker", daemon=True)
        self._kicker.start()

    def connect(self, timeout: float = 10.0) -> bool:
        """Talk to the broker now (blocking). A fresh idempotent librdkafka producer's first delivery
        otherwise waits ~500 ms for its producer id: at a light load, the first batch after every
        worker start (measured: the first 0.3 s of alerts at 100/s took 240-535 ms longer)."""
        return broker.answers(self._producer, timeout)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def kick(self) -> None:
        """Send what is queued now instead of when linger.ms runs out: a small batch that waits for
        its outputs gains nothing from lingering, and at a light load every stage hop paid it."""
        self._kicked.set()

    def _kick_loop(self) -> None:
        while not self._stop.is_set():
            if self._kicked.wait(0.2):
                self._kicked.clear()
                self._producer.flush(KICK_S)

    def produce(self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None,
                pending: Pending, partition: int | None = None) -> None:
        """Queue one record; partition=None picks it by key (murmur2)."""
        pending.add(self.kick)
        extra: dict[str, Any] = {"headers": dict(headers)} if headers else {}
        if partition is not None:
            extra["partition"] = partition
        try:
            self._producer.produce(topic, key=key, value=value, on_delivery=pending.delivered, **extra)
        except BufferError:
            # librdkafka's queue is full: let deliveries drain it, then try once more.
            self._producer.poll(1.0)
            try:
                self._producer.produce(topic, key=key, value=value, on_delivery=pending.delivered, **extra)
            except (BufferError, KafkaException) as exc:
                pending.delivered(KafkaError(KafkaError._QUEUE_FULL), None)
                raise OutputError(f"could not queue an output for {topic}: {exc}") from exc
        except KafkaException as exc:
            pending.delivered(exc.args[0] if exc.args else KafkaError(KafkaError._FAIL), None)
            raise OutputError(f"could not queue an output for {topic}: {exc}") from exc

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
        self._stop.set()
        self._poller.join(timeout=1)
        self._kicker.join(timeout=1)
