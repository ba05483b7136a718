"""Console pages for the notify side: channels with a "send test" button (never their
settings: only name, type, state and a host summary) and the delivery ledger with retry."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alertstream.notify.channels import channels_from_settings, summary
from alertstream.storage import channels as channel_store
from alertstream.storage import deliveries as delivery_store

from . import actions
from .forms import FormError, read_form
from .render import Console
from .session import PREFIX

DELIVERY_LIMIT = 200


def routes(console: Console) -> list[BaseRoute]:
    api = console.api

    async def channel_rows() -> list[dict[str, Any]]:
        env = [{"name": c.name, "type": c.type, "enabled": True, "summary": summary(c), "source": "environment"}
               for c in channels_from_settings(api.settings.worker).values()]
        stored = [{**c.public(), "source": "stored"} for c in await channel_store.list_channels(await api.pool())]
        return env + stored

    async def channels_page(request: Request) -> Response:
        return console.render(request, "channels.html", channels=await channel_rows(), result=None)

    async def send_test(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            await read_form(request, request.state.csrf)
            ok, what = await actions.send_channel_test(api, name, console.clock())
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        except actions.Refused as exc:
            return console.error(request, exc.status, exc.message)
        return console.render(request, "channels.html", status=200 if ok else 502, channels=await channel_rows(),
                              result={"channel": name, "ok": ok, "what": what})

    async def deliveries_page(request: Request, status: int = 200, error: str = "") -> Response:
        wanted = request.query_params.get("status", "").strip()
        incident = request.query_params.get("incident", "").strip()[:200]
        problem = ""
        if wanted and wanted not in delivery_store.STATUSES:
            problem, wanted = f"status must be one of {', '.join(delivery_store.STATUSES)}", ""
        rows = await delivery_store.list_deliveries(await api.pool(), incident_id=incident or None,
                                                    status=wanted or None, limit=DELIVERY_LIMIT)
        return console.render(request, "deliveries.html", status=400 if problem and status == 200 else status,
                              deliveries=rows, wanted=wanted, incident=incident, error=error or problem,
                              statuses=delivery_store.STATUSES, limit=DELIVERY_LIMIT)

    async def deliveries_show(request: Request) -> Response:
        return await deliveries_page(request)

    async def retry(request: Request) -> Response:
        try:
            await read_form(request, request.state.csrf)
        except FormError as exc:
            return console.error(request, exc.status, exc.message)
        try:
            await actions.retry_delivery(api, request.path_params["key"], console.clock())
        except actions.Refused as exc:
            return await deliveries_page(request, status=exc.status, error=exc.message)
        return RedirectResponse(f"{PREFIX}/deliveries?flash=retried", status_code=303)

    return [
        Route("/channels", channels_page, methods=["GET"]),
        Route("/channels/{name}/test", send_test, methods=["POST"]),
        Route("/deliveries", deliveries_show, methods=["GET"]),
        Route("/deliveries/{key}/retry", retry, methods=["POST"]),
    ]
