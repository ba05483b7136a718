"""Operator API of the analysis stage (behind the API key middleware like every operator path).

    GET  /intelligence/providers/                   configured providers (never a key) and the active one
    POST /intelligence/providers/                   add or replace one: {"name", "kind", "base_url", "model",
                                                    "api_key", "timeout_s", "max_concurrency", "options", "activate"}
    POST /intelligence/providers/{name}/activate    make it active (`local`: the built-in rules)
    GET  /intelligence/recommendations/?incident_id=…   the incident's analyses, newest first
    GET  /intelligence/health/?window=15m           per provider: outcomes, fallback rate, latency, tokens

Workers pick up provider changes within ALERTSTREAM_ANALYSIS_REFRESH_S.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.config import ConfigError
from alertstream.secrets import Secret
from alertstream.storage import analyses
from alertstream.storage import providers as store
from alertstream.storage.sealed import keyring_for
from alertstream.streams.analysis.base import ProviderConfig
from alertstream.streams.analysis.registry import validate
from alertstream.streams.lanes import LaneError, parse_duration

from ..responses import EdgeError, JSONResponse
from . import ApiContext

MAX_BODY = 16 * 1024
DEGRADED_FALLBACK_RATE = 0.5


def _provider_config(doc: Any) -> tuple[ProviderConfig, bool]:
    if not isinstance(doc, dict):
        raise EdgeError(400, "the body must be a JSON object")
    strings = {k: doc.get(k, "") for k in ("name", "kind", "base_url", "model", "api_key")}
    bad = [k for k, v in strings.items() if not isinstance(v, str)]
    numbers = {"timeout_s": doc.get("timeout_s", 10.0), "max_concurrency": doc.get("max_concurrency", 4)}
    bad += [k for k, v in numbers.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if not isinstance(doc.get("options", {}), dict) or not isinstance(doc.get("activate", False), bool):
        bad += ["options or activate"]
    if bad:
        raise EdgeError(400, "wrong field types", fields=bad)
    if any("\x00" in v for v in strings.values()):  # PostgreSQL text cannot hold NUL
        raise EdgeError(400, "text fields must not contain NUL")
    config = ProviderConfig(
        strings["name"], strings["kind"], strings["base_url"], strings["model"], Secret(strings["api_key"]),
        float(numbers["timeout_s"]), int(numbers["max_concurrency"]), dict(doc.get("options", {})),
    )
    return config, bool(doc.get("activate", False))


def routes(ctx: ApiContext) -> list[BaseRoute]:
    async def list_providers(request: Request) -> Response:
        rows = await store.list_all(await ctx.pool())
        active = next((r.name for r in rows if r.active), "local")
        return JSONResponse({"active": active, "providers": [r.public() for r in rows]})

    async def add_provider(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return EdgeError(413, "body too large", limit=MAX_BODY).response()
        try:
            doc = orjson.loads(body)
            config, activate = _provider_config(doc)
            validate(config, ctx.settings.analysis.allow)
            key = config.api_key.reveal()
            sealed = store.seal_key(keyring_for(ctx.settings), config.name, key) if key else None
        except orjson.JSONDecodeError:
            return EdgeError(400, "the body must be JSON").response()
        except EdgeError as exc:
            return exc.response()
        except ConfigError as exc:  # no keyring at the edge: an operator problem, not the caller's
            return EdgeError(503, "cannot seal the API key", hint=str(exc)).response()
        except ValueError as exc:
            return EdgeError(400, str(exc)).response()
        pool = await ctx.pool()
        await store.upsert(pool, store.ProviderRow(
            config.name, config.kind, config.base_url, config.model, sealed, config.timeout_s,
            config.max_concurrency, dict(config.options)), keep_key=sealed is None)
        if activate:
            await store.activate(pool, config.name)
        row = await store.get(pool, config.name)
        assert row is not None
        return JSONResponse(row.public(), status_code=201)

    async def activate_provider(request: Request) -> Response:
        name = request.path_params["name"]
        if "\x00" in name:  # PostgreSQL text cannot hold NUL: no such provider can exist
            return EdgeError(404, "no such provider").response()
        pool = await ctx.pool()
        target = None if name == "local" and await store.get(pool, "local") is None else name
        if not await store.activate(pool, target):
            return EdgeError(404, "no such provider", name=name).response()
        return JSONResponse({"active": name})

    async def recommendations(request: Request) -> Response:
        incident_id = request.query_params.get("incident_id", "").strip()
        if not incident_id or len(incident_id) > 200:
            return EdgeError(400, "incident_id is required", hint="/intelligence/recommendations/?incident_id=…"
                             ).response()
        if "\x00" in incident_id:  # PostgreSQL text cannot hold NUL
            return EdgeError(400, "incident_id must not contain NUL").response()
        found = await analyses.for_incident(await ctx.pool(), incident_id)
        if not found:
            return EdgeError(404, "no analysis for this incident", incident_id=incident_id).response()
        latest = next((a for a in found if a["status"] in ("ok", "fallback")), found[0])
        return JSONResponse({"incident_id": incident_id, "latest": latest, "analyses": found})

    async def health(request: Request) -> Response:
        raw = request.query_params.get("window", "15m")
        try:
            window = parse_duration(raw, "window")
        except (LaneError, OverflowError):  # OverflowError: more seconds than a timedelta holds
            return EdgeError(400, "window must be a duration like 15m or 1h", window=raw).response()
        if not timedelta(0) < window <= timedelta(days=7):
            return EdgeError(400, "window must be more than 0 and at most 7d", window=raw).response()
        pool = await ctx.pool()
        active = await store.active(pool)
        stats = await analyses.health(pool, datetime.now(UTC) - window)
        return JSONResponse(health_report(active, stats, window, ctx.settings.worker.analysis_deadline_s))

    return [
        Route("/intelligence/providers/", list_providers, methods=["GET"]),
        Route("/intelligence/providers/", add_provider, methods=["POST"]),
        Route("/intelligence/providers/{name}/activate", activate_provider, methods=["POST"]),
        Route("/intelligence/recommendations/", recommendations, methods=["GET"]),
        Route("/intelligence/health/", health, methods=["GET"]),
    ]


def health_report(active: store.ProviderRow | None, stats: list[dict[str, Any]], window: timedelta,
                  deadline_s: float) -> dict[str, Any]:
    """degraded when the active provider mostly fell back or missed the deadline in the window. Pure."""
    name = active.name if active else "local"
    for row in stats:
        total = row["analyses"] or 1
        row["fallback_rate"] = round(row["fallback"] / total, 3)
        row["past_deadline_rate"] = round(row["past_deadline"] / total, 3)
    mine = [r for r in stats if r["provider"] == name]
    status = "idle" if not mine else "ok"
    if any(r["fallback_rate"] > DEGRADED_FALLBACK_RATE or r["past_deadline_rate"] > DEGRADED_FALLBACK_RATE
           for r in mine):
        status = "degraded"
    return {
        "status": status, "active": {"name": name, "kind": active.kind if active else "local",
                                     "model": active.model if active else ""},
        "deadline_s": deadline_s, "window_s": int(window.total_seconds()), "providers": stats,
    }
