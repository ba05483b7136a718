"""The check stage's reliability with real workers on their own broker:

- a worker killed with SIGKILL mid-stream and restarted;
- two workers in one group, a second joining and the first leaving mid-stream.

Either way every incident event that should exist is in incidents.events exactly once
after dedup by (incident id, version), duplicates are identical, and the incident state
(the table's changelog) equals a replay from scratch of what the stage took in.

Two faults made the incident state diverge after a rebalance, both fixed: the incident agent read
alerts and commands from two topics, so a redelivery could interleave them differently (commands now
travel on alerts.changes), and the embedded broker reports a changelog's end a batch short, so a
recovering worker lost the tail of its table (streams/worker_app.py reads to the fetched end).
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from alertstream.config import KafkaSettings
from alertstream.embedded import EmbeddedBroker
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import IncidentEvent, NormalizedAlert
from alertstream.streams.admin import ensure_topics
from alertstream.streams.announce import Routing, take_input
from alertstream.streams.gaps import is_mark
from alertstream.streams.incident_state import IncidentState
from alertstream.streams.incidents import IncidentPolicy, is_material
from alertstream.streams.lanes import default_lanes
from alertstream.streams.silences import SilenceBook

from ..components import Process, pipeline_env, spawn

pytestmark = [
    pytest.mark.integration,
    # Each takes one to two minutes on 2 cores; opt in (.ci/run does).
    pytest.mark.skipif(not os.environ.get("ALERTSTREAM_RELIABILITY_TESTS"),
                       reason="set ALERTSTREAM_RELIABILITY_TESTS=1 to run the crash and rebalance tests"),
]

CODEC = Codec()
SEVERITIES = ("critical", "error", "warning", "info")


def alert_stream(count: int, seed: int) -> list[NormalizedAlert]:
    """~80 % repeats over 300 fingerprints in 60 correlation keys, with severity and status changes.
    Times start now, so no reopen window runs out while the test runs (that would add timer events)."""
    rng = random.Random(seed)
    t0 = datetime.now(UTC).replace(microsecond=0)
    last: dict[str, tuple[str, str]] = {}
    out = []
    for i in range(count):
        fp = f"fp-{rng.randrange(300)}"
        n = int(fp[3:])
        status, severity = last.get(fp, ("firing", rng.choice(SEVERITIES)))
        if fp not in last or rng.random() < 0.2:
            status = rng.choices(("firing", "resolved", "acknowledged"), (6, 3, 1))[0]
            severity = rng.choice(SEVERITIES) if rng.random() < 0.5 else severity
        last[fp] = (status, severity)
        out.append(NormalizedAlert(
            fingerprint=fp, source="generic", name=f"Alert{n % 20}", status=status, severity=severity,
            labels={"alertname": f"Alert{n % 20}", "instance": f"host-{n % 3}", "shard": str(n)},
            event_id=f"e{seed}-{i}", trace_id=f"t{seed}-{i // 10}", received_at=t0 + timedelta(milliseconds=20 * i),
        ))
    return out


def produce(bootstrap: str, alerts: list[NormalizedAlert]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for a in alerts:
        producer.produce("alerts.normalized", key=a.fingerprint.encode(), value=CODEC.encode(a))
    assert producer.flush(30) == 0


def read_topic(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every record of a topic: (partition, offset, key, value), in offset order per partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or not meta.partitions:
            return []
        out = []
        for p in sorted(meta.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            while True:
                msg = consumer.poll(5)
                if msg is None:
                    break
                if msg.error():
                    continue
                out.append((p, msg.offset(), msg.key(), msg.value()))
                # ListOffsets may stop a batch short on the embedded broker; the fetch knows the real end.
                high = max(high, consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)[1])
                if msg.offset() >= high - 1:
                    break
        return out
    finally:
        consumer.close()


def expected_changes(alerts: list[NormalizedAlert]) -> dict[str, list[str]]:
    """Dedup from scratch: per fingerprint, the event ids of its material changes."""
    seen: dict[str, dict] = {}
    out: dict[str, list[str]] = defaultdict(list)
    for a in alerts:
        if is_material(seen.get(a.fingerprint), a):
            out[a.fingerprint].append(a.event_id)
        seen[a.fingerprint] = {"status": a.status, "severity": a.severity}
    return out


def replay(changes: list[tuple[int, int, bytes | None, bytes | None]]):
    """The incident rules from scratch over alerts.changes as recorded (in partition order): alert
    changes and the timer's ticks, each with the clock it carries."""
    policy, routing = IncidentPolicy(), Routing(default_lanes(()), SilenceBook())
    states: dict[str, IncidentState | None] = {}
    events: dict[tuple[str, int], IncidentEvent] = {}
    for _, _, key, value in changes:
        k = key.decode()
        outcome = take_input(states.get(k), CODEC.decode(value), routing, policy)
        states[k] = outcome.state
        for e in outcome.events:
            events[(e.incident_id, e.version)] = e
    return states, events


