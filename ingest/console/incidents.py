"""Console pages for incidents: the filtered list with live counts, one incident (alerts,
timeline, analysis, deliveries) with its action buttons, and the actions themselves."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alertstream.schemas.records import SEVERITIES
from alertstream.storage import analyses
from alertstream.storage import incidents as incident_store
from alertstream.streams.incidents import ACTIONS, action_refused

from ..api.incidents import parse_since
from ..responses import EdgeError
from . import actions
from .forms import FormError, read_form
from .queries import incident_counts
from .render import Console
from .session import PREFIX

LIST_LIMIT = 200
BUTTONS = ("acknowledge", "resolve", "close")


def read_filters(query: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Pure: the filters this page understands, and a sentence for each value it cannot use."""
    filters, problems = {}, []
    for name, allowed in (("status", incident_store.STATUSES), ("severity", SEVERITIES)):
        value = query.get(name, "").strip()
        if value and value not in allowed:
            problems.append(f"{name} must be one of {', '.join(allowed)}")
        elif value:
            filters[name] = value
    source = query.get("source", "").strip()
    if len(source) > 64:
        problems.append("source is at most 64 characters")
    elif source:
        filters["source"] = source
    since = query.get("since", "").strip()
    if since:
        filters["since"] = since
    return filters, problems


def allowed_buttons(status: str) -> list[str]:
    return [kind for kind in BUTTONS if not action_refused(status, kind)]


def routes(console: Console) -> list[BaseRoute]:
    api = console.api

    async def listing(request: Request) -> Response:
        filters, problems = read_filters(dict(request.query_params))
        since = None
        if "since" in filters:
            try:
                since = parse_since(filters["since"], console.clock())
            except (EdgeError, OverflowError, ValueError):  # 9999999999d overflows a timedelta
                problems.append("since is a duration like 2h or 30m, or an ISO 8601 time")
                filters.pop("since")
        found: list[dict[str, Any]] = []
        if not problems:
            async with (await api.pool()).connection() as conn:
                found = await incident_store.list_incidents(
                    conn, status=filters.get("status"), severity=filters.get("severity"),
                    source=filters.get("source"), since=since, limit=LIST_LIMIT,
                )
        counts = await incident_counts(await api.pool())
        return console.render(
            request, "incidents.html", status=400 if problems else 200, incidents=found, filters=filters,
            problems=problems, counts=counts, statuses=incident_store.STATUSES, severities=SEVERITIES,
            limit=LIST_LIMIT, query=urlencode(filters),
        )

    async def counts_fragment(request: Request) -> Response:
        return console.render(request, "_counts.html", counts=await incident_counts(await api.pool()))

    async def load(incident_id: str) -> dict[str, Any] | None:
        if len(incident_id) > 200:
            return None
        async with (await api.pool()).connection() as conn:
            return await incident_store.show_incident(conn, incident_id)

    async def page(request: Request, status: int = 200, error: str = "", note: str = "") -> Response:
        incident_id = request.path_params["incident_id"]
        incident = await load(incident_id)
        if incident is None:
            return console.error(request, 404, "No such incident.")
        found = await analyses.for_incident(await api.pool(), incident_id, limit=5)
        return console.render(
            request, "incident.html", status=status, incident=incident, analyses=found, error=error, note=note,
            buttons=allowed_buttons(incident["status"]),
        )

    async def show(request: Request) -> Response:
        return await page(request)

    async def live_fragment(request: Request) -> Response:
        incident = await load(request.path_params["incident_id"])
        if incident is None:
            return console.error(request, 404, "No such incident.")
        return console.render(request, "_incident_live.html", incident=incident,
                              buttons=allowed_buttons(incident["status"]))

    async def act(request: Request) -> Response:
        incident_id, kind = request.path_params["incident_id"], request.path_params["action"]
        if kind not in ACTIONS:
            return console.error(request, 404, "No such action.")
        try:
            form = await read_form(request, request.state.csrf)
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        note = form.get("note", "")
        try:
            await actions.incident_action(api, incident_id, kind, actor=f"console:{request.state.console_user}",
                                          note=note, now=console.clock())
        except actions.Refused as exc:
            if exc.status == 404:
                return console.error(request, 404, exc.message)
            return await page(request, status=exc.status, error=exc.message, note=note)
        return RedirectResponse(f"{PREFIX}/incidents/{quote(incident_id, safe='')}?flash={kind}", status_code=303)

    return [
        Route("/incidents", listing, methods=["GET"]),
        Route("/incidents/counts", counts_fragment, methods=["GET"]),
        Route("/incidents/{incident_id}", show, methods=["GET"]),
        Route("/incidents/{incident_id}/live", live_fragment, methods=["GET"]),
        Route("/incidents/{incident_id}/{action}", act, methods=["POST"]),
    ]
