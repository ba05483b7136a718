"""The analyze stage's deadline, without a broker: a slow provider never holds the
published analysis (and so the page) past the deadline; a late answer is stored, and
published as an update only when the lane asks for one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from alertstream.config import Settings
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import Analysis
from alertstream.secrets import Secret
from alertstream.streams.analysis.base import ProviderConfig
from alertstream.streams.analysis.service import FOLLOW_UP_STAGE, AnalysisService, parse_output_ref
from alertstream.streams.analyze import analyze_one, lane_deadline, remaining_deadline

from .analysis.fakes import Answer, FakeModel, fake_model
from .analysis.incidents import alert, incident

EVENT = incident(alert("HighLatency", labels={"instance": "api-1:9100", "service": "api"},
                       annotations={"summary": "p99 latency above 2s"}))


class FakeContext:
    """What analyze_one needs of a StageContext: send and ref, recorded with their time."""

    def __init__(self) -> None:
        self.codec = Codec()
        self.sent: list[tuple[float, Analysis]] = []
        self.refs: list[dict[str, Any]] = []

    async def send(self, topic: str, key: str, record: Any) -> bytes:
        assert topic == "incidents.analyses" and key == record.incident.incident_id
        self.sent.append((time.monotonic(), record))
        return self.codec.encode(record)

    async def ref(self, **kwargs: Any) -> None:
        self.refs.append(kwargs)


async def no_database() -> Any:
    raise OSError("no database in this test")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
async def service(server: FakeModel) -> AsyncIterator[AnalysisService]:
    settings = Settings.from_env({"ALERTSTREAM_ANALYSIS_ALLOW": "127.0.0.1"})
    svc = AnalysisService(settings, no_database)
    svc.analyzer.configure(ProviderConfig("slow-openai", "openai", server.url + "/v1", "gpt-test", Secret("k"),
                                          timeout_s=5.0, revision="1"))
    yield svc
    await svc.close()


async def test_slow_provider_is_cut_off_at_the_deadline(server: FakeModel, service: AnalysisService) -> None:
    server.script(Answer(delay_s=1.5))
    ctx = FakeContext()
    started = time.monotonic()
    published = await analyze_one(ctx, service, EVENT, budget_s=0.3)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.8
    assert (published.status, published.reason, published.provider) == ("unavailable", "deadline", "slow-openai")
    assert [a.status for _, a in ctx.sent] == ["unavailable"]
    assert ctx.refs[0]["status"] == "skipped" and ctx.refs[0]["error"] == "deadline"
    # The late answer is stored and cached, not published (the lane did not ask).
    await asyncio.sleep(1.6)
    assert len(ctx.sent) == 1
    again = await analyze_one(ctx, service, incident(*EVENT.alerts, incident_id="inc-9"), budget_s=0.3)  # type: ignore[arg-type]
    assert again.status == "ok" and again.cache_hit and len(server.requests) == 1


async def test_lane_that_asks_gets_a_follow_up(server: FakeModel, service: AnalysisService) -> None:
    server.script(Answer(delay_s=0.8))
    ctx = FakeContext()
    event = incident(*EVENT.alerts, incident_id="inc-f", stages=("analyze", FOLLOW_UP_STAGE, "notify"))
    first = await analyze_one(ctx, service, event, budget_s=0.2)  # type: ignore[arg-type]
    assert first.status == "pending"
    for _ in range(40):
        if len(ctx.sent) == 2:
            break
        await asyncio.sleep(0.1)
    (_, pending), (_, update) = ctx.sent
    assert update.follow_up and update.status == "ok" and update.analysis_id != pending.analysis_id
    assert update.confidence == 0.83 and update.tokens_in == 120
    ref_id, facts = parse_output_ref(ctx.refs[1]["output_ref"])
    assert ref_id == update.analysis_id
    assert facts["provider"] == "slow-openai" and facts["model"] == "gpt-test" and facts["tokens_in"] == "120"
    assert facts["prompt_sha256"] == update.prompt_sha256 and len(facts["response_sha256"]) == 64


async def test_fast_provider_is_published_with_its_facts(server: FakeModel, service: AnalysisService) -> None:
    server.script(Answer())
    ctx = FakeContext()
    published = await analyze_one(ctx, service, incident(*EVENT.alerts, incident_id="inc-fast"), budget_s=2)  # type: ignore[arg-type]
    assert published.status == "ok" and published.provider == "slow-openai" and published.latency_ms < 2000
    assert ctx.refs[0]["status"] == "ok" and ctx.refs[0]["error"] is None


async def test_rules_alone_are_immediate_and_skipped_lanes_say_so() -> None:
    svc = AnalysisService(Settings(), no_database)
    ctx = FakeContext()
    ok = await analyze_one(ctx, svc, EVENT, budget_s=0)  # type: ignore[arg-type]
    assert (ok.status, ok.provider, ok.category) == ("ok", "local", "latency") and ok.recommendations
    skipped = await analyze_one(ctx, svc, incident(*EVENT.alerts, stages=("notify",)), budget_s=1)  # type: ignore[arg-type]
    assert skipped.status == "skipped"
    await svc.close()


def test_a_lane_deadline_overrides_the_worker_default() -> None:
    assert lane_deadline(None, 2.0) == 2.0
    assert lane_deadline(0.5, 2.0) == 0.5
    assert lane_deadline(0.0, 2.0) == 0.0  # a lane that never waits for a remote provider


def test_remaining_deadline_counts_from_when_the_event_was_produced() -> None:
    assert remaining_deadline(2.0, None, 100.0) == 2.0
    assert remaining_deadline(2.0, 99.5, 100.0) == 1.5
    assert remaining_deadline(2.0, 90.0, 100.0) == 0.0  # a backlog: the page goes at once
    assert remaining_deadline(2.0, 101.0, 100.0) == 2.0  # a producer clock ahead of ours


async def test_a_bug_in_the_analysis_never_costs_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from alertstream.streams.analysis import engine

    def broken(event: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(engine.local, "analyze", broken)
    svc = AnalysisService(Settings(), no_database)
    ctx = FakeContext()
    published = await analyze_one(ctx, svc, EVENT, budget_s=1)  # type: ignore[arg-type]
    assert (published.status, published.reason) == ("unavailable", "bug")
    assert [a.status for _, a in ctx.sent] == ["unavailable"]
    await svc.close()
