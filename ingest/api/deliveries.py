"""Operator API for the delivery ledger (API key middleware applies).

    GET  /deliveries/?incident=ID&status=failed&limit=100
    POST /deliveries/{key}/retry     a failed or dead-lettered delivery, once more
    POST /deliveries/redrive         {"dlq": true, "include_failed": false}
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.storage import deliveries
from alertstream.streams.notify_redrive import redrive

from ..publisher import OutRecord, PublishError
from ..responses import EdgeError, JSONResponse
from . import ApiContext


def routes(ctx: ApiContext) -> list[BaseRoute]:
    async def publish(topic: str, key: bytes, value: bytes) -> None:
        await ctx.publisher.publish([OutRecord(topic, key, value)])

    async def list_deliveries(request: Request) -> Response:
        q = request.query_params
        status = q.get("status") or None
        if status is not None and status not in deliveries.STATUSES:
            return EdgeError(400, "unknown status", allowed=list(deliveries.STATUSES)).response()
        try:
            limit = min(1000, max(1, int(q.get("limit", "100"))))
        except ValueError:
            return EdgeError(400, "limit must be an integer").response()
        if "\x00" in q.get("incident", ""):  # PostgreSQL text cannot hold NUL
            return EdgeError(400, "incident must not contain NUL").response()
        rows = await deliveries.list_deliveries(await ctx.pool(), incident_id=q.get("incident") or None,
                                                status=status, limit=limit)
        return JSONResponse({"deliveries": [{k: (v.isoformat() if isinstance(v, datetime) else v)
                                             for k, v in row.items()} for row in rows]})

    async def retry(request: Request) -> Response:
        key = request.path_params["key"]
        if "\x00" in key:  # no delivery key holds NUL
            return EdgeError(409, "not a failed or dead-lettered delivery").response()
        try:
            done = await redrive(await ctx.pool(), ctx.codec, publish, datetime.now(UTC), keys=[key])
        except PublishError:
            return JSONResponse({"error": "broker unavailable", "hint": "nothing was done; retry"}, status_code=503)
        if not done:
            return EdgeError(409, "not a failed or dead-lettered delivery", delivery_key=key).response()
        return JSONResponse({"requeued": done}, status_code=202)

    async def redrive_all(request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return EdgeError(400, "the body must be a JSON object").response()
        if not isinstance(doc, dict) or not doc.get("dlq"):
            return EdgeError(400, "say what to redrive: {\"dlq\": true}").response()
        statuses = ("dlq", "failed") if doc.get("include_failed") else ("dlq",)
        try:
            done = await redrive(await ctx.pool(), ctx.codec, publish, datetime.now(UTC), statuses=statuses)
        except PublishError:
            return JSONResponse({"error": "broker unavailable", "hint": "retry"}, status_code=503)
        return JSONResponse({"requeued": done}, status_code=202)

    return [
        Route("/deliveries/", list_deliveries, methods=["GET"]),
        Route("/deliveries/redrive", redrive_all, methods=["POST"]),
        Route("/deliveries/{key}/retry", retry, methods=["POST"]),
    ]
