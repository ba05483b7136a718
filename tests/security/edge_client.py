"""An edge app (create_app) with an httpx client over ASGI, for the security tests."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from alertstream.config import Settings
from alertstream.ingest.app import create_app
from alertstream.streams.admin import ensure_topics


def with_edge(settings: Settings, **edge: Any) -> Settings:
    """settings with some EdgeSettings fields replaced (and any top-level ones given as top_<name>)."""
    top = {name[4:]: edge.pop(name) for name in list(edge) if name.startswith("top_")}
    return dataclasses.replace(settings, edge=dataclasses.replace(settings.edge, **edge), **top)


@asynccontextmanager
async def edge_client(
    settings: Settings, headers: dict[str, str] | None = None, client: tuple[str, int] = ("127.0.0.1", 40000)
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    ensure_topics(settings.kafka)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge", headers=headers or {}) as c:
            yield app, c
