"""Operator API for incidents (guarded by the API key middleware like every operator path).

    GET  /incidents/?status=&severity=&source=&since=&limit=   the list, newest change first
    GET  /incidents/{id}                                         one, with its full timeline
    POST /incidents/{id}/acknowledge|resolve|close|note          {"note": "..."}: 202, then the
         check stage applies it in order with the incident's alerts and every channel sees it
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.schemas.records import SEVERITIES
from alertstream.storage import incidents as incident_store
from alertstream.streams.actions import ActionError, submit_action
from alertstream.streams.incidents import ACTIONS
from alertstream.streams.lanes import LaneError, parse_duration

from ..publisher import PublishError
from ..responses import EdgeError, JSONResponse
from . import ApiContext

MAX_NOTE = 4000


def actor_of(request: Request, fallback: str = "api") -> str:
    """The API key's name: who did it, as the timeline and the channels show it."""
    key = getattr(request.state, "api_key", None)
    return str(getattr(key, "name", "") or fallback)


def parse_since(raw: str | None, now: datetime) -> datetime | None:
    """`since` is a duration back from now (2h, 30m, 1d) or an ISO 8601 time."""
    if not raw:
        return None
    try:
        return now - parse_duration(raw, "since")
    except LaneError:
        pass
    except (OverflowError, ValueError):
        raise EdgeError(400, "since: that duration reaches back before year 1", since=raw) from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise EdgeError(400, "since: a duration like 2h or an ISO 8601 time", since=raw) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise EdgeError(400, f"{name} must be one of {', '.join(allowed)}", parameter=name, value=value)
    return value


def routes(ctx: ApiContext) -> list[BaseRoute]:
    async def list_incidents(request: Request) -> Response:
        try:
            status = _choice(request, "status", incident_store.STATUSES)
            severity = _choice(request, "severity", SEVERITIES)
            since = parse_since(request.query_params.get("since"), datetime.now(UTC))
            limit_raw = request.query_params.get("limit", "100")
            if "\x00" in request.query_params.get("source", ""):  # PostgreSQL text cannot hold NUL
                raise EdgeError(400, "source must not contain NUL")
            # isascii: str.isdigit() also accepts digits int() refuses, such as "²"
            if not (limit_raw.isascii() and limit_raw.isdigit()) or not 1 <= int(limit_raw) <= 1000:
                raise EdgeError(400, "limit must be an integer from 1 to 1000", limit=limit_raw)
        except EdgeError as exc:
            return exc.response()
        async with (await ctx.pool()).connection() as conn:
            found = await incident_store.list_incidents(
                conn, status=status, severity=severity, source=request.query_params.get("source") or None,
                since=since, limit=int(limit_raw),
            )
        return JSONResponse({"incidents": found, "count": len(found)})

    async def show_incident(request: Request) -> Response:
        incident_id = request.path_params["incident_id"]
        if "\x00" in incident_id:  # PostgreSQL text cannot hold NUL: no such id can exist
            return EdgeError(404, "no such incident").response()
        async with (await ctx.pool()).connection() as conn:
            found = await incident_store.show_incident(conn, incident_id)
        if found is None:
            return EdgeError(404, "no such incident", incident_id=incident_id).response()
        return JSONResponse(found)

    async def act(request: Request) -> Response:
        incident_id, kind = request.path_params["incident_id"], request.path_params["action"]
        if kind not in ACTIONS:
            return EdgeError(404, "unknown action", action=kind, actions=list(ACTIONS)).response()
        body = await request.body()
        try:
            doc: Any = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            return EdgeError(400, "the body must be JSON, e.g. {\"note\": \"...\"}").response()
        note = doc.get("note", "") if isinstance(doc, dict) else None
        if not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note:
            return EdgeError(400, f"note must be a string of at most {MAX_NOTE} characters, without NUL").response()
        if "\x00" in incident_id:
            return EdgeError(404, "no such incident").response()
        try:
            async with (await ctx.pool()).connection() as conn:
                command = await submit_action(
                    ctx.publisher, ctx.codec, conn, incident_id=incident_id, kind=kind, actor=actor_of(request),
                    note=note, now=datetime.now(UTC),
                )
        except ActionError as exc:
            return EdgeError(exc.status, exc.reason, incident_id=incident_id).response()
        except PublishError:
            return JSONResponse({"error": "broker unavailable", "hint": "nothing was done; retry"}, status_code=503,
                                headers={"Retry-After": "5"})
        return JSONResponse(
            {"status": "accepted", "command_id": command.command_id, "trace_id": command.command_id,
             "incident_id": incident_id, "action": kind},
            status_code=202,
        )

    return [
        Route("/incidents/", list_incidents, methods=["GET"]),
        Route("/incidents/{incident_id}", show_incident, methods=["GET"]),
        Route("/incidents/{incident_id}/{action}", act, methods=["POST"]),
    ]

