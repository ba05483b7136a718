"""Operator API for notification channels (API key middleware applies). No response
ever carries a channel's settings: only name, type, state and a host summary.

    GET  /channels/                 stored channels and the env default webhook
    POST /channels/                 {"name", "type", "settings": {...}, "test": true, "replace": false}
                                    validated (driver, SSRF guard), optionally test-sent, stored sealed
    POST /channels/{name}/test      send a real test message
    POST /channels/{name}/disable   stop delivering to it (deliveries to it fail as channel_disabled)
    POST /channels/{name}/enable
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.config import ConfigError
from alertstream.errors import Permanent
from alertstream.notify.base import ChannelConfig, Outbound
from alertstream.notify.channels import channels_from_settings, summary, validate_channel
from alertstream.notify.outbound import allow_list, make_outbound
from alertstream.notify.probe import send_test
from alertstream.secrets import Keyring
from alertstream.storage import channels as store
from alertstream.storage.sealed import keyring_for

from ..responses import EdgeError, JSONResponse
from . import ApiContext


def routes(ctx: ApiContext) -> list[BaseRoute]:
    notify = ctx.settings.notify
    state: dict[str, Any] = {}

    def outbound() -> Outbound:
        if "out" not in state:
            state["out"] = make_outbound(allow_list(notify.outbound_allow, ctx.settings.worker.webhook_url))
        return state["out"]  # type: ignore[no-any-return]

    def keyring() -> Keyring:
        try:
            return keyring_for(ctx.settings)
        except ConfigError:
            raise EdgeError(503, "channel storage unavailable: ALERTSTREAM_SECRET_KEY is not set") from None

    async def find(name: str) -> ChannelConfig:
        if "\x00" in name:  # PostgreSQL text cannot hold NUL: no such channel can exist
            raise EdgeError(404, "no such channel")
        channel = channels_from_settings(ctx.settings.worker).get(name)
        if channel is None:
            channel = (await store.load(await ctx.pool(), keyring(), name)).get(name)
        if channel is None:
            raise EdgeError(404, "no such channel", channel=name)
        return channel

    async def list_channels(request: Request) -> Response:
        env = [{"name": c.name, "type": c.type, "enabled": True, "summary": summary(c), "source": "env"}
               for c in channels_from_settings(ctx.settings.worker).values()]
        stored = [{**c.public(), "source": "stored"} for c in await store.list_channels(await ctx.pool())]
        return JSONResponse({"channels": env + stored})

    async def add_channel(request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body())
            if not isinstance(doc, dict):
                raise ValueError
            channel = validate_channel(doc.get("name"), doc.get("type"), doc.get("settings") or {}, outbound().allow)
            sealer = keyring()
            if doc.get("test", True):
                ok, what = await send_test(channel, outbound(), datetime.now(UTC))
                if not ok:
                    return EdgeError(422, "the test message failed; not saved", test=what).response()
            saved = await store.save(await ctx.pool(), sealer, channel, summary(channel),
                                     replace=bool(doc.get("replace")))
        except (orjson.JSONDecodeError, ValueError):
            return EdgeError(400, "the body must be a JSON object with name, type and settings").response()
        except Permanent as exc:
            return EdgeError(400, exc.reason, detail=exc.detail).response()
        except EdgeError as exc:
            return exc.response()
        if not saved:
            return EdgeError(409, "a channel of that name exists (send replace: true)", channel=channel.name).response()
        return JSONResponse({"name": channel.name, "type": channel.type, "enabled": True,
                             "summary": summary(channel)}, status_code=201)

    async def test_channel(request: Request) -> Response:
        try:
            channel = await find(request.path_params["name"])
        except EdgeError as exc:
            return exc.response()
        ok, what = await send_test(channel, outbound(), datetime.now(UTC))
        return JSONResponse({"channel": channel.name, "ok": ok, "result": what}, status_code=200 if ok else 502)

    def toggle(enabled: bool) -> Any:
        async def handler(request: Request) -> Response:
            name = request.path_params["name"]
            if "\x00" in name or not await store.set_enabled(await ctx.pool(), name, enabled):
                return EdgeError(404, "no such stored channel", channel=name).response()
            return JSONResponse({"name": name, "enabled": enabled})

        return handler

    return [
        Route("/channels/", list_channels, methods=["GET"]),
        Route("/channels/", add_channel, methods=["POST"]),
        Route("/channels/{name}/test", test_channel, methods=["POST"]),
        Route("/channels/{name}/disable", toggle(False), methods=["POST"]),
        Route("/channels/{name}/enable", toggle(True), methods=["POST"]),
    ]
