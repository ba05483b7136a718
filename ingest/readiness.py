"""/readyz: can this edge reach the broker and the database right now?"""

from __future__ import annotations

import asyncio

import psycopg

from .publisher import Publisher


class Readiness:
    def __init__(self, publisher: Publisher, database_url: str, timeout: float = 2.0) -> None:
        self._publisher = publisher
        self._database_url = database_url
        self._timeout = timeout

    async def check(self) -> dict[str, bool]:
        broker, database = await asyncio.gather(
            asyncio.to_thread(self._publisher.ping, self._timeout), self._database_ok()
        )
        return {"broker": broker, "database": database}

    async def _database_ok(self) -> bool:
        if not self._database_url:
            return False
        try:
            async with await psycopg.AsyncConnection.connect(
                self._database_url, connect_timeout=int(self._timeout) or 1
            ) as conn:
                await conn.execute("SELECT 1")
            return True
        except (psycopg.Error, OSError):
            return False

    async def close(self) -> None:
        return None
