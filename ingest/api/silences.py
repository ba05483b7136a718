"""Operator API for silences and maintenance windows (API key middleware applies).

    GET    /silences/?all=1        active, pending and waiting silences (all=1: expired too)
    POST   /silences/              {"matchers": ["alertname=\\"DiskFull\\"", "instance=~\\"db-.*\\""],
                                    "duration": "2h" | "ends_at": ISO, "starts_at": ISO,
                                    "weekly": [{"days": ["sat", "sun"], "start": "22:00", "end": "06:00",
                                                "timezone": "Europe/Berlin"}], "comment": "..."}
    GET    /silences/{id}
    DELETE /silences/{id}          expire it now (also POST /silences/{id}/expire)

A silence reaches every worker through the compacted `silences` topic.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.storage import silences as silence_store
from alertstream.streams.actions import ActionError, expire_silence, publish_silence, silence_from_doc
from alertstream.streams.silences import SilenceError, state_of

from ..publisher import PublishError
from ..responses import EdgeError, JSONResponse
from . import ApiContext
from .incidents import actor_of

_UNAVAILABLE = {"error": "broker unavailable", "hint": "nothing was done; retry"}


def routes(ctx: ApiContext) -> list[BaseRoute]:
    async def list_silences(request: Request) -> Response:
        now = datetime.now(UTC)
        include_expired = request.query_params.get("all", "") in ("1", "true", "yes")
        async with (await ctx.pool()).connection() as conn:
            found = await silence_store.listing(conn, now, include_expired)
        return JSONResponse({"silences": [silence_store.as_json(s, state_of(s, now)) for s in found]})

    async def add_silence(request: Request) -> Response:
        now = datetime.now(UTC)
        try:
            doc = orjson.loads(await request.body())
            silence = silence_from_doc(doc, author=actor_of(request), now=now)
        except orjson.JSONDecodeError:
            return EdgeError(400, "the body must be a JSON object").response()
        except SilenceError as exc:
            return EdgeError(400, str(exc)).response()
        try:
            async with (await ctx.pool()).connection() as conn:
                await publish_silence(ctx.publisher, ctx.codec, conn, silence)
        except PublishError:
            return JSONResponse(_UNAVAILABLE, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(silence_store.as_json(silence, state_of(silence, now)), status_code=201)

    async def show_silence(request: Request) -> Response:
        silence_id = request.path_params["silence_id"]
        if "\x00" in silence_id:  # PostgreSQL text cannot hold NUL: no such id can exist
            return EdgeError(404, "no such silence").response()
        async with (await ctx.pool()).connection() as conn:
            found = await silence_store.get(conn, silence_id)
        if found is None:
            return EdgeError(404, "no such silence", silence_id=silence_id).response()
        return JSONResponse(silence_store.as_json(found, state_of(found, datetime.now(UTC))))

    async def expire(request: Request) -> Response:
        silence_id, now = request.path_params["silence_id"], datetime.now(UTC)
        if "\x00" in silence_id:
            return EdgeError(404, "no such silence").response()
        try:
            async with (await ctx.pool()).connection() as conn:
                ended = await expire_silence(ctx.publisher, ctx.codec, conn, silence_id, now)
        except ActionError as exc:
            return EdgeError(exc.status, exc.reason, silence_id=silence_id).response()
        except PublishError:
            return JSONResponse(_UNAVAILABLE, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(silence_store.as_json(ended, "expired"))

    return [
        Route("/silences/", list_silences, methods=["GET"]),
        Route("/silences/", add_silence, methods=["POST"]),
        Route("/silences/{silence_id}", show_silence, methods=["GET"]),
        Route("/silences/{silence_id}", expire, methods=["DELETE"]),
        Route("/silences/{silence_id}/expire", expire, methods=["POST"]),
    ]