def history(key: str, changes: list[tuple[int, int, bytes | None, bytes | None]],
            emitted: dict[tuple[str, int], list[IncidentEvent]], expected: dict[tuple[str, int], IncidentEvent]) -> str:
    """One correlation key's inputs as recorded and its events, emitted and replayed: what a failure
    that happens one run in many needs for a diagnosis."""
    lines = [f"\nhistory of {key!r}:"]
    for partition, offset, raw_key, value in changes:
        if raw_key is not None and raw_key.decode() == key and value is not None:
            record = CODEC.decode(value)
            what = (f"{record.fingerprint} {record.status}/{record.severity} {record.event_id} at {record.received_at}"
                    if isinstance(record, NormalizedAlert) else f"{record.kind} at {record.issued_at}")
            lines.append(f"  in  [{partition}]@{offset}: {what}")
    for label, events in (("out", [e for copies in emitted.values() for e in copies[:1]]),
                          ("replay", list(expected.values()))):
        for e in sorted((e for e in events if e.correlation_key == key), key=lambda e: (e.incident_id, e.version)):
            members = sorted((a.fingerprint, a.status) for a in e.alerts)
            lines.append(f"  {label} {e.incident_id[:8]} v{e.version} {e.reason} {e.status} {e.updated_at} {members}")
    return "\n".join(lines)


def comparable_event(e: IncidentEvent) -> tuple:
    # The lane's channels depend on the worker's configured channels; everything else must match.
    return (e.event_id, e.trace_id, e.reason, e.status, e.severity, e.title, e.correlation_key, e.opened_at,
            e.updated_at, tuple(sorted((a.fingerprint, a.status, a.severity) for a in e.alerts)), e.lane.name,
            tuple(e.lane.stages))


def comparable_state(raw: dict | None) -> dict | None:
    if not raw or "incident_id" not in raw:
        return None
    data = IncidentState.from_json(raw).to_json()
    for volatile in ("partition", "offsets"):
        data.pop(volatile)
    return data


class StillMoving(Exception):
    """alerts.changes grew while `verify` read the topics (the stage's timer sends ticks, e.g. when a
    held notification falls due), so they were read at different points of the stage's work."""


def settle(bootstrap: str, alerts: list[NormalizedAlert], app_id: str, timeout: float = 180) -> dict[str, int]:
    """Wait until what the stage produced passes `verify`, then check once more a little later; a
    check that overlapped the stage's own work is read again, a settled one that fails is a failure."""
    deadline = time.monotonic() + timeout
    settled = False
    while True:
        try:
            counts = verify(bootstrap, alerts, app_id)
            if settled:
                return counts
            settled = True
            time.sleep(3)
            continue
        except StillMoving as exc:
            if time.monotonic() > deadline:
                raise AssertionError("the check stage was still taking input at the deadline") from exc
        except AssertionError:
            if settled or time.monotonic() > deadline:
                raise
        time.sleep(2)


def verify(bootstrap: str, alerts: list[NormalizedAlert], app_id: str) -> dict[str, int]:
    changes = read_topic(bootstrap, "alerts.changes")
    try:
        return _verify(bootstrap, alerts, app_id, changes)
    except AssertionError:
        if len(read_topic(bootstrap, "alerts.changes")) != len(changes):
            raise StillMoving from None
        raise


