"""Talking to the hub: retry decisions, backoff, signed and keyed requests, overrides."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from alertstream.agent.hub import HubClient, HubConfig, backoff_s, classify
from alertstream.agent.signing import parse_secret
from alertstream.errors import Permanent, Retryable
from alertstream.ingest.auth.signatures import verify_standard_webhook
from alertstream.secrets import Secret

SECRET = "whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="
KEY = "ask_0123456789abcdef0123456789abcdef01234567"
NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("status", "error", "retry_after", "outcome", "reason", "after"),
    [
        (202, "", None, None, "", None),
        (503, "broker unavailable", "5", Retryable, "http_503_broker unavailable", 5.0),
        (500, "", None, Retryable, "http_500", None),
        (429, "rate limited", "12", Retryable, "http_429_rate limited", 12.0),
        (408, "", "Wed, 21 Oct 2015 07:28:00 GMT", Retryable, "http_408", None),
        (400, "cluster: alerts[0].status must be one of ok", None, Permanent, None, None),
        (401, "missing API key", None, Permanent, "http_401_missing API key", None),
        (403, "bad_signature", None, Permanent, "http_403_bad_signature", None),
        (413, "", None, Permanent, "http_413", None),
    ],
)
def test_classify(status: int, error: str, retry_after: str | None, outcome: type | None, reason: str | None,
                  after: float | None) -> None:
    if outcome is None:
        assert classify(status, error, retry_after) is None
        return
    with pytest.raises(outcome) as caught:
        classify(status, error, retry_after)
    if reason is not None:
        assert caught.value.reason == reason
    if outcome is Retryable:
        assert caught.value.retry_after == after


@pytest.mark.parametrize(
    ("attempt", "rand", "retry_after", "delay"),
    [
        (1, 0.0, None, 0.5), (1, 0.999, None, 0.9995), (2, 0.0, None, 1.0), (4, 1.0, None, 8.0),
        (10, 0.0, None, 30.0), (10, 1.0, None, 60.0),  # capped
        (1, 0.0, 5.0, 5.0),  # never sooner than the server asks
        (1, 0.0, 600.0, 60.0),  # nor later than the cap
    ],
)
def test_backoff(attempt: int, rand: float, retry_after: float | None, delay: float) -> None:
    assert backoff_s(attempt, rand=rand, retry_after=retry_after) == pytest.approx(delay)


Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, key: str | None = KEY, secret: str | None = SECRET) -> HubClient:
    config = HubConfig("http://hub.test/base/", Secret(key) if key else None, parse_secret(secret) if secret else None)
    return HubClient(config, httpx.Client(transport=httpx.MockTransport(handler)), clock=lambda: NOW)


def no_wait(seconds: float) -> bool:
    return False


def test_a_push_is_keyed_signed_and_verifiable_by_the_edge() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"status": "accepted", "trace_id": "t-1"})

    body = b'{"instance_id":"i-1","hostname":"h","alerts":[]}'
    outcome = client(handler).push(body, attempts=3, wait=no_wait, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.attempts, outcome.trace_id) == (True, 1, "t-1")
    [request] = seen
    assert str(request.url) == "http://hub.test/base/alerts/webhook/cluster/"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-timestamp"] == str(int(NOW))
    assert verify_standard_webhook(
        request.content, webhook_id=request.headers["webhook-id"], timestamp=request.headers["webhook-timestamp"],
        signature_header=request.headers["webhook-signature"], secrets=[parse_secret(SECRET)], now=NOW,
    ) is None


def test_without_key_or_secret_nothing_of_them_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={})

    assert client(handler, key=None, secret=None).push(b"{}", attempts=1, wait=no_wait, rand=lambda: 0).delivered
    assert "authorization" not in seen[0].headers and "webhook-signature" not in seen[0].headers


def test_retryable_failures_are_retried_with_the_same_message_id_and_backoff() -> None:
    answers = iter([
        httpx.ConnectError("refused"),
        httpx.Response(503, json={"error": "broker unavailable"}, headers={"Retry-After": "5"}),
        httpx.Response(202, json={"trace_id": "t-2"}),
    ])
    ids: list[str] = []
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids.append(request.headers["webhook-id"])
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    outcome = client(handler).push(b"{}", attempts=5, wait=lambda s: waits.append(s) or False, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.attempts) == (True, 3)
    assert len(set(ids)) == 1
    assert waits == [0.5, 5.0]


def test_permanent_refusals_are_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"error": "invalid API key"})

    with caplog.at_level(logging.DEBUG):
        outcome = client(handler).push(b"{}", attempts=5, wait=no_wait, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.reason, len(calls)) == (False, "http_401_invalid API key", 1)
    assert KEY not in caplog.text and "whsec_" not in caplog.text


def test_a_retry_refused_as_a_replay_was_delivered_by_an_earlier_attempt() -> None:
    answers = iter([httpx.ReadTimeout("slow"), httpx.Response(403, json={"error": "replayed"})])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    outcome = client(handler).push(b"{}", attempts=3, wait=no_wait, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.attempts, outcome.reason) == (True, 2, "replayed")


def test_retries_end_when_attempts_run_out_or_the_wait_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    outcome = client(handler).push(b"{}", attempts=3, wait=no_wait, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.attempts, outcome.reason) == (False, 3, "unreachable")
    outcome = client(handler).push(b"{}", attempts=3, wait=lambda s: True, rand=lambda: 0.0)
    assert (outcome.delivered, outcome.attempts, outcome.reason) == (False, 1, "interrupted")


def test_fetch_overrides() -> None:
    documents = {
        "/base/agents/web-1/config": httpx.Response(200, json={"instance_id": "web-1", "options": {"interval_s": 5}}),
        "/base/agents/web-2/config": httpx.Response(404, json={"error": "no overrides for this host"}),
        "/base/agents/web-3/config": httpx.Response(200, json={"instance_id": "web-3"}),
        "/base/agents/a%2Fb/config": httpx.Response(200, json={"options": {}}),
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return documents[request.url.raw_path.decode()]

    hub = client(handler)
    assert hub.fetch_overrides("web-1") == {"interval_s": 5}
    assert hub.fetch_overrides("web-2") is None
    with pytest.raises(Permanent):
        hub.fetch_overrides("web-3")
    assert hub.fetch_overrides("a/b") == {}  # an id is one path segment
    assert seen[0].method == "GET" and seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert verify_standard_webhook(
        b"", webhook_id=seen[0].headers["webhook-id"], timestamp=seen[0].headers["webhook-timestamp"],
        signature_header=seen[0].headers["webhook-signature"], secrets=[parse_secret(SECRET)], now=NOW,
    ) is None


def test_fetch_overrides_when_the_hub_is_down_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=b"<html>bad gateway</html>")

    with pytest.raises(Retryable) as caught:
        client(handler).fetch_overrides("web-1")
    assert caught.value.reason == "http_502"
