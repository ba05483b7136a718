"""The HTTP edge. Routes, lifespan and composition live here; each step is a small module."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.config import Settings
from alertstream.edge_chain import EdgeChain
from alertstream.heap import freeze_startup_heap
from alertstream.ids import new_id
from alertstream.logs import trace_context
from alertstream.metrics import CONTENT_TYPE_LATEST, EdgeMetrics, render
from alertstream.redaction import redact_alert
from alertstream.schemas.codec import Codec
from alertstream.schemas.topics import AUDIT_REFS
from alertstream.storage import apikeys as key_store

from . import drivers
from .accept import build_records, choose_driver, parse_alerts
from .api import API_MODULES, ApiContext
from .apikeys import KeyCache
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
from .client_ip import TrustedProxies
from .middleware import ApiKeyMiddleware, RateLimitMiddleware, limits_from_json
from .middleware.apikeys import WEBHOOK_PREFIX
from .publisher import OutRecord, Publisher, PublishError
from .ratelimit import MemoryBackend, RateLimiter, RedisBackend
from .readiness import Readiness
from .responses import EdgeError, JSONResponse

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self.metrics = EdgeMetrics()
        self.redact = redact_alert
        self.chain = EdgeChain.for_run("received", "edge", settings.run_id)  # docs/audit.md: the edge's chains

    async def webhook_info(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "drivers": [d.NAME for d in drivers.DRIVERS]})

    def signature_may_admit(self, path: str) -> bool:
        """Whether a keyless webhook POST to `path` could be admitted by its source's policy (ApiKeyMiddleware)."""
        source = path[len(WEBHOOK_PREFIX):].strip("/")
        if not source:
            return any(policy.schemes for policy in self.policies.values())
        policy = self.policies.get(source)
        return policy is not None and bool(policy.schemes)

    @staticmethod
    def _key_may_send(request: Request, source: str) -> None:
        key = getattr(request.state, "api_key", None)
        if key is not None and not key.allows_source(source):
            raise EdgeError(403, "API key not allowed for this source", source=source, key=key.name)

    async def _authenticate(self, source: str, request: Request, raw: bytes) -> AuthDecision:
        decision = await authenticate(
            self.policies.get(source), request.headers, raw, now=time.time(), replay_store=self.replay_store
        )
        if not decision.ok:
            raise EdgeError(decision.status, decision.reason, decision.headers, source=source)
        if decision.reason != "verified" and getattr(request.state, "api_key", None) is None:
            # Only a verified source credential stands in for an API key; "no policy" or
            # "not required" does not (SECURITY.md: API keys and source signatures).
            raise EdgeError(401, "missing API key", {"WWW-Authenticate": 'Bearer realm="alertstream"'},
                            source=source, hint="send Authorization: Bearer <key> or X-API-Key: <key>")
        return decision

    async def webhook(self, request: Request) -> Response:
        trace_id = new_id()
        started = time.perf_counter()
        with trace_context(trace_id):
            response = await self._webhook(request, trace_id)
        self.metrics.observe(
            driver=getattr(request.state, "driver", ""), status=response.status_code,
            seconds=time.perf_counter() - started, alerts=getattr(request.state, "accepted", 0),
        )
        return response

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(render(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _webhook(self, request: Request, trace_id: str) -> Response:
        received_at = _utcnow()
        forced = request.path_params.get("driver")
        decision: AuthDecision | None = None
        try:
            require_json_content_type(request)
            if forced is not None:
                choose_driver({}, forced)  # 404 before reading a body for a driver that does not exist
                self._key_may_send(request, forced)
            raw = await read_limited(request, self.settings.edge.max_body_bytes)
            if forced is not None:
                # A forced driver names its source up front: verify before the body is parsed at all.
                decision = await self._authenticate(forced, request, raw)
            payload = decode_json_object(raw)
            driver = choose_driver(payload, forced)
            request.state.driver = driver.NAME
            if decision is None:
                # Auto-detection needs the JSON; the source is verified before anything is normalized.
                self._key_may_send(request, driver.NAME)
                decision = await self._authenticate(driver.NAME, request, raw)
            alerts = parse_alerts(driver, payload, received_at, self.settings.edge.max_alerts_per_request)
        except EdgeError as exc:
            return exc.response()
        if not alerts:
            return JSONResponse({"status": "accepted", "trace_id": trace_id, "alerts": []}, status_code=202)
        # From the first link to the broker's answer, nothing yields to another request until publish():
        # this request's refs (after any declarations of abandoned chains) are seqs first_seq.. of `chain`.
        chain = self.chain.current
        first_seq, declared = chain.head.seq + 1, self.chain.declarations()
        try:
            declarations = self.chain.link_declarations(declared, self.settings.run_id, _utcnow())
            records, accepted = build_records(
                alerts,
                codec=self.codec,
                trace_id=trace_id,
                run_id=self.settings.run_id,
                received_at=received_at,
                new_id=new_id,
                redact=self.redact,
                now=_utcnow,
                chain=chain,
            )
            key = chain.chain_id.encode()
            await self.publisher.publish([*(OutRecord(AUDIT_REFS.name, key, self.codec.encode(ref))
                                            for ref in declarations), *records])
        except PublishError as exc:
            log.warning("publish failed trace_id=%s: %s", trace_id, exc)
            self.chain.failed(chain.chain_id, first_seq, declared, str(exc), trace_id)
            if decision is not None and decision.replay_key:
                # Not accepted, so the sender's retry (same webhook-id) must not count as a replay.
                await self.replay_store.forget(decision.replay_key)
            return JSONResponse(
                {"error": "broker unavailable", "trace_id": trace_id, "hint": "nothing was accepted; retry"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        except BaseException:  # linked but perhaps not published: declared like a refused publish
            self.chain.failed(chain.chain_id, first_seq, declared, "not published", trace_id)
            raise
        self.chain.published(declared)
        request.state.accepted = len(accepted)
        return JSONResponse({"status": "accepted", "trace_id": trace_id, "alerts": accepted}, status_code=202)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks = await self.readiness.check()
        ok = all(checks.values())
        body = {"status": "ready" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)


async def _client_closed(request: Request, exc: Exception) -> Response:
    # The sender hung up mid-body (a load generator stopping, a vendor's timeout): nothing was
    # accepted and nobody reads the answer, so it is no error worth a traceback, on any route.
    return JSONResponse({"error": "client closed the request"}, status_code=499)


def _replay_store(settings: Settings) -> ReplayStore:
    return RedisReplayStore.from_url(settings.redis_url) if settings.redis_url else MemoryReplayStore()


def _rate_limiter(settings: Settings) -> tuple[RateLimiter, Redis | None]:
    limits = limits_from_json(settings.edge.rate_limits)
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        return RateLimiter(limits, RedisBackend(redis)), redis
    if settings.edge.workers > 1:
        log.warning("REDIS_URL is not set and %d edge workers run: each counts rate limits on its own, "
                    "so a caller gets up to %d times its limit", settings.edge.workers, settings.edge.workers)
    return RateLimiter(limits, MemoryBackend()), None


def create_app(settings: Settings, publisher: Publisher | None = None, readiness: Readiness | None = None) -> Starlette:
    limiter, limiter_redis = _rate_limiter(settings)  # a bad setting fails start-up before anything opens
    proxies = TrustedProxies(settings.edge.trusted_proxies)
    own_publisher = publisher is None
    publisher = publisher or Publisher(settings.kafka)
    policies = read_policies(settings.edge.auth_policies_path) if settings.edge.auth_policies_path else {}
    edge = Edge(
        settings, publisher, readiness or Readiness(publisher, settings.database_url), policies,
        _replay_store(settings),
    )
    api = ApiContext(settings, publisher, edge.codec)

    async def load_keys() -> dict[str, key_store.ActiveKey]:
        return await key_store.load_active(await api.pool())

    async def write_usage(used: Mapping[str, datetime]) -> None:
        await key_store.record_last_used(await api.pool(), used)

    keys = KeyCache(load_keys, write_usage, ttl=settings.edge.api_key_cache_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A fresh idempotent producer's first delivery waits ~500 ms for its producer id unless it has
        # talked to the broker already: the first webhook after every start paid it. In the
        # background, so that an edge whose broker is down still starts and says so on /readyz.
        connecting = asyncio.create_task(asyncio.to_thread(publisher.ping, 5.0)) if own_publisher else None
        yield
        if connecting is not None:
            with contextlib.suppress(Exception):  # it only warms the producer; shutdown goes on
                await connecting  # a thread cannot be cancelled: at most ping's timeout
        with contextlib.suppress(Exception):  # last-used times are bookkeeping; shutdown goes on
            await keys.flush()
        await edge.readiness.close()
        await api.close()
        if limiter_redis is not None:
            await limiter_redis.aclose()
        if own_publisher:
            await asyncio.to_thread(publisher.close)

    routes: list[BaseRoute] = [
        Route("/alerts/webhook/", edge.webhook_info, methods=["GET"]),
        Route("/alerts/webhook/", edge.webhook, methods=["POST"]),
        Route("/alerts/webhook/{driver}/", edge.webhook, methods=["POST"]),
        Route("/healthz", edge.healthz, methods=["GET"]),
        Route("/readyz", edge.readyz, methods=["GET"]),
        Route("/metrics", edge.metrics_endpoint, methods=["GET"]),
    ]
    for module in API_MODULES:
        routes.extend(importlib.import_module(module).routes(api))
    middleware = [
        Middleware(ApiKeyMiddleware, keys=keys, signature_may_admit=edge.signature_may_admit),
        Middleware(RateLimitMiddleware, limiter=limiter, proxies=proxies),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={ClientDisconnect: _client_closed})
    app.state.edge = edge
    app.state.keys = keys
    app.state.limiter = limiter
    app.state.api = api
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: each edge worker process builds its settings and app once, here, and then
    keeps what it built out of the garbage collector's way (alertstream/heap.py)."""
    app = create_app(Settings.from_env())
    freeze_startup_heap()
    return app
