"""Configured analysis providers (table analysis_providers). API keys are sealed
with the keyring, bound to the provider's name, and only ever opened by the worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool

from alertstream.secrets import Keyring, Secret

from .sealed import SealedColumn

_COLUMNS = "name, kind, base_url, model, api_key_sealed, timeout_s, max_concurrency, options, active, updated_at"


@dataclass(frozen=True)
class ProviderRow:
    name: str
    kind: str
    base_url: str = ""
    model: str = ""
    api_key_sealed: bytes | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    max_concurrency: int = 4
    options: dict[str, Any] = field(default_factory=dict)
    active: bool = False
    updated_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """What the API and CLI show: everything but the key, and whether there is one."""
        return {
            "name": self.name, "kind": self.kind, "base_url": self.base_url, "model": self.model,
            "has_api_key": self.api_key_sealed is not None, "timeout_s": self.timeout_s,
            "max_concurrency": self.max_concurrency, "options": self.options, "active": self.active,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


# Registered in storage/sealed.py SEALED_COLUMNS, so `alertstream secrets rotate` re-seals it.
KEY_COLUMN = SealedColumn("analysis_providers", "api_key_sealed", ("name",), "analysis-provider:{name}:api_key")


def _aad(name: str) -> bytes:
    return KEY_COLUMN.aad({"name": name})


def seal_key(keyring: Keyring, name: str, key: str) -> bytes:
    return keyring.encrypt(key.encode(), _aad(name))


def open_key(keyring: Keyring | None, row: ProviderRow) -> Secret[str]:
    """The provider's key; DecryptError (no key material printed) when it cannot be opened."""
    if row.api_key_sealed is None:
        return Secret("")
    if keyring is None:
        raise ValueError(f"provider {row.name} has a sealed API key but ALERTSTREAM_SECRET_KEY is not set")
    return Secret(keyring.decrypt(row.api_key_sealed, _aad(row.name)).decode())


def _row(values: tuple[Any, ...]) -> ProviderRow:
    name, kind, base_url, model, sealed, timeout_s, concurrency, options, active, updated = values
    return ProviderRow(name, kind, base_url, model, bytes(sealed) if sealed is not None else None, float(timeout_s),
                       int(concurrency), dict(options or {}), bool(active), updated)


async def upsert(pool: AsyncConnectionPool, row: ProviderRow, *, keep_key: bool = False) -> None:
    """Insert or replace a provider; keep_key leaves a stored key alone when none is given."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO analysis_providers (name, kind, base_url, model, api_key_sealed, timeout_s,"
            " max_concurrency, options) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url,"
            " model = EXCLUDED.model, timeout_s = EXCLUDED.timeout_s, max_concurrency = EXCLUDED.max_concurrency,"
            " options = EXCLUDED.options, updated_at = now(), api_key_sealed = CASE WHEN %s::boolean"
            " THEN COALESCE(EXCLUDED.api_key_sealed, analysis_providers.api_key_sealed)"
            " ELSE EXCLUDED.api_key_sealed END",
            (row.name, row.kind, row.base_url, row.model, row.api_key_sealed, row.timeout_s, row.max_concurrency,
             orjson.dumps(row.options).decode(), keep_key),
        )


async def list_all(pool: AsyncConnectionPool) -> list[ProviderRow]:
    async with pool.connection() as conn:
        rows = await (await conn.execute(f"SELECT {_COLUMNS} FROM analysis_providers ORDER BY name"  # noqa: S608  (fixed columns)
                                 )).fetchall()
    return [_row(r) for r in rows]


async def get(pool: AsyncConnectionPool, name: str) -> ProviderRow | None:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            f"SELECT {_COLUMNS} FROM analysis_providers WHERE name = %s", (name,)  # noqa: S608  (fixed columns)
        )).fetchone()
    return _row(row) if row else None


async def active(pool: AsyncConnectionPool) -> ProviderRow | None:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            f"SELECT {_COLUMNS} FROM analysis_providers WHERE active"  # noqa: S608  (fixed columns)
        )).fetchone()
    return _row(row) if row else None


async def activate(pool: AsyncConnectionPool, name: str | None) -> bool:
    """Make `name` the one active provider; None (or `local`) deactivates all: the rules answer.
    False when no provider has that name (nothing changes then)."""
    async with pool.connection() as conn, conn.transaction():
        if name is not None:
            found = await (await conn.execute("SELECT 1 FROM analysis_providers WHERE name = %s", (name,))).fetchone()
            if found is None:
                return False
        await conn.execute("UPDATE analysis_providers SET active = false, updated_at = now() WHERE active")
        if name is not None:
            await conn.execute("UPDATE analysis_providers SET active = true, updated_at = now() WHERE name = %s",
                               (name,))
    return True
