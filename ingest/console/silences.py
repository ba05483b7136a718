"""Console page for silences: the list (active, pending, waiting; expired on request),
a form to create one, and a button to expire one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alertstream.storage import silences as silence_store
from alertstream.streams.silences import state_of

from . import actions
from .forms import FormError, read_form
from .render import Console
from .session import PREFIX


def routes(console: Console) -> list[BaseRoute]:
    api = console.api

    async def page(
        request: Request, status: int = 200, error: str = "", form: dict[str, str] | None = None
    ) -> Response:
        now = console.clock()
        include_expired = request.query_params.get("all", "") in ("1", "true", "yes")
        async with (await api.pool()).connection() as conn:
            found = await silence_store.listing(conn, now, include_expired)
        rows = [(s, state_of(s, now)) for s in found]
        return console.render(request, "silences.html", status=status, silences=rows, error=error,
                              form=form or {}, include_expired=include_expired)

    async def show(request: Request) -> Response:
        return await page(request)

    async def create(request: Request) -> Response:
        try:
            form = await read_form(request, request.state.csrf)
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        try:
            await actions.create_silence(
                api, matchers=form.get("matchers", ""), duration=form.get("duration", ""),
                comment=form.get("comment", ""), actor=f"console:{request.state.console_user}", now=console.clock(),
            )
        except actions.Refused as exc:
            return await page(request, status=exc.status, error=exc.message, form=form)
        return RedirectResponse(f"{PREFIX}/silences?flash=silence-created", status_code=303)

    async def expire(request: Request) -> Response:
        try:
            await read_form(request, request.state.csrf)
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        try:
            await actions.expire_silence(api, request.path_params["silence_id"], console.clock())
        except actions.Refused as exc:
            return await page(request, status=exc.status, error=exc.message)
        return RedirectResponse(f"{PREFIX}/silences?flash=silence-expired", status_code=303)

    return [
        Route("/silences", show, methods=["GET"]),
        Route("/silences", create, methods=["POST"]),
        Route("/silences/{silence_id}/expire", expire, methods=["POST"]),
    ]
