"""The shadow app is the production topology with notify, storage and the database taken out,
and every topic renamed shadow.*: built, not run (the run is in tests/test_replay_reprocess.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from alertstream.config import Settings
from alertstream.errors import Permanent
from alertstream.reprocess import child_env
from alertstream.streams.shadow import LocalAnalysisService, ShadowContext
from alertstream.streams.topology import build_app


def _subscribed(app) -> set[str]:  # type: ignore[no-untyped-def]
    names: set[str] = set()
    for agent in app.agents.values():
        names.update(agent.channel.topics)
    return names


def test_shadow_app_runs_check_and_analyze_only_on_shadow_topics() -> None:
    settings = Settings(run_id="test")
    app = build_app(settings, shadow=True)
    assert set(app.agents) == {"check_dedup", "check_incidents", "analyze"}  # no notify, no store, no actions
    assert _subscribed(app) == {"shadow.alerts.normalized", "shadow.alerts.changes", "shadow.incidents.events"}
    ctx = app.stage_context
    assert isinstance(ctx, ShadowContext)
    assert all(topic.get_topic_name().startswith("shadow.") for topic in ctx.topics.values())
    assert "notifications.results" not in ctx.topics and "silences" not in ctx.topics
    # Batch outputs go through one producer by topic name: the stages' names map to the shadow topics.
    assert ctx.topic_name("incidents.events") == "shadow.incidents.events"
    assert ctx.topic_name("audit.refs") == "shadow.audit.refs"
    with pytest.raises(KeyError):
        ctx.topic_name("notifications.results")
    with pytest.raises(Permanent, match="never touches PostgreSQL"):
        asyncio.run(ctx.pool())


def test_production_app_keeps_its_topics_and_stages() -> None:
    app = build_app(Settings(run_id="test"))
    names = set(app.agents)
    assert {"check_dedup", "check_actions", "check_incidents", "analyze", "notify"} <= names
    assert app.storage_consumer._names["audit.refs"] == "audit.refs"  # stored from production's own topics
    # Each check agent's progress marks live in its own state table: one changelog partition with its rows.
    dedup, incident = app.gap_guards
    assert dedup.progress is app.tables["alert_state"] and incident.progress is app.tables["incidents"]
    assert not any(t.startswith("shadow.") for t in _subscribed(app))
    assert app.stage_context.topic_name("incidents.events") == "incidents.events"


def test_local_analysis_service_never_loads_a_provider_nor_stores() -> None:
    async def go() -> str:
        service = LocalAnalysisService(Settings(run_id="test"), _no_pool)
        service.start()
        await service.refresh()
        await service.save(None, None)  # type: ignore[arg-type]
        provider = service.analyzer.provider
        await service.close()
        return provider

    assert asyncio.run(go()) == "local"


async def _no_pool():  # type: ignore[no-untyped-def]
    raise AssertionError("the shadow analysis service asked for the database")


def test_the_shadow_worker_gets_its_own_identity_and_no_database(tmp_path: Path) -> None:
    settings = Settings(run_id="prod")
    env = child_env(settings, {"DATABASE_URL": "postgresql://prod", "PATH": "/bin"}, "as-shadow-ab12", "ab12",
                    tmp_path)
    assert "DATABASE_URL" not in env and env["PATH"] == "/bin"
    assert env["ALERTSTREAM_APP_ID"] == "as-shadow-ab12" and env["ALERTSTREAM_RUN_ID"] == "shadow-ab12"
    assert env["ALERTSTREAM_WORKER_METRICS_PORT"] == "0" and float(env["ALERTSTREAM_REBALANCE_TIMEOUT_S"]) <= 3
