"""PostgreSQL access: one async pool per process, opened in main() and passed down."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool


def holds_nul(value: Any) -> bool:
    """Whether any string (key or value) in a JSON document holds NUL, which PostgreSQL text and
    jsonb cannot store: every writer of JSON-born text refuses it with this. Pure."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(holds_nul(v) for v in value)


async def open_pool(url: str, min_size: int = 1, max_size: int = 4) -> AsyncConnectionPool:
    if not url:
        raise ValueError("DATABASE_URL is not set")
    pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False, timeout=10)
    await pool.open(wait=True, timeout=15)
    return pool
