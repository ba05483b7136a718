"""`alertstream` — the one entry point. Settings are built here, once, and passed down."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

import psycopg

from alertstream.commands import COMMAND_MODULES
from alertstream.config import ConfigError, Settings


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


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
    _setup_logging(settings.log_level)
    try:
        return int(args.handler(settings, args))
    except KeyboardInterrupt:
        return 130
    except (ConfigError, ValueError, RuntimeError, OSError, psycopg.Error) as exc:
        # Operator mistakes and unreachable components: a message and a non-zero exit, not a traceback.
        print(f"alertstream {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
