"""The spine's commands: dev, edge, worker, migrate, topics, trace."""

from __future__ import annotations

import argparse
import sys

from alertstream.config import Settings
from alertstream.heap import freeze_startup_heap


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
    import mode.loop

    # uvloop, as the edge runs: the worker is one busy event loop (faust's per-record tasks and
    # callbacks, every producer delivery woken by call_soon_threadsafe). Before build_app, which
    # makes the loop faust keeps.
    mode.loop.use("uvloop")

    from alertstream.schemas.topics import TOPICS
    from alertstream.storage.sealed import require_key_if_sealed
    from alertstream.streams.admin import ensure_topics
    from alertstream.streams.shadow import shadow_specs
    from alertstream.streams.topology import build_app

    shadow = bool(getattr(args, "shadow", False))
    if not shadow:
        require_key_if_sealed(settings)
    ensure_topics(settings.kafka, shadow_specs() if shadow else TOPICS)
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings, shadow=shadow, store=not getattr(args, "no_store", False))
    if settings.worker.metrics_port and not shadow:
        _serve_metrics(app.stage_context.metrics.registry,  # type: ignore[attr-defined]
                       settings.edge.host, settings.worker.metrics_port)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    # faust's terminal spinner turns the root logger to DEBUG so that it can spin on every record:
    # every aiokafka debug line would then be built and filtered (about a tenth of the worker's CPU).
    worker.spinner = None
    freeze_startup_heap()
    worker.execute_from_commandline()  # returns only at shutdown (SIGINT/SIGTERM)
    return 0


def _serve_metrics(registry: object, host: str, port: int) -> None:
    import logging

    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=host, registry=registry)  # type: ignore[arg-type]
    except OSError as exc:
        # Another worker on this host has the port: run on, without this process's /metrics.
        logging.getLogger("alertstream.worker").warning("metrics port %s unavailable: %s", port, exc)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.migrate import migrate

    if not settings.database_url:
        print("alertstream migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    applied = migrate(settings.database_url)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_topics(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.streams.admin import align_topics, ensure_topics

    created = ensure_topics(settings.kafka)
    print("created: " + ", ".join(created) if created else "all topics exist")
    report = align_topics(settings.kafka)
    for change in report.changed:
        print(f"changed: {change.topic} {change.name} {change.old if change.old is not None else '(unset)'} "
              f"-> {change.new}")
    for topic, why in report.refused:
        # Not fatal: the topic works, with the retention it has (dev and deploy scripts go on).
        print(f"alertstream topics: {topic} keeps its configuration: {why}", file=sys.stderr)
    if not report.changed and not report.refused:
        print("every topic has its configured retention and cleanup policy")
    return 0


def cmd_trace(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.storage.trace import format_trace, load_trace

    if not settings.database_url:
        print("alertstream trace: DATABASE_URL is not set", file=sys.stderr)
        return 2
    rows = load_trace(settings.database_url, args.trace_id)
    print(format_trace(args.trace_id, rows))
    return 0 if rows else 1


def cmd_store(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from alertstream.schemas.topics import TOPICS
    from alertstream.streams.admin import ensure_topics
    from alertstream.streams.storage_consumer import run_alone

    if not settings.database_url:
        print("alertstream store: DATABASE_URL is not set", file=sys.stderr)
        return 2
    ensure_topics(settings.kafka, TOPICS)
    freeze_startup_heap()
    asyncio.run(run_alone(settings))
    return 0


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from alertstream.dev import run_dev

    return run_dev(settings)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, handler, help_text in (
        ("dev", cmd_dev, "run everything on this machine with embedded defaults"),
        ("edge", cmd_edge, "run the HTTP edge (uvicorn)"),
        ("worker", cmd_worker, "run a stream worker (check, analyze, notify, store)"),
        ("store", cmd_store, "run the storage consumer alone (with `worker --no-store`)"),
        ("migrate", cmd_migrate, "apply database migrations"),
        ("topics", cmd_topics, "create missing Kafka topics; set configured retention on existing ones"),
        ("trace", cmd_trace, "print a trace: received -> checked -> analyzed -> notified"),
    ):
        parser = sub.add_parser(name, help=help_text)
        parser.set_defaults(handler=handler)
        if name == "trace":
            parser.add_argument("trace_id")
        if name == "worker":
            parser.add_argument("--no-store", action="store_true",
                                help="leave PostgreSQL to an `alertstream store` process of the same app id")
            parser.add_argument("--shadow", action="store_true",
                                help="the shadow app `replay --reprocess` starts: check -> analyze only, on "
                                     "shadow.* topics, no notify, no database (streams/shadow.py)")
