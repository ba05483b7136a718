"""Replay and tail on the embedded broker (whose time index answers offset 0 to every
query: the results are right only because each record's own timestamp is checked)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from alertstream.replay import (
    ReplayError,
    parse_matches,
    parse_time,
    record_matches,
    seek_was_wrong,
    start_offset,
    time_range,
)
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert
from alertstream.topic_reader import RangeReader
from tests.components import pipeline_env

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def alert(name: str, instance: str, **kw) -> NormalizedAlert:
    return NormalizedAlert(fingerprint=f"{name}-{instance}", source="generic", name=name, status="firing",
                           severity="critical", labels={"alertname": name, "instance": instance}, received_at=NOW,
                           **kw)


# --- pure -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-29T10:00:00Z", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ("2026-11-29T11:00:00+01:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ("2026-11-29 10:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ("now", NOW), ("15m", NOW - timedelta(minutes=15)), ("2h", NOW - timedelta(hours=2)),
    ("7d", NOW - timedelta(days=7)), ("1w", NOW - timedelta(weeks=1)), ("90s", NOW - timedelta(seconds=90)),
])
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("bad", ["yesterday", "10:00", "2026-13-01", "-5m", ""])
def test_bad_times_are_replay_errors(bad: str) -> None:
    with pytest.raises(ReplayError, match="bad time"):
        parse_time(bad, NOW)


def test_until_must_follow_since() -> None:
    with pytest.raises(ReplayError, match="must be after"):
        time_range("1h", "2h", NOW)


def test_matches_fields_labels_and_globs() -> None:
    a = alert("DiskFull", "db-1")
    assert record_matches(a, [])
    assert record_matches(a, parse_matches(["instance=db-*", "severity=critical"]))
    assert record_matches(a, parse_matches(["name=DiskFull"]))
    assert not record_matches(a, parse_matches(["instance=db-1", "severity=info"]))
    assert not record_matches(a, parse_matches(["team=ops"]))
    with pytest.raises(ReplayError):
        parse_matches(["instance"])


def test_seek_is_only_a_hint() -> None:
    assert start_offset(0, 10, 4) == 4
    assert start_offset(3, 10, 0) == 3  # below the low watermark: from the start
    assert start_offset(0, 10, -1) == 10  # "nothing after": still checked with the record before
    assert start_offset(0, 10, 99) == 10
    assert seek_was_wrong(probe_timestamp_ms=5000, since_ms=4000)
    assert not seek_was_wrong(probe_timestamp_ms=3000, since_ms=4000)


# --- on the broker ----------------------------------------------------------------------------

@pytest.fixture
def topic(broker) -> str:
    """A fresh topic holding alerts 3h, 2h, 1h ago (by record timestamp) over two partitions."""
    name = f"replay.test.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        future.result()
    producer, codec = Producer({"bootstrap.servers": broker.bootstrap}), Codec()
    now = datetime.now(UTC)
    for i, hours in enumerate((3, 2, 1, 3, 2, 1)):
        record = alert(f"Replay{hours}h", f"db-{i}")
        producer.produce(name, key=record.fingerprint.encode(), value=codec.encode(record), partition=i % 2,
                         timestamp=int((now - timedelta(hours=hours)).timestamp() * 1000))
    producer.produce(name, key=b"junk", value=b"not avro", partition=0,
                     timestamp=int((now - timedelta(hours=2)).timestamp() * 1000))
    assert producer.flush(10) == 0
    return name


def test_range_reader_filters_by_each_records_own_timestamp(broker, topic: str) -> None:
    now = datetime.now(UTC)
    since = int((now - timedelta(hours=2, minutes=30)).timestamp() * 1000)
    until = int((now - timedelta(hours=1, minutes=30)).timestamp() * 1000)
    reader = RangeReader(broker.bootstrap, topic, since, until)
    got = list(reader)
    assert reader.scanned == 7  # the broker's seek started at 0: everything was read, then filtered
    assert sorted(m.key for m in got) == [b"Replay2h-db-1", b"Replay2h-db-4", b"junk"]


def _cli(settings_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alertstream", *args], env=settings_env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def env(broker, database_url: str, tmp_path: Path) -> dict[str, str]:
    return pipeline_env(broker.bootstrap, database_url, tmp_path)


def test_replay_to_file_writes_decoded_json_lines(env, topic: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = _cli(env, "replay", "--topic", topic, "--since", "150m", "--until", "30m", "--match",
                "alertname=Replay1h", "--to-file", str(out))
    assert done.returncode == 0, done.stderr
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(doc["record"]["labels"]["instance"] for doc in lines) == ["db-2", "db-5"]
    assert {doc["schema"] for doc in lines} == {"io.alertstream.NormalizedAlert"}
    assert {"topic", "partition", "offset", "timestamp", "key"} <= set(lines[0])
    assert "records" in done.stderr and "Traceback" not in done.stderr  # plain progress lines, not a bar


def test_replay_into_another_topic_copies_the_raw_records(env, broker, topic: str, tmp_path: Path) -> None:
    target = f"{topic}.copy"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(target, 2, 1)]).values():
        future.result()
    done = _cli(env, "replay", "--topic", topic, "--since", "150m", "--into", target)
    assert done.returncode == 0, done.stderr
    copied = list(RangeReader(broker.bootstrap, target, None))
    assert sorted(m.key for m in copied) == [b"Replay1h-db-2", b"Replay1h-db-5", b"Replay2h-db-1",
                                             b"Replay2h-db-4", b"junk"]
    assert all(dict(m.headers)["replayed-from"].startswith(topic.encode()) for m in copied)
    # Record timestamps are kept, so a replay of the copy selects by the same times.
    assert len(list(RangeReader(broker.bootstrap, target, int((datetime.now(UTC) - timedelta(minutes=90))
                                                                    .timestamp() * 1000)))) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--topic", "no.such.topic", "--since", "1h", "--to-file", "-"], "unknown topic 'no.such.topic'"),
    (["--topic", "alerts.normalized", "--since", "last tuesday", "--to-file", "-"], "bad time"),
    (["--topic", "alerts.normalized", "--since", "1h", "--until", "2h", "--to-file", "-"], "must be after"),
    (["--topic", "alerts.normalized", "--since", "1h", "--match", "oops", "--to-file", "-"], "bad --match"),
    (["--topic", "alerts.normalized", "--since", "1h", "--into", "no.such.topic"], "unknown topic"),
    (["--topic", "no.such.topic", "--since", "1h", "--reprocess"], "unknown topic 'no.such.topic'"),
])
def test_replay_mistakes_are_clear_errors(env, args: list[str], message: str) -> None:
    done = _cli(env, "replay", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_tail_shows_decoded_records(env, topic: str) -> None:
    done = _cli(env, "tail", topic, "--from-beginning", "--match", "alertname=Replay3h", "--count", "2")
    assert done.returncode == 0, done.stderr
    docs = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert sorted(d["record"]["labels"]["instance"] for d in docs) == ["db-0", "db-3"]
    unknown = _cli(env, "tail", "no.such.topic")
    assert unknown.returncode == 2 and "unknown topic" in unknown.stderr
