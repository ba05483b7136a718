"""Stored channels: name, type and a non-secret summary in the clear; the settings
(webhook URLs, keys, passwords) sealed with the Keyring (AES-256-GCM) under the
associated data `channel:{name}:config`, so a token copied to another row does
not decrypt. `alertstream secrets rotate` re-seals them (storage/sealed.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool

from alertstream.notify.base import ChannelConfig
from alertstream.secrets import Keyring

from .sealed import SealedColumn

CHANNEL_CONFIG = SealedColumn("channels", "config_sealed", ("name",), "channel:{name}:config")


@dataclass(frozen=True)
class StoredChannel:
    name: str
    type: str
    enabled: bool
    summary: str
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "enabled": self.enabled, "summary": self.summary,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat()}


def seal(keyring: Keyring, channel: ChannelConfig) -> bytes:
    return keyring.encrypt(orjson.dumps(dict(channel.settings)), CHANNEL_CONFIG.aad({"name": channel.name}))


def unseal(keyring: Keyring, name: str, channel_type: str, enabled: bool, token: bytes) -> ChannelConfig:
    settings = orjson.loads(keyring.decrypt(token, CHANNEL_CONFIG.aad({"name": name})))
    return ChannelConfig(name, channel_type, settings, enabled)


_INSERT = (
    "INSERT INTO channels (name, type, enabled, summary, config_sealed) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (name) DO NOTHING"
)
_UPSERT = (
    "INSERT INTO channels (name, type, enabled, summary, config_sealed) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, summary = EXCLUDED.summary,"
    " config_sealed = EXCLUDED.config_sealed, enabled = EXCLUDED.enabled, updated_at = now()"
)


async def save(
    pool: AsyncConnectionPool, keyring: Keyring, channel: ChannelConfig, summary: str, *, replace: bool = False
) -> bool:
    """Insert (or, with replace, overwrite) a channel. False when it exists and replace is off."""
    token = seal(keyring, channel)
    sql = _UPSERT if replace else _INSERT
    async with pool.connection() as conn:
        cur = await conn.execute(sql, (channel.name, channel.type, channel.enabled, summary, token))
        return cur.rowcount == 1


async def list_channels(pool: AsyncConnectionPool) -> list[StoredChannel]:
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT name, type, enabled, summary, created_at, updated_at FROM channels ORDER BY name"
        )).fetchall()
    return [StoredChannel(*row) for row in rows]


async def load(pool: AsyncConnectionPool, keyring: Keyring, name: str | None = None) -> dict[str, ChannelConfig]:
    """Decrypted channels (one, or all), disabled ones included with enabled=False."""
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT name, type, enabled, config_sealed FROM channels WHERE %s::text IS NULL OR name = %s",
            (name, name),
        )).fetchall()
    return {row[0]: unseal(keyring, row[0], row[1], row[2], bytes(row[3])) for row in rows}


async def set_enabled(pool: AsyncConnectionPool, name: str, enabled: bool) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE channels SET enabled = %s, updated_at = now() WHERE name = %s", (enabled, name)
        )
        return cur.rowcount == 1


async def delete(pool: AsyncConnectionPool, name: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM channels WHERE name = %s", (name,))
        return cur.rowcount == 1
