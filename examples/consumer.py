"""A downstream consumer of incidents.events: subscribe, decode, print one line per change.

    pip install alertstream   # or: the schemas/*.avsc files and fastavro
    python examples/consumer.py --bootstrap 127.0.0.1:9092 --group my-team

The codec reads single-object encoding and, with --registry, the Confluent wire format.
The topic contract (keys, fields, versions) is docs/topics.md.
"""

from __future__ import annotations

import argparse
import os
import time

from confluent_kafka import Consumer

from alertstream.schemas.codec import Codec, SchemaError
from alertstream.schemas.registry import SchemaRegistry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--group", default="incidents-example")
    parser.add_argument("--registry", default=os.environ.get("SCHEMA_REGISTRY_URL", ""))
    parser.add_argument("--idle-exit", type=float, default=0, metavar="S", help="stop after S quiet seconds")
    parser.add_argument("-X", action="append", default=[], metavar="KEY=VALUE", help="librdkafka consumer setting")
    args = parser.parse_args()

    codec = Codec(registry=SchemaRegistry(args.registry) if args.registry else None)
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "auto.offset.reset": "earliest", **dict(x.split("=", 1) for x in args.X)})
    last = float("inf")  # the quiet time counts from the partition assignment

    def assigned(_consumer: Consumer, _partitions: list) -> None:
        nonlocal last
        last = time.monotonic()

    consumer.subscribe(["incidents.events"], on_assign=assigned)
    try:
        while not args.idle_exit or time.monotonic() - last < args.idle_exit:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            last = time.monotonic()
            try:
                event = codec.decode(msg.value())
            except SchemaError as exc:  # a record this consumer's schemas cannot read: skip, say so
                print(f"skipped offset {msg.offset()}: {exc}")
                continue
            print(f"{event.updated_at:%Y-%m-%dT%H:%M:%S} {event.incident_id} v{event.version} "
                  f"{event.reason:<16} {event.status:<12} {event.severity:<8} {event.title}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
