"""`replay --reprocess` on the embedded broker: the selected alerts go through check -> analyze
again in a shadow app whose outputs land on shadow.* topics, and production notices nothing."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from confluent_kafka import KafkaError, Producer, TopicPartition

from alertstream.reprocess import Idleness, per_topic, true_ends
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import Analysis, AuditRef, IncidentEvent, NormalizedAlert
from alertstream.schemas.topics import TOPICS
from alertstream.streams.shadow import INPUT_NAMES, TOPIC_NAMES, shadow_app_id, shadow_specs
from alertstream.topic_reader import RangeReader, consumer

pytestmark = pytest.mark.integration


# --- pure -------------------------------------------------------------------------------------

def test_idle_needs_every_input_consumed_and_a_quiet_spell() -> None:
    idle = Idleness(quiet_s=3, changed_at=0.0)
    ends = {("shadow.alerts.normalized", 0): 5, ("shadow.incidents.events", 0): 2, ("shadow.audit.refs", 0): 9}
    inputs = ("shadow.alerts.normalized", "shadow.incidents.events")
    consumed = {("shadow.alerts.normalized", 0): 5, ("shadow.incidents.events", 0): 2}
    assert not idle.observe(ends, {("shadow.alerts.normalized", 0): 4, ("shadow.incidents.events", 0): 2},
                            inputs, now=10.0)  # an input not consumed yet; the ends moved at 10
    assert not idle.observe(ends, consumed, inputs, now=12.0)  # consumed, but quiet only for 2s
    assert idle.observe(ends, consumed, inputs, now=13.0)
    moved = {**ends, ("shadow.audit.refs", 0): 10}  # an output moved: quiet again from now
    assert not idle.observe(moved, consumed, inputs, now=14.0)
    assert idle.observe(moved, consumed, inputs, now=17.5)


def test_per_topic_counts_what_each_topic_gained() -> None:
    start = {("a", 0): 3, ("a", 1): 0, ("b", 0): 7}
    end = {("a", 0): 5, ("a", 1): 4, ("b", 0): 7, ("c", 0): 2}
    assert per_topic(start, end) == {"a": 6, "b": 0, "c": 2}


def test_shadow_topics_are_prefixed_copies_of_the_check_and_analyze_topics() -> None:
    specs = shadow_specs()
    assert {s.name for s in specs} == {f"shadow.{name}" for name in TOPIC_NAMES}
    assert set(INPUT_NAMES) <= set(TOPIC_NAMES)
    assert not {"notifications.results", "silences", "incidents.actions"} & set(TOPIC_NAMES)
    assert all(not s.compacted for s in specs)
    assert shadow_app_id("alertstream", "ab12cd34") == "alertstream-shadow-ab12cd34"


# --- on the broker, beside the session pipeline -----------------------------------------------

def _records_after(bootstrap: str, start: dict[tuple[str, int], int]) -> list[tuple[str, bytes]]:
    """Every record written to these partitions at or after the given offsets."""
    client = consumer(bootstrap)
    client.assign([TopicPartition(t, p, o) for (t, p), o in start.items()])
    values, open_partitions = [], set(start)
    try:
        deadline = time.monotonic() + 30
        while open_partitions and time.monotonic() < deadline:
            msg = client.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard((msg.topic(), msg.partition()))
                continue
            if msg.offset() >= start[(msg.topic(), msg.partition())]:  # a reset to earliest reads from 0
                values.append((msg.topic(), msg.value() or b""))
    finally:
        client.close()
    return values


def _settled(bootstrap: str, topics: tuple[str, ...], quiet_s: float = 3.0, timeout: float = 60.0) -> None:
    """Wait until production has finished with what the test sent (no topic moves for quiet_s)."""
    last, since, deadline = true_ends(bootstrap, topics), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = true_ends(bootstrap, topics)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def _instances(events: list[IncidentEvent]) -> set[str]:
    return {a.labels.get("instance", "") for e in events for a in e.alerts}


def _deliveries(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])


def test_reprocess_reruns_check_and_analyze_in_a_shadow_and_never_notifies(pipeline, broker) -> None:
    run = uuid.uuid4().hex[:8]
    name, other = f"ShadowDisk-{run}", f"ShadowOther-{run}"
    since = datetime.now(UTC) - timedelta(seconds=2)
    codec = Codec()
    # Matching, but three hours old by its record timestamp: outside --since.
    old = NormalizedAlert(fingerprint=f"{run}-old", source="generic", name=name, status="firing", severity="critical",
                          labels={"alertname": name, "instance": "old-1"}, received_at=since - timedelta(hours=3),
                          event_id=uuid.uuid4().hex, trace_id=uuid.uuid4().hex)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("alerts.normalized", key=old.fingerprint.encode(), value=codec.encode(old),
                     timestamp=int((since - timedelta(hours=3)).timestamp() * 1000))
    assert producer.flush(10) == 0
    response = pipeline.post(json={"alerts": [
        {"name": name, "severity": "critical", "labels": {"instance": "db-1"}},
        {"name": name, "severity": "critical", "labels": {"instance": "db-2"}},
        {"name": other, "severity": "critical", "labels": {"instance": "db-3"}},
    ]})
    assert response.status_code == 202, response.text

    def ours(r):  # type: ignore[no-untyped-def]
        return run in r.body.decode(errors="replace")

    assert len(pipeline.receiver.wait_for(ours, 4)) == 4  # production paged for all four
    production = tuple(s.name for s in TOPICS)
    _settled(broker.bootstrap, production)
    before, sent, delivered = true_ends(broker.bootstrap, production), len(pipeline.receiver.matching(ours)), \
        _deliveries(pipeline.database_url)
    started = datetime.now(UTC)

    done = subprocess.run(
        [sys.executable, "-m", "alertstream", "replay", "--topic", "alerts.normalized",
         "--since", since.isoformat(), "--until", "now", "--match", f"name={name}", "--reprocess", "--idle", "3"],
        env=pipeline.env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    summary = done.stdout
    assert "records in:       2" in summary and "shadow.incidents.events" in summary, summary

    start_ms = int(started.timestamp() * 1000)
    events = [codec.decode(m.value) for m in RangeReader(broker.bootstrap, "shadow.incidents.events", start_ms)]
    ours_events = [e for e in events if isinstance(e, IncidentEvent) and any(run in a.name for a in e.alerts)]
    assert _instances(ours_events) == {"db-1", "db-2"}  # not old-1 (too old), not the other alert (no match)
    analyses = [codec.decode(m.value) for m in RangeReader(broker.bootstrap, "shadow.incidents.analyses", start_ms)]
    ours_analyses = [a for a in analyses if isinstance(a, Analysis) and a.incident.incident_id in
                     {e.incident_id for e in ours_events}]
    assert _instances([a.incident for a in ours_analyses]) == {"db-1", "db-2"}
    assert {a.provider for a in ours_analyses} == {"local"}
    refs = [codec.decode(m.value) for m in RangeReader(broker.bootstrap, "shadow.audit.refs", start_ms)]
    assert refs and all(isinstance(r, AuditRef) and r.run_id.startswith("shadow-") for r in refs)
    assert "records in:       2" in summary and f"incident events:  {len(events)}" in summary

    time.sleep(2)  # anything the shadow had sent towards a channel would have arrived by now
    assert len(pipeline.receiver.matching(ours)) == sent
    assert _deliveries(pipeline.database_url) == delivered
    after = true_ends(broker.bootstrap, production)
    for topic in ("alerts.normalized", "alerts.changes"):  # only new alerts write these
        assert {k: v for k, v in after.items() if k[0] == topic} == {k: v for k, v in before.items() if k[0] == topic}
    leaked = [(t, v) for t, v in _records_after(broker.bootstrap, before) if run.encode() in v or b"shadow-" in v]
    assert leaked == []  # production's own timers may write; nothing about this run, nothing from the shadow
