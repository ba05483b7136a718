"""`alertstream` — the one entry point. Settings are built here, once, and passed down."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import psycopg
from confluent_kafka import KafkaException

from alertstream.commands import COMMAND_MODULES
from alertstream.config import ConfigError, Settings
from alertstream.logs import setup_logging


def _setup_logging(level: str, fmt: str = "text", run_id: str = "-") -> None:
    """Redacted (RedactingFilter on every record), with trace_id and run_id; see alertstream/logs.py."""
    setup_logging(level, fmt, run_id)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertstream", description="A streaming pipeline for alert webhooks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"alertstream: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings.log_level, settings.log_format, settings.run_id)
    try:
        return int(args.handler(settings, args))
    except KeyboardInterrupt:
        return 130
    except (ConfigError, ValueError, RuntimeError, OSError, psycopg.Error) as exc:
        # Operator mistakes and unreachable components: a message and a non-zero exit, not a traceback.
        print(f"alertstream {args.command}: {exc}", file=sys.stderr)
        return 1
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        reason = error.str() if hasattr(error, "str") else str(error)
        print(f"alertstream {args.command}: Kafka at {settings.kafka.bootstrap_servers}: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
