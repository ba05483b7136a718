"""The worker's consumer asks the broker to answer a fetch within FETCH_MAX_WAIT_MS, not faust's
1.5 s (streams/fetch.py): built here; the latency it buys is measured by `make bench`."""

from __future__ import annotations

import asyncio

from alertstream.config import Settings
from alertstream.streams.fetch import FETCH_MAX_WAIT_MS, PromptTransport
from alertstream.streams.topology import build_app


def test_the_worker_consumer_waits_briefly_for_fetches() -> None:
    async def built_consumer_wait() -> int:
        app = build_app(Settings(run_id="test"))
        assert isinstance(app.transport, PromptTransport)
        kafka_consumer = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        return int(kafka_consumer._fetch_max_wait_ms)

    assert asyncio.run(built_consumer_wait()) == FETCH_MAX_WAIT_MS < 1500
