"""What the commands share: where the database is, and how a table is printed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from alertstream.config import Settings


def database_url(settings: Settings, command: str) -> str | None:
    """DATABASE_URL, or None after telling the operator which command needed it."""
    if not settings.database_url:
        print(f"alertstream {command}: DATABASE_URL is not set", file=sys.stderr)
    return settings.database_url or None


async def with_connection(settings: Settings, work: Any) -> Any:
    """Run `work(conn)` on one autocommit connection (cli.py turns the ValueError into a message)."""
    import psycopg

    if not settings.database_url:
        raise ValueError("DATABASE_URL is not set")
    async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True) as conn:
        return await work(conn)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def when(at: datetime | None, never: str = "never", seconds: bool = False) -> str:
    if at is None:
        return never
    return f"{at:%Y-%m-%d %H:%M:%S}" if seconds else f"{at:%Y-%m-%d %H:%M}"


class Refused(Exception):
    """An operator action the database copy or the rules refused; the message has been printed."""


def run_action(settings: Settings, command: str, action: Any) -> Any:
    """`action(publisher, codec, conn)` with a producer of its own and one database connection;
    an ActionError is printed as `alertstream <command>: <reason>` and raised as Refused."""
    from alertstream.ingest.publisher import Publisher
    from alertstream.schemas.codec import Codec
    from alertstream.streams.actions import ActionError

    publisher = Publisher(settings.kafka)
    try:
        return asyncio.run(with_connection(settings, lambda conn: action(publisher, Codec(), conn)))
    except ActionError as exc:
        print(f"alertstream {command}: {exc.reason}", file=sys.stderr)
        raise Refused(exc.reason) from exc
    finally:
        publisher.close()
