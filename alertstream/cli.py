"""`alertstream` — the one entry point. Settings are built here, once, and passed down."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from alertstream.config import ConfigError, Settings

log = logging.getLogger("alertstream")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def cmd_edge(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from alertstream.streams.admin import ensure_topics

    ensure_topics(settings.kafka)
    uvicorn.run(
        "alertstream.ingest.app:app_from_env",
        factory=True,
        host=settings.edge.host,
        port=settings.edge.port,
        workers=settings.edge.workers,
        log_level=settings.log_level.lower(),
        access_log=False,  # one line per alert would dwarf everything else at volume
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import faust

    from alertstream.streams.admin import ensure_topics
    from alertstream.streams.topology import build_app

    ensure_topics(settings.kafka)
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()  # returns only at shutdown (SIGINT/SIGTERM)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.migrate import migrate

    if not settings.database_url:
        print("alertstream migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    applied = migrate(settings.database_url)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_topics(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.streams.admin import ensure_topics

    created = ensure_topics(settings.kafka)
    print("created: " + ", ".join(created) if created else "all topics exist")
    return 0


def cmd_trace(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.trace import format_trace, load_trace

    if not settings.database_url:
        print("alertstream trace: DATABASE_URL is not set", file=sys.stderr)
        return 2
    rows = load_trace(settings.database_url, args.trace_id)
    print(format_trace(args.trace_id, rows))
    return 0 if rows else 1


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.dev import run_dev

    return run_dev(settings)


COMMANDS: dict[str, tuple[Callable[[Settings, argparse.Namespace], int], str]] = {
    "dev": (cmd_dev, "run everything on this machine with embedded defaults"),
    "edge": (cmd_edge, "run the HTTP edge (uvicorn)"),
    "worker": (cmd_worker, "run a stream worker (check, analyze, notify, store)"),
    "migrate": (cmd_migrate, "apply database migrations"),
    "topics": (cmd_topics, "create the Kafka topics that do not exist"),
    "trace": (cmd_trace, "print a trace: received -> checked -> analyzed -> notified"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertstream", description="A streaming pipeline for alert webhooks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if name == "trace":
            command.add_argument("trace_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"alertstream: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings.log_level)
    handler, _ = COMMANDS[args.command]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, ValueError, RuntimeError, OSError) as exc:
        print(f"alertstream {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
