"""Every model provider against a local server speaking its wire protocol: request
shape, documented responses, slow answers, HTTP errors, malformed JSON, and the
budgets around them (repair, fallback, breaker, cache, concurrency, SSRF)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

from alertstream.secrets import Secret
from alertstream.ssrf import guarded_client
from alertstream.streams.analysis import local
from alertstream.streams.analysis.base import ProviderConfig
from alertstream.streams.analysis.engine import Analyzer

from .fakes import GOOD, Answer, FakeModel, fake_model
from .incidents import alert, incident

KEY = "sk-test-0123456789abcdef0123"
SECRET_IN_ALERT = "hunter2-very-secret"
EVENT = incident(alert(
    "disk", source="cluster", labels={"hostname": "web-1", "check": "disk", "mountpoint": "/var",
                                      "db_password": SECRET_IN_ALERT},
    annotations={"metric.used_pct": "91.5", "message": f"/var is 91.5% full (connect with password={SECRET_IN_ALERT})"},
))
KINDS = {
    "openai": dict(base="/v1", model="gpt-4o-mini"),
    "anthropic": dict(base="", model="claude-sonnet-4-5"),
    "gemini": dict(base="/v1beta", model="gemini-2.0-flash"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[object]:
    async with guarded_client(["127.0.0.1"]) as http:
        yield http


def config(server: FakeModel, kind: str, **overrides: object) -> ProviderConfig:
    values: dict[str, object] = dict(
        name=f"test-{kind}", kind=kind, base_url=server.url + KINDS[kind]["base"], model=KINDS[kind]["model"],
        api_key=Secret(KEY), timeout_s=2.0, max_concurrency=4, revision="r1",
    )
    values.update(overrides)
    return ProviderConfig(**values)  # type: ignore[arg-type]


def analyzer(client: object, cfg: ProviderConfig, ttl: float = 0) -> Analyzer:
    a = Analyzer(client, cache_ttl_s=ttl)  # type: ignore[arg-type]
    a.configure(cfg)
    return a


@pytest.mark.parametrize("kind", KINDS)
async def test_request_shape_and_documented_answer(server: FakeModel, client: object, kind: str) -> None:
    server.script(Answer())
    outcome = await analyzer(client, config(server, kind)).analyze(EVENT)
    assert (outcome.status, outcome.fallback_used, outcome.reason) == ("ok", False, "")
    assert outcome.output.confidence == 0.83 and outcome.output.category == "disk"
    assert [r.title for r in outcome.output.recommendations] == ["Free space", "Rotate app logs"]
    assert (outcome.tokens_in, outcome.tokens_out) == (120, 45)
    assert outcome.prompt_sha256 and outcome.response_sha256 and outcome.latency_ms >= 0
    (seen,) = server.requests
    body, headers = seen.json, seen.headers
    if kind == "openai":
        assert seen.path == "/v1/chat/completions"
        assert headers["authorization"] == f"Bearer {KEY}"
        assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert body["response_format"] == {"type": "json_object"} and body["max_tokens"] == 1024
        prompt_text = body["messages"][1]["content"]
    elif kind == "anthropic":
        assert seen.path == "/v1/messages"
        assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in headers
        assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 1024
        assert isinstance(body["system"], str) and [m["role"] for m in body["messages"]] == ["user"]
        prompt_text = body["messages"][0]["content"]
    else:
        assert seen.path == "/v1beta/models/gemini-2.0-flash:generateContent"
        assert headers["x-goog-api-key"] == KEY and "key=" not in seen.path
        assert body["systemInstruction"]["parts"][0]["text"]
        assert body["contents"][0]["role"] == "user"
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        prompt_text = body["contents"][0]["parts"][0]["text"]
    # Built from redacted data only: the alert's password never leaves.
    assert SECRET_IN_ALERT not in orjson.dumps(body).decode()
    assert "[REDACTED:" in prompt_text and "91.5" in prompt_text


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_answer_gets_one_repair(server: FakeModel, client: object, kind: str) -> None:
    server.script(Answer(text="Sure! The disk is full, clean it up."), Answer())
    outcome = await analyzer(client, config(server, kind)).analyze(EVENT)
    assert outcome.status == "ok" and outcome.output.confidence == 0.83
    assert (outcome.tokens_in, outcome.tokens_out) == (240, 90)  # both exchanges counted
    assert len(server.requests) == 2
    repair = orjson.dumps(server.requests[1].json).decode()
    assert "Sure! The disk is full" in repair and "could not be used" in repair


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_twice_falls_back_to_local(server: FakeModel, client: object, kind: str) -> None:
    server.script(Answer(text='{"summary": "x"'), Answer(text='{"summary": "x", "confidence": 7}'))
    outcome = await analyzer(client, config(server, kind)).analyze(EVENT)
    assert (outcome.status, outcome.fallback_used, outcome.reason) == ("fallback", True, "invalid_output")
    assert outcome.output == local.analyze(EVENT)
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("answer, reason", [
    (Answer(status=500), "http_500"),
    (Answer(status=429, headers={"retry-after": "7"}), "http_429"),
    (Answer(status=401), "http_401"),
    (Answer(status=529), "http_529"),
    (Answer(raw=b"<html>bad gateway</html>"), "bad_response"),
    (Answer(body={"unexpected": True}), "bad_response"),
], ids=["500", "429", "401", "529", "html-body", "wrong-shape"])
async def test_errors_fall_back_with_their_reason(
    server: FakeModel, client: object, kind: str, answer: Answer, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(answer)
    with caplog.at_level(logging.DEBUG):
        outcome = await analyzer(client, config(server, kind)).analyze(EVENT)
    assert (outcome.status, outcome.fallback_used, outcome.reason) == ("fallback", True, reason)
    assert outcome.output == local.analyze(EVENT)
    assert KEY not in caplog.text and KEY not in repr(outcome)


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_provider_times_out_within_its_budget(server: FakeModel, client: object, kind: str) -> None:
    server.script(Answer(delay_s=3.0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await analyzer(client, config(server, kind, timeout_s=0.4)).analyze(EVENT)
    assert loop.time() - started < 1.5
    assert (outcome.status, outcome.reason) == ("fallback", "timeout")


async def test_repair_shares_the_timeout(server: FakeModel, client: object) -> None:
    server.script(Answer(text="not json", delay_s=0.3), Answer(delay_s=0.3))
    outcome = await analyzer(client, config(server, "openai", timeout_s=0.5)).analyze(EVENT)
    assert outcome.reason == "timeout"


async def test_circuit_opens_after_failures_and_skips_the_provider(server: FakeModel, client: object) -> None:
    server.script(Answer(status=503))
    a = analyzer(client, config(server, "openai", options={"breaker_failures": 2, "breaker_cooldown_s": 60}))
    for _ in range(2):
        assert (await a.analyze(EVENT)).reason == "http_503"
    outcome = await a.analyze(EVENT)
    assert outcome.reason == "circuit_open" and len(server.requests) == 2
    assert a.health()["circuit"] == "open"


async def test_same_signature_within_ttl_reuses_the_analysis(server: FakeModel, client: object) -> None:
    server.script(Answer())
    a = analyzer(client, config(server, "anthropic"), ttl=60)
    first = await a.analyze(EVENT)
    later = incident(*EVENT.alerts, incident_id="inc-2")  # another incident, same alerts
    second = await a.analyze(later)
    assert not first.cache_hit and second.cache_hit and second.tokens_in == 0
    assert second.output == first.output and len(server.requests) == 1
    changed = incident(alert("disk", labels={"hostname": "web-2"}), incident_id="inc-3")
    assert not (await a.analyze(changed)).cache_hit


async def test_concurrency_limit_answers_with_the_rules_at_once(server: FakeModel, client: object) -> None:
    server.script(Answer(delay_s=0.5))
    a = analyzer(client, config(server, "gemini", max_concurrency=1))
    slow = asyncio.ensure_future(a.analyze(EVENT))
    await asyncio.sleep(0.1)
    busy = await a.analyze(EVENT)
    assert busy.reason == "concurrency_limit" and busy.latency_ms < 100
    assert (await slow).status == "ok"


async def test_provider_url_must_pass_the_ssrf_guard(server: FakeModel) -> None:
    server.script(Answer())
    async with guarded_client() as strict:  # no allow-list: loopback is refused at connect time
        outcome = await analyzer(strict, config(server, "openai")).analyze(EVENT)
    assert outcome.reason == "ssrf_blocked" and not server.requests


async def test_no_provider_means_the_local_rules() -> None:
    a = Analyzer(None)  # type: ignore[arg-type]
    outcome = await a.analyze(EVENT)
    assert (outcome.status, outcome.provider, outcome.fallback_used) == ("ok", "local", False)
    assert outcome.output == local.analyze(EVENT)


def test_good_answer_is_what_the_contract_expects() -> None:
    from alertstream.streams.analysis.contract import parse_output

    assert parse_output(orjson.dumps(GOOD).decode()).confidence == 0.83
