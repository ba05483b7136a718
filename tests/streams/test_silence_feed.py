"""The silence feed: every worker reads the whole compacted `silences` topic, says when it has
caught up, then follows it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from alertstream.schemas.codec import Codec
from alertstream.streams.admin import ensure_topics
from alertstream.streams.check_runtime import SILENCES_TOPIC, CheckRuntime
from alertstream.streams.silences import new_silence, parse_matcher

pytestmark = pytest.mark.integration


def test_the_feed_catches_up_then_follows_without_reconnecting(settings, caplog) -> None:
    codec, now = Codec(), datetime.now(UTC)
    ensure_topics(settings.kafka)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})

    def publish(comment: str) -> str:
        silence = new_silence(matchers=[parse_matcher('alertname="FeedTest"')], starts_at=now,
                              ends_at=now + timedelta(hours=1), author="test", comment=comment, weekly=[], now=now)
        producer.produce(SILENCES_TOPIC, key=silence.silence_id.encode(), value=codec.encode(silence))
        assert producer.flush(10) == 0
        return silence.silence_id

    before = publish("there before the worker")
    runtime = CheckRuntime(settings, lambda: ())

    async def run() -> None:
        feed = asyncio.create_task(runtime.feed_silences(codec))
        try:
            await asyncio.wait_for(runtime._silences_ready.wait(), 15)
            assert before in runtime.silences.silences
            after = publish("added while it runs")
            for _ in range(50):
                if after in runtime.silences.silences:
                    break
                await asyncio.sleep(0.2)
            assert after in runtime.silences.silences
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)

    with caplog.at_level(logging.WARNING):
        asyncio.run(run())
    assert "silence feed failed" not in caplog.text
