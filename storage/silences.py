"""Silences in PostgreSQL (table silences, migration 0002): the queryable copy of the
compacted `silences` topic, written by the edge API and the CLI when they publish and by
the worker's storage consumer from the topic (idempotent: the newer updated_at wins)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg

from alertstream.schemas.records import Silence, SilenceMatcher, WeeklyRecurrence, to_avro

_COLUMNS = "silence_id, matchers, starts_at, ends_at, weekly, author, comment, created_at, updated_at"


def _row(s: Silence) -> tuple[Any, ...]:
    return (
        s.silence_id, orjson.dumps(to_avro(s.matchers)).decode(), s.starts_at, s.ends_at,
        orjson.dumps(to_avro(s.weekly)).decode(), s.author, s.comment, s.created_at, s.updated_at,
    )


async def upsert(conn: psycopg.AsyncConnection, silences: Sequence[Silence]) -> None:
    if not silences:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO silences ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"  # noqa: S608  (fixed columns)
            " ON CONFLICT (silence_id) DO UPDATE SET matchers = EXCLUDED.matchers, starts_at = EXCLUDED.starts_at,"
            " ends_at = EXCLUDED.ends_at, weekly = EXCLUDED.weekly, comment = EXCLUDED.comment,"
            " updated_at = EXCLUDED.updated_at WHERE silences.updated_at < EXCLUDED.updated_at",
            [_row(s) for s in silences],
        )


def _silence(row: Sequence[Any]) -> Silence:
    sid, matchers, starts_at, ends_at, weekly, author, comment, created_at, updated_at = row
    return Silence(
        silence_id=sid, matchers=[SilenceMatcher(**m) for m in matchers], starts_at=starts_at, ends_at=ends_at,
        weekly=[WeeklyRecurrence(**w) for w in weekly], author=author, comment=comment, created_at=created_at,
        updated_at=updated_at,
    )


async def get(conn: psycopg.AsyncConnection, silence_id: str) -> Silence | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM silences WHERE silence_id = %s", (silence_id,))  # noqa: S608
    row = await cur.fetchone()
    return _silence(row) if row else None


async def listing(conn: psycopg.AsyncConnection, now: datetime, include_expired: bool = False) -> list[Silence]:
    where = "" if include_expired else " WHERE ends_at IS NULL OR ends_at > %(now)s"
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM silences{where} ORDER BY starts_at DESC, silence_id LIMIT 1000",  # noqa: S608
        {"now": now},
    )
    return [_silence(row) for row in await cur.fetchall()]


def as_json(silence: Silence, state: str) -> dict[str, Any]:
    data = to_avro(silence)
    for key in ("starts_at", "ends_at", "created_at", "updated_at"):
        data[key] = data[key].isoformat() if data[key] else None
    data["state"] = state
    return data