def _verify(bootstrap: str, alerts: list[NormalizedAlert], app_id: str,
            changes: list[tuple[int, int, bytes | None, bytes | None]]) -> dict[str, int]:
    # Dedup: per fingerprint, the changes it let through are the material ones, in order (a redelivered
    # change may repeat right after itself; nothing is lost, nothing reordered).
    by_fp: dict[str, list[str]] = defaultdict(list)
    for *_, value in changes:
        a = CODEC.decode(value)
        if not isinstance(a, NormalizedAlert):
            continue  # a timer tick
        if not by_fp[a.fingerprint] or by_fp[a.fingerprint][-1] != a.event_id:
            by_fp[a.fingerprint].append(a.event_id)
    assert dict(by_fp) == expected_changes(alerts)

    states, expected = replay(changes)
    emitted: dict[tuple[str, int], list[IncidentEvent]] = defaultdict(list)
    for *_, value in read_topic(bootstrap, "incidents.events"):
        e = CODEC.decode(value)
        emitted[(e.incident_id, e.version)].append(e)
    extra = sorted(set(emitted) - set(expected))[:5]
    missing = sorted(set(expected) - set(emitted))[:5]
    assert not extra and not missing, (
        "events missing or extra after dedup by (incident id, version): extra "
        + str([(i, emitted[i][0].reason, emitted[i][0].correlation_key, emitted[i][0].updated_at.isoformat())
               for i in extra])
        + " missing " + str([(i, expected[i].reason) for i in missing])
        + history((emitted[extra[0]][0] if extra else expected[missing[0]]).correlation_key, changes, emitted, expected)
    )
    for ident, copies in emitted.items():
        assert {comparable_event(c) for c in copies} == {comparable_event(expected[ident])}, ident

    table: dict[str, dict | None] = {}
    for _, _, key, value in read_topic(bootstrap, f"{app_id}-incidents-changelog"):
        if not is_mark(orjson.loads(key)):  # the stage's progress marks share its table (streams/gaps.py)
            table[orjson.loads(key)] = orjson.loads(value) if value else None
    replayed = {k: (s.to_json() if s else None) for k, s in states.items()}
    for k in replayed:
        if replayed[k] is not None:
            replayed[k].pop("partition"), replayed[k].pop("offsets")
    assert {k: comparable_state(v) for k, v in table.items()} == replayed
    duplicates = sum(len(c) - 1 for c in emitted.values())
    return {"changes": len(changes), "events": len(emitted), "duplicates": duplicates}


def create_topics(bootstrap: str) -> None:
    """Before anything produces: an auto-created topic would get the broker's partition count."""
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap, partitions=3))


def _env(broker: EmbeddedBroker, database_url: str, tmp: Path, app_id: str) -> dict[str, str]:
    return pipeline_env(broker.bootstrap, database_url, tmp, ALERTSTREAM_APP_ID=app_id,
                        ALERTSTREAM_WORKER_DIR=str(tmp / f"w-{uuid.uuid4().hex[:6]}"))


def _wait_for_output(bootstrap: str, minimum: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(read_topic(bootstrap, "incidents.events")) >= minimum:
            return
        time.sleep(0.5)
    raise AssertionError("the worker produced no incident events")


def test_a_worker_killed_mid_stream_loses_and_invents_nothing(own_broker, database_url, tmp_path) -> None:
    app_id = "as-crash"
    alerts = alert_stream(3000, seed=7)
    create_topics(own_broker.bootstrap)
    worker = spawn("worker", _env(own_broker, database_url, tmp_path, app_id), tmp_path / "worker-1.log")
    try:
        produce(own_broker.bootstrap, alerts[:300])
        _wait_for_output(own_broker.bootstrap, 20)
        for start in range(300, 1500, 100):
            produce(own_broker.bootstrap, alerts[start:start + 100])
            time.sleep(0.1)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)
        produce(own_broker.bootstrap, alerts[1500:])
        worker = spawn("worker", _env(own_broker, database_url, tmp_path, app_id), tmp_path / "worker-2.log")
        counts = settle(own_broker.bootstrap, alerts, app_id)
    finally:
        worker.stop()
    assert counts["events"] > 100


def test_two_workers_split_partitions_and_a_rebalance_loses_nothing(own_broker, database_url, tmp_path) -> None:
    app_id = "as-rebalance"
    alerts = alert_stream(3000, seed=11)
    create_topics(own_broker.bootstrap)
    first = spawn("worker", _env(own_broker, database_url, tmp_path, app_id), tmp_path / "worker-a.log")
    second: Process | None = None
    try:
        produce(own_broker.bootstrap, alerts[:300])
        _wait_for_output(own_broker.bootstrap, 20)
        second = spawn("worker", _env(own_broker, database_url, tmp_path, app_id), tmp_path / "worker-b.log")
        for start in range(300, 2000, 100):  # the group rebalances while this flows
            produce(own_broker.bootstrap, alerts[start:start + 100])
            time.sleep(0.2)
        first.stop()  # a graceful leave: another rebalance, mid-stream
        produce(own_broker.bootstrap, alerts[2000:])
        counts = settle(own_broker.bootstrap, alerts, app_id)
        assert second.proc.poll() is None, second.log()
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert counts["events"] > 100
