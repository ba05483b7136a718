"""The floor of our own stack: a bare Starlette app under the same uvicorn settings that
reads the body, parses the JSON and answers 202. The edge is measured against it."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/alerts/webhook/", accept, methods=["POST"])])
