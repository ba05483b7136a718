"""What the deployment files are checked against: the CLI's commands, the edge's routes, the settings."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from alertstream.cli import build_parser
from alertstream.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="session")
def cli_commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


@pytest.fixture(scope="session")
def edge_routes() -> dict[str, set[str]]:
    """path -> methods of the edge as create_app builds it (nothing is contacted)."""
    from alertstream.ingest.app import create_app

    app = create_app(Settings(), publisher=object(), readiness=object())  # type: ignore[arg-type]
    routes: dict[str, set[str]] = {}
    for route in app.routes:
        routes.setdefault(route.path, set()).update(getattr(route, "methods", None) or ())  # type: ignore[attr-defined]
    return routes


@pytest.fixture(scope="session")
def known_settings() -> set[str]:
    """Every environment variable the settings read."""
    source = (ROOT / "alertstream" / "config.py").read_text()
    return set(re.findall(r'"((?:ALERTSTREAM|KAFKA|DATABASE|REDIS)_[A-Z_]+)"', source))


def our_variables(names: object) -> set[str]:
    """The names among these that are ours (not a Kafka or PostgreSQL image's own settings)."""
    ours = {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"}
    return {n for n in names if isinstance(n, str) and (n.startswith("ALERTSTREAM_") or n in ours)}  # type: ignore[attr-defined]
