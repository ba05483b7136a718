"""`alertstream replay`: a time range of a topic, decoded and filtered, to a JSON-lines file,
copied into another topic, or run through check → analyze again in a shadow app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from alertstream.config import Settings
from alertstream.replay import ReplayError, json_line, parse_matches, record_matches, time_range

if TYPE_CHECKING:
    from alertstream.topic_reader import Message

# (message, decoded record, or the SchemaError of an undecodable one)
Selected = Iterator[tuple["Message", object]]


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _selected(reader, codec, pairs, progress) -> Selected:  # type: ignore[no-untyped-def]
    """(message, decoded record or None) for every record in range that matches."""
    from alertstream.schemas.codec import SchemaError

    for message in reader:
        progress.update(reader.scanned, reader.total, reader.scanned_bytes)
        try:
            record = codec.decode(message.value or b"")
        except SchemaError as exc:
            if not pairs:
                yield message, exc
            continue
        if record_matches(record, pairs):
            yield message, record


def _to_file(selected: Selected, out: BinaryIO) -> int:
    count = 0
    for m, record in selected:
        decoded = not isinstance(record, Exception)
        out.write(json_line(topic=m.topic, partition=m.partition, offset=m.offset, timestamp_ms=m.timestamp_ms,
                            key=m.key, record=record if decoded else None, value=None if decoded else m.value,
                            error=None if decoded else str(record)))
        count += 1
    return count


def _into(settings: Settings, source: str, target: str, selected: Selected) -> int:
    from confluent_kafka import KafkaException, Producer

    from alertstream.topic_reader import consumer, partitions_of

    if target == source:
        raise ReplayError("--into must name another topic than --topic")
    probe = consumer(settings.kafka.bootstrap_servers)
    try:
        target_partitions = len(partitions_of(probe, target))
        source_partitions = len(partitions_of(probe, source))
    finally:
        probe.close()
    producer = Producer(settings.kafka.producer_config())
    count = 0
    for m, _ in selected:
        origin = f"{m.topic}/{m.partition}/{m.offset}".encode()
        headers: list[tuple[str, str | bytes | None]] = [*m.headers, ("replayed-from", origin)]
        # The same partition when the layouts match (keeps co-partitioning); else the key decides.
        same = target_partitions == source_partitions
        while True:
            try:
                if same:
                    producer.produce(target, key=m.key, value=m.value, headers=headers, timestamp=m.timestamp_ms,
                                     partition=m.partition)
                else:
                    producer.produce(target, key=m.key, value=m.value, headers=headers, timestamp=m.timestamp_ms)
                break
            except BufferError:
                producer.poll(0.5)
        producer.poll(0)
        count += 1
    left = producer.flush(30)
    if left:
        raise KafkaException(f"{left} records were not acknowledged by the broker")
    return count


def _alerts_only(selected: Selected, skipped: list[int]) -> Selected:
    """What check -> analyze can take again: NormalizedAlert records (others counted in skipped[0])."""
    from alertstream.schemas.records import NormalizedAlert

    for message, record in selected:
        if isinstance(record, NormalizedAlert):
            yield message, record
        else:
            skipped[0] += 1


def _reprocess(settings: Settings, args: argparse.Namespace, select) -> int:  # type: ignore[no-untyped-def]
    from alertstream.reprocess import reprocess

    def copy_in(target: str) -> tuple[int, int]:
        skipped = [0]
        with select() as selected:
            copied = _into(settings, args.topic, target, _alerts_only(selected, skipped))
        return copied, skipped[0]

    summary = reprocess(settings, copy_in, idle_s=args.idle)
    print("\n".join(summary.lines()))
    return 0 if summary.finished else 1


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.progress import progress_for
    from alertstream.schemas.codec import Codec
    from alertstream.topic_reader import RangeReader

    scanned = [0]

    @contextmanager
    def select() -> Iterator[Selected]:
        reader = RangeReader(settings.kafka.bootstrap_servers, args.topic, _ms(since), _ms(until))
        reader.plan()
        progress = progress_for(f"replay {args.topic}")
        try:
            yield _selected(reader, Codec.from_settings(settings), pairs, progress)
        finally:
            progress.update(reader.scanned, reader.total, reader.scanned_bytes)
            progress.close()
            scanned[0] = reader.scanned

    try:
        since, until = time_range(args.since, args.until, datetime.now(UTC))
        pairs = parse_matches(args.match)
        if args.reprocess:
            return _reprocess(settings, args, select)
        with select() as selected:
            if args.into:
                count, where = _into(settings, args.topic, args.into, selected), args.into
            elif args.to_file == "-":
                count, where = _to_file(selected, sys.stdout.buffer), "stdout"
            else:
                with open(args.to_file, "wb") as out:
                    count, where = _to_file(selected, out), args.to_file
    except ReplayError as exc:
        print(f"alertstream replay: {exc}", file=sys.stderr)
        return 2
    print(f"replay: {count} of {scanned[0]} records scanned from {args.topic} -> {where}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "replay", help="read a time range of a topic: to a file, into a topic, or through check -> analyze again",
        description="Times: ISO 8601 (no zone = UTC), 'now', or a duration ago (15m, 2h, 7d).",
    )
    parser.add_argument("--topic", required=True)
    parser.add_argument("--since", required=True, metavar="TIME")
    parser.add_argument("--until", metavar="TIME", help="exclusive; default: everything up to now")
    parser.add_argument("--match", action="append", default=[], metavar="LABEL=VALUE",
                        help="keep records with this label or field (glob values; repeat to AND)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-file", metavar="OUT.jsonl", help="decoded JSON lines ('-' for stdout)")
    target.add_argument("--into", metavar="TOPIC", help="copy the raw records into another existing topic")
    target.add_argument("--reprocess", action="store_true",
                        help="check -> analyze the selected alerts again in a shadow app: outputs on shadow.* "
                             "topics, never a notification, nothing written to PostgreSQL")
    parser.add_argument("--idle", type=float, default=5.0, metavar="SECONDS",
                        help="--reprocess: stop once every input is consumed and nothing moved this long")
    parser.set_defaults(handler=cmd_replay)
