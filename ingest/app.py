"""The HTTP edge. Routes, lifespan and composition live here; each step is a small module."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.config import Settings

from . import drivers
from .accept import build_records, choose_driver, parse_alerts
from .api import API_MODULES, ApiContext
from .auth import (
    AuthDecision,
    MemoryReplayStore,
    RedisReplayStore,
    ReplayStore,
    SourcePolicy,
    authenticate,
    read_policies,
)
from .body import decode_json_object, read_limited, require_json_content_type
from .publisher import Publisher, PublishError
from .readiness import Readiness
from .responses import EdgeError, JSONResponse

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_redaction(alert: NormalizedAlert) -> NormalizedAlert:
    return alert


class Edge:
    """The webhook handlers, holding what they share: settings, codec, publisher, auth policies."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        readiness: Readiness,
        policies: dict[str, SourcePolicy],
        replay_store: ReplayStore,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.readiness = readiness
        self.policies = policies
        self.replay_store = replay_store
        self.codec = Codec()
        self.redact = _no_redaction

    async def webhook_info(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "drivers": [d.NAME for d in drivers.DRIVERS]})

    async def _authenticate(self, source: str, request: Request, raw: bytes) -> AuthDecision:
        decision = await authenticate(
            self.policies.get(source), request.headers, raw, now=time.time(), replay_store=self.replay_store
        )
        if not decision.ok:
            raise EdgeError(decision.status, decision.reason, decision.headers, source=source)
        return decision

    async def webhook(self, request: Request) -> Response:
        received_at = _utcnow()
        trace_id = uuid.uuid4().hex
        forced = request.path_params.get("driver")
        decision: AuthDecision | None = None
        try:
            require_json_content_type(request)
            if forced is not None:
                choose_driver({}, forced)  # 404 before reading a body for a driver that does not exist
            raw = await read_limited(request, self.settings.edge.max_body_bytes)
            if forced is not None:
                # A forced driver names its source up front: verify before the body is parsed at all.
                decision = await self._authenticate(forced, request, raw)
            payload = decode_json_object(raw)
            driver = choose_driver(payload, forced)
            if decision is None:
                # Auto-detection needs the JSON; the source is verified before anything is normalized.
                decision = await self._authenticate(driver.NAME, request, raw)
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
        if not records:
            return JSONResponse({"status": "accepted", "trace_id": trace_id, "alerts": []}, status_code=202)
        try:
            await self.publisher.publish(records)
        except PublishError as exc:
            log.warning("publish failed trace_id=%s: %s", trace_id, exc)
            if decision is not None and decision.replay_key:
                # Not accepted, so the sender's retry (same webhook-id) must not count as a replay.
                await self.replay_store.forget(decision.replay_key)
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
        body = {"status": "ready" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)


def _replay_store(settings: Settings) -> ReplayStore:
    return RedisReplayStore.from_url(settings.redis_url) if settings.redis_url else MemoryReplayStore()


def create_app(settings: Settings, publisher: Publisher | None = None, readiness: Readiness | None = None) -> Starlette:
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings.kafka)
    policies = read_policies(settings.edge.auth_policies_path) if settings.edge.auth_policies_path else {}
    edge = Edge(
        settings, publisher, readiness or Readiness(publisher, settings.database_url), policies,
        _replay_store(settings),
    )
    api = ApiContext(settings, publisher, edge.codec)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await edge.readiness.close()
        await api.close()
        if own_publisher:
            await asyncio.to_thread(publisher.close)

    routes: list[BaseRoute] = [
        Route("/alerts/webhook/", edge.webhook_info, methods=["GET"]),
        Route("/alerts/webhook/", edge.webhook, methods=["POST"]),
        Route("/alerts/webhook/{driver}/", edge.webhook, methods=["POST"]),
        Route("/healthz", edge.healthz, methods=["GET"]),
        Route("/readyz", edge.readyz, methods=["GET"]),
    ]
    for module in API_MODULES:
        routes.extend(importlib.import_module(module).routes(api))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.edge = edge
    app.state.api = api
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: each edge worker process builds its settings once, here."""
    return create_app(Settings.from_env())
