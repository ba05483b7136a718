"""examples/consumer.py runs as a downstream team would run it, against the test broker."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer

from alertstream.schemas.codec import Codec
from alertstream.schemas.records import IncidentEvent, Lane
from alertstream.streams.admin import ensure_topics

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).parents[2] / "examples" / "consumer.py"


def test_example_consumer_prints_incident_events(settings) -> None:
    ensure_topics(settings.kafka)
    title = f"Example-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    event = IncidentEvent(event_id="e", trace_id="t", incident_id=f"inc-{title}", version=1, reason="opened",
                          status="open", severity="critical", title=title, correlation_key="k", opened_at=now,
                          updated_at=now, alerts=[], lane=Lane("default", ["analyze", "notify"], []))
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    producer.produce("incidents.events", key=event.incident_id.encode(), value=Codec().encode(event))
    assert producer.flush(10) == 0
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--bootstrap", settings.kafka.bootstrap_servers, "--group",
         f"example-{uuid.uuid4().hex[:8]}", "--idle-exit", "5",
         # The embedded broker holds a group join for the rebalance timeout (max.poll.interval.ms).
         "-X", "max.poll.interval.ms=6000", "-X", "session.timeout.ms=6000"],
        capture_output=True, text=True, timeout=90,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if title in line)
    assert f"inc-{title} v1 opened" in line and "critical" in line
