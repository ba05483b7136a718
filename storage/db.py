"""PostgreSQL access: one async pool per process, opened in main() and passed down."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


async def open_pool(url: str, min_size: int = 1, max_size: int = 4) -> AsyncConnectionPool:
    if not url:
        raise ValueError("DATABASE_URL is not set")
    pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False, timeout=10)
    await pool.open(wait=True, timeout=15)
    return pool
