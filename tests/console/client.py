"""A console client over ASGI: an edge app (create_app) and helpers to log in and post forms."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from alertstream.config import Settings
from alertstream.ingest.app import create_app
from alertstream.ingest.console.passwords import hash_password
from alertstream.storage.console_users import create_user
from alertstream.streams.admin import ensure_topics

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class User:
    name: str
    password: str = PASSWORD


def new_user(database_url: str) -> User:
    user = User(f"op-{uuid.uuid4().hex[:10]}")
    create_user(database_url, user.name, hash_password(user.password))
    return user


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@asynccontextmanager
async def console_client(
    settings: Settings, base_url: str = "http://127.0.0.1:8080"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own address, so rate limits shared through Redis never meet another test's."""
    ensure_topics(settings.kafka)
    app = create_app(settings)
    address = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(1, 250)}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


async def login(client: httpx.AsyncClient, user: User, password: str | None = None,
                next_path: str = "") -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post("/console/login", data={
        "csrf": csrf_of(page.text), "name": user.name, "password": user.password if password is None else password,
        "next": next_path,
    })


async def form_post(client: httpx.AsyncClient, page_path: str, action: str, **fields: str) -> httpx.Response:
    """POST a form the way a browser would: with the CSRF token of the page it came from."""
    page = await client.get(page_path)
    return await client.post(action, data={"csrf": csrf_of(page.text), **fields})
