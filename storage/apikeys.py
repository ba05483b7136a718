"""API keys in PostgreSQL (table api_keys, migration 0005).

A key is `ask_` + 40 hex characters (160 random bits). Only its SHA-256 is
stored, with the name, the first characters (to recognize it in a list), its
scopes and its times. The raw key exists once: in the return value of
`create_key`, which the CLI prints and then forgets.

Synchronous functions serve the CLI and `alertstream dev`; the edge uses the
async `load_active` / `record_last_used` through its KeyCache (ingest/apikeys.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

KEY_PREFIX = "ask_"
_RAW_KEY = re.compile(r"ask_[0-9a-f]{40}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SHOWN_PREFIX_CHARS = 12  # "ask_" + 8 hex: enough to tell keys apart, far too little to guess one


class KeyExists(ValueError):
    """An active key already has this name."""


@dataclass(frozen=True)
class KeyRecord:
    name: str
    prefix: str
    allowed_prefixes: tuple[str, ...]
    allowed_sources: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class ActiveKey:
    """What the edge needs to admit a request: who, and where it may go."""

    name: str
    allowed_prefixes: tuple[str, ...] = ()  # empty: every API path
    allowed_sources: tuple[str, ...] = ()  # empty: every source

    def allows_path(self, path: str) -> bool:
        return not self.allowed_prefixes or any(path.startswith(p) for p in self.allowed_prefixes)

    def allows_source(self, source: str) -> bool:
        return not self.allowed_sources or source in self.allowed_sources


def new_raw_key() -> str:
    return KEY_PREFIX + secrets.token_hex(20)


def hash_key(raw: str) -> str:
    """Hex SHA-256. Keys are 160 random bits, so a fast unsalted hash is enough: nothing to brute-force."""
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def is_key_shaped(raw: str) -> bool:
    return bool(_RAW_KEY.fullmatch(raw))


def validate(name: str, prefixes: Sequence[str], sources: Sequence[str]) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError("a key name is 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit")
    for prefix in prefixes:
        if not prefix.startswith("/"):
            raise ValueError(f"allowed path prefix {prefix!r} must start with '/'")
    for source in sources:
        if not source or not source.strip():
            raise ValueError("an allowed source must be a non-empty name")


def _record(row: Sequence[Any]) -> KeyRecord:
    name, prefix, prefixes, sources, created, revoked, used = row
    return KeyRecord(name, prefix, tuple(prefixes or ()), tuple(sources or ()), created, revoked, used)


def create_key(
    url: str, name: str, prefixes: Sequence[str] = (), sources: Sequence[str] = ()
) -> tuple[str, KeyRecord]:
    """A new key: (the raw key — show it once, store it nowhere — and its record)."""
    validate(name, prefixes, sources)
    raw = new_raw_key()
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(
                "INSERT INTO api_keys (name, key_prefix, key_sha256, allowed_prefixes, allowed_sources)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING name, key_prefix, allowed_prefixes, allowed_sources,"
                " created_at, revoked_at, last_used_at",
                (name, raw[:SHOWN_PREFIX_CHARS], hash_key(raw), list(prefixes), list(sources)),
            ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise KeyExists(f"an active key named {name!r} exists; revoke it first") from None
    if row is None:  # RETURNING always yields the row
        raise RuntimeError("api_keys insert returned nothing")
    return raw, _record(row)


def list_keys(url: str) -> list[KeyRecord]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, key_prefix, allowed_prefixes, allowed_sources, created_at, revoked_at, last_used_at"
            " FROM api_keys ORDER BY name, created_at"
        ).fetchall()
    return [_record(r) for r in rows]


def revoke_key(url: str, name: str) -> bool:
    """Revoke the active key of this name; False when there is none."""
    with psycopg.connect(url) as conn:
        cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL", (name,))
        return cur.rowcount > 0


def is_active(url: str, raw: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT 1 FROM api_keys WHERE key_sha256 = %s AND revoked_at IS NULL", (hash_key(raw),)
        ).fetchone()
    return row is not None


async def load_active(pool: AsyncConnectionPool) -> dict[str, ActiveKey]:
    """Every active key by its hash: the edge's whole snapshot in one query (keys are few)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT key_sha256, name, allowed_prefixes, allowed_sources FROM api_keys WHERE revoked_at IS NULL"
        )
        rows = await cur.fetchall()
    return {digest: ActiveKey(name, tuple(prefixes or ()), tuple(sources or ())) for digest, name, prefixes, sources
            in rows}


async def record_last_used(pool: AsyncConnectionPool, used: Mapping[str, datetime]) -> None:
    """One statement for a whole batch of {key hash: last use}; never moves a time backwards."""
    if not used:
        return
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE api_keys AS k SET last_used_at = GREATEST(k.last_used_at, u.at)"
            " FROM unnest(%s::text[], %s::timestamptz[]) AS u(digest, at) WHERE k.key_sha256 = u.digest",
            (list(used), list(used.values())),
        )
