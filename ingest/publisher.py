"""Durable publishing for the edge: a request is accepted only once the broker
has acknowledged every one of its records (idempotent producer, acks=all).

One confluent-kafka producer per process. Its delivery callbacks run on a
poller thread and resolve asyncio futures on the event loop, so the edge waits
without blocking and without a database on the request path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from alertstream import broker
from alertstream.config import KafkaSettings

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not acknowledge; the caller must not report the records accepted."""


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes
    value: bytes


class Publisher:
    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._producer = Producer(settings.producer_config())
        # Requests whose last record the broker answered, waiting to be handed to their event loop:
        # one wake-up per poll for all of them, not one per request (each costs the loop a turn).
        self._answered: collections.deque[tuple[asyncio.Future[None], KafkaError | None]] = collections.deque()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-poller", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            self._hand_over()

    def _hand_over(self) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], KafkaError | None]]] = {}
        while self._answered:
            answer = self._answered.popleft()
            by_loop.setdefault(answer[0].get_loop(), []).append(answer)
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_settle_all, answers)

    async def publish(self, records: Sequence[OutRecord]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # One future per request, answered by its last delivery (callbacks run one at a time, on the
        # poller thread or in close()'s flush, so the count has a single writer at a time).
        state: list[Any] = [len(records), None]  # outstanding, first error

        def on_delivery(err: KafkaError | None, _msg: object) -> None:
            if err is not None and state[1] is None:
                state[1] = err
            state[0] -= 1
            if state[0] == 0:
                self._answered.append((done, state[1]))

        try:
            for record in records:
                self._producer.produce(record.topic, key=record.key, value=record.value, on_delivery=on_delivery)
        except BufferError as exc:
            raise PublishError("producer queue full") from exc
        except KafkaException as exc:
            raise PublishError(f"produce failed: {exc.args[0].name() if exc.args else exc}") from exc
        # librdkafka fails each record after message.timeout.ms; the margin only guards the poller.
        deadline = loop.call_later(self._settings.publish_timeout_ms / 1000 + 2, _expire, done)
        try:
            await done
        finally:
            deadline.cancel()

    def ping(self, timeout: float = 2.0) -> bool:
        """Blocking metadata request: is a broker reachable? (Run it in a thread.)"""
        return broker.answers(self._producer, timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._producer.flush(timeout)
        self._stop.set()
        self._poller.join(timeout=1)
        self._hand_over()  # answers the flush delivered after the poller's last look


def _settle_all(answers: list[tuple[asyncio.Future[None], KafkaError | None]]) -> None:
    for fut, err in answers:
        if fut.done():
            continue
        if err is None:
            fut.set_result(None)
        else:
            fut.set_exception(PublishError(f"broker rejected record: {err.name()}"))


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(PublishError("broker did not acknowledge in time"))
