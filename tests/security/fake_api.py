"""An operator API module as others write them (ingest/api/): it does nothing about authentication."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from alertstream.ingest.api import ApiContext
from alertstream.ingest.responses import JSONResponse


async def _secrets(request: Request) -> JSONResponse:
    key = request.state.api_key
    return JSONResponse({"data": "sensitive", "key": key.name})


def routes(ctx: ApiContext) -> list[BaseRoute]:
    return [Route("/api/things", _secrets, methods=["GET", "POST"])]
