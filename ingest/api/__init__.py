"""Operator API modules mounted by the edge, in order. Each module has
`routes(ctx: ApiContext) -> list[BaseRoute]`. A module that fails to import fails start-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from alertstream.config import Settings
from alertstream.schemas.codec import Codec
from alertstream.storage.db import open_pool

from ..publisher import Publisher

API_MODULES: tuple[str, ...] = (
    "alertstream.ingest.api.agents",
    "alertstream.ingest.api.incidents",
    "alertstream.ingest.api.silences",
    "alertstream.ingest.api.intelligence",
    "alertstream.ingest.api.channels",
    "alertstream.ingest.api.deliveries",
    "alertstream.ingest.api.openapi",
    "alertstream.ingest.console.app",
)


@dataclass
class ApiContext:
    """What operator endpoints share. The database pool opens on first use: the webhook path never touches it."""

    settings: Settings
    publisher: Publisher
    codec: Codec
    _pool: AsyncConnectionPool | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await open_pool(self.settings.database_url)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
