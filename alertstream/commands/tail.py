"""`alertstream tail TOPIC`: a live, decoded view of a topic, one JSON line per record."""

from __future__ import annotations

import argparse
import sys

from alertstream.config import Settings
from alertstream.replay import ReplayError, json_line, parse_matches, record_matches


def cmd_tail(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.schemas.codec import Codec, SchemaError
    from alertstream.topic_reader import follow

    codec = Codec.from_settings(settings)
    shown = 0
    try:
        pairs = parse_matches(args.match)
        for m in follow(settings.kafka.bootstrap_servers, args.topic, args.from_beginning):
            try:
                record = codec.decode(m.value or b"")
            except SchemaError as exc:
                if pairs:
                    continue
                line = json_line(topic=m.topic, partition=m.partition, offset=m.offset, timestamp_ms=m.timestamp_ms,
                                 key=m.key, value=m.value, error=str(exc))
            else:
                if not record_matches(record, pairs):
                    continue
                line = json_line(topic=m.topic, partition=m.partition, offset=m.offset, timestamp_ms=m.timestamp_ms,
                                 key=m.key, record=record)
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            shown += 1
            if args.count and shown >= args.count:
                return 0
    except ReplayError as exc:
        print(f"alertstream tail: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `alertstream tail … | head`
        return 0
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("tail", help="follow a topic live, decoded (one JSON line per record)")
    parser.add_argument("topic")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest record kept")
    parser.add_argument("--match", action="append", default=[], metavar="LABEL=VALUE",
                        help="show records with this label or field (glob values; repeat to AND)")
    parser.add_argument("--count", type=int, default=0, metavar="N", help="stop after N records")
    parser.set_defaults(handler=cmd_tail)
