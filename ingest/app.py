"""The HTTP edge. Routes, lifespan and composition live here; each step is a small module."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alertstream.config import Settings
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert

from . import drivers
from .accept import build_records, choose_driver, parse_alerts
from .body import decode_json_object, read_limited, require_json_content_type
from .publisher import PublishError, Publisher
from .readiness import Readiness
from .responses import EdgeError, JSONResponse

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_redaction(alert: NormalizedAlert) -> NormalizedAlert:
    return alert


class Edge:
    """The request handlers, holding what they share: settings, codec, publisher."""

    def __init__(self, settings: Settings, publisher: Publisher, readiness: Readiness) -> None:
        self.settings = settings
        self.publisher = publisher
        self.readiness = readiness
        self.codec = Codec()
        self.redact = _no_redaction

    async def webhook_info(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "drivers": [d.NAME for d in drivers.DRIVERS]})

    async def webhook(self, request: Request) -> Response:
        received_at = _utcnow()
        trace_id = uuid.uuid4().hex
        try:
            require_json_content_type(request)
            raw = await read_limited(request, self.settings.edge.max_body_bytes)
            payload = decode_json_object(raw)
            driver = choose_driver(payload, request.path_params.get("driver"))
            alerts = parse_alerts(driver, payload, received_at, self.settings.edge.max_alerts_per_request)
            records, accepted = build_records(
                alerts,
                codec=self.codec,
                trace_id=trace_id,
                run_id=self.settings.run_id,
                received_at=received_at,
                new_id=lambda: uuid.uuid4().hex,
                redact=self.redact,
                now=_utcnow,
            )
        except EdgeError as exc:
            return exc.response()
        try:
            await self.publisher.publish(records)
        except PublishError as exc:
            log.warning("publish failed trace_id=%s: %s", trace_id, exc)
            return JSONResponse(
                {"error": "broker unavailable", "trace_id": trace_id, "hint": "nothing was accepted; retry"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"status": "accepted", "trace_id": trace_id, "alerts": accepted}, status_code=202)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks = await self.readiness.check()
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


def create_app(settings: Settings, publisher: Publisher | None = None, readiness: Readiness | None = None) -> Starlette:
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings.kafka)
    edge = Edge(settings, publisher, readiness or Readiness(publisher, settings.database_url))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await edge.readiness.close()
        if own_publisher:
            await asyncio.to_thread(publisher.close)

    routes = [
        Route("/alerts/webhook/", edge.webhook_info, methods=["GET"]),
        Route("/alerts/webhook/", edge.webhook, methods=["POST"]),
        Route("/alerts/webhook/{driver}/", edge.webhook, methods=["POST"]),
        Route("/healthz", edge.healthz, methods=["GET"]),
        Route("/readyz", edge.readyz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.edge = edge
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: each edge worker process builds its settings once, here."""
    return create_app(Settings.from_env())
