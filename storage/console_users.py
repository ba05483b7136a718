"""Web console users and sessions in PostgreSQL (tables console_users, console_sessions, migration 0007).

A user row holds an argon2id hash, never a password (ingest/console/passwords.py
makes and checks it). A session row is keyed by the SHA-256 of the cookie value,
so reading the table gives nothing a browser could replay. Disabling a user
deletes their sessions in the same statement's transaction.

Synchronous functions serve the CLI and `alertstream dev`; the edge uses the async ones
through its pool. Every time comes from the caller (the edge's clock), so expiry is testable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class UserExists(ValueError):
    """A console user of this name exists already."""


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class Credentials:
    """What a login checks: the stored hash, and whether the user may log in at all."""

    name: str
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class SessionRow:
    user_name: str
    created_at: datetime
    last_seen_at: datetime


def validate_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError("a console user name is 1-64 characters of A-Z a-z 0-9 _ . @ - "
                         "starting with a letter or digit")


# --- synchronous: the CLI and `alertstream dev` ---

def create_user(url: str, name: str, password_hash: str) -> None:
    validate_name(name)
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "INSERT INTO console_users (name, password_hash) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, password_hash),
        )
        if cur.rowcount != 1:
            raise UserExists(f"a console user named {name!r} exists")


def list_users(url: str) -> list[ConsoleUser]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, created_at, disabled_at, last_login_at FROM console_users ORDER BY name"
        ).fetchall()
    return [ConsoleUser(*row) for row in rows]


def has_users(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM console_users)").fetchone()
    return bool(row and row[0])


def disable_user(url: str, name: str) -> bool:
    """Disable an enabled user and end every session of theirs at once. False when there is none."""
    with psycopg.connect(url) as conn, conn.transaction():
        cur = conn.execute(
            "UPDATE console_users SET disabled_at = now() WHERE name = %s AND disabled_at IS NULL", (name,)
        )
        if cur.rowcount != 1:
            return False
        conn.execute("DELETE FROM console_sessions WHERE user_name = %s", (name,))
        return True


# --- asynchronous: the edge ---

async def credentials(pool: AsyncConnectionPool, name: str) -> Credentials | None:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT name, password_hash, disabled_at IS NOT NULL FROM console_users WHERE name = %s", (name,)
        )).fetchone()
    return Credentials(*row) if row else None


async def start_session(
    pool: AsyncConnectionPool, token_sha256: str, name: str, now: datetime, *,
    rehashed: str | None = None, forget_before: datetime | None = None,
) -> None:
    """Record a login: the new session, the login time, an upgraded hash when the cost
    parameters changed, and (housekeeping) delete sessions last seen before `forget_before`."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO console_sessions (token_sha256, user_name, created_at, last_seen_at) VALUES (%s,%s,%s,%s)",
            (token_sha256, name, now, now),
        )
        await conn.execute(
            "UPDATE console_users SET last_login_at = %s, password_hash = COALESCE(%s, password_hash)"
            " WHERE name = %s", (now, rehashed, name),
        )
        if forget_before is not None:
            await conn.execute("DELETE FROM console_sessions WHERE last_seen_at < %s", (forget_before,))


async def load_session(pool: AsyncConnectionPool, token_sha256: str) -> SessionRow | None:
    """The session of an enabled user, or None (unknown, logged out, or the user is disabled)."""
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT s.user_name, s.created_at, s.last_seen_at FROM console_sessions s"
            " JOIN console_users u ON u.name = s.user_name"
            " WHERE s.token_sha256 = %s AND u.disabled_at IS NULL", (token_sha256,),
        )).fetchone()
    return SessionRow(*row) if row else None


async def touch_session(pool: AsyncConnectionPool, token_sha256: str, now: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE console_sessions SET last_seen_at = %s WHERE token_sha256 = %s AND last_seen_at < %s",
            (now, token_sha256, now),
        )


async def end_session(pool: AsyncConnectionPool, token_sha256: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM console_sessions WHERE token_sha256 = %s", (token_sha256,))
