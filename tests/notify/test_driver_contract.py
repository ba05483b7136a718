"""Every channel driver through the same checks, against a local receiver that follows
its vendor's documented contract: valid requests, retry codes, Retry-After, timeouts,
refused connections, resolutions that read as resolutions, batches within the vendor's
limits, the SSRF guard, and no secret in any error or log line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from alertstream.errors import Permanent, PipelineError, Retryable
from alertstream.notify.base import Outbound
from alertstream.notify.outbound import make_outbound
from alertstream.notify.registry import CHANNEL_TYPES
from alertstream.ssrf import AllowList

from .factories import delivery
from .harness import TYPES, Harness, Seen, harness

GREEN = {"slack": "#2EB67D", "email": "#2EB67D", "teams": "good", "pagerduty": "resolve",
         "opsgenie": "close", "webhook": "resolved"}


@pytest.fixture(params=TYPES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with harness(request.param, tmp_path) as started:
        yield started


@pytest.fixture
async def out() -> AsyncIterator[Outbound]:
    outbound = make_outbound(AllowList(["127.0.0.1", "localhost"]))
    yield outbound
    await outbound.http.aclose()


async def send(h: Harness, out: Outbound, status: str = "open", alerts: int = 2, **channel: object):
    return await CHANNEL_TYPES[h.type].send(h.channel(**channel), delivery(status, alerts, h.channel().name), out)


def assert_no_secret(h: Harness, *texts: str) -> None:
    for secret in h.secrets:
        for text in texts:
            assert secret not in text, f"{h.type} leaked a secret"


def error_texts(exc: PipelineError) -> list[str]:
    return [str(exc), repr(exc), exc.reason, exc.detail, repr(exc.__cause__), repr(exc.__context__)]


async def test_a_firing_incident_is_accepted_by_the_vendor(h: Harness, out: Outbound) -> None:
    sent = await send(h, out)
    assert sent.status_code and 200 <= sent.status_code < 300
    (seen,) = h.seen()
    assert "[CRITICAL]" in seen.title and "DiskFull on db-1" in seen.title


async def test_resolved_says_so_in_title_and_colour(h: Harness, out: Outbound) -> None:
    await send(h, out, status="resolved")
    (seen,) = h.seen()
    if h.type not in ("pagerduty",):  # a PagerDuty resolve carries no summary: the action says it
        assert "RESOLVED" in seen.title.upper()
        assert not seen.title.startswith("[CRITICAL]")
    assert seen.colour == GREEN[h.type]


async def test_acknowledged_says_so(h: Harness, out: Outbound) -> None:
    await send(h, out, status="acknowledged")
    (seen,) = h.seen()
    if h.type == "pagerduty":
        assert seen.colour == "acknowledge"
    elif h.type == "opsgenie":
        assert seen.colour == "acknowledge"
    else:
        assert "ACKNOWLEDGED" in seen.title.upper()


@pytest.mark.parametrize("kind", ["retryable", "rate_limited"])
async def test_transient_failures_are_retryable(h: Harness, out: Outbound, kind: str) -> None:
    h.fail_next(kind)
    with pytest.raises(Retryable) as info:
        await send(h, out)
    if kind == "rate_limited" and h.type != "email":
        assert info.value.reason == "http_429" and info.value.retry_after == 7.0
    assert h.seen() == []
    await send(h, out)  # the receiver recovered: the same call goes through
    assert len(h.seen()) == 1


@pytest.mark.parametrize("code", [408, 500, 502, 504])
async def test_http_retry_codes(h: Harness, out: Outbound, code: int) -> None:
    if h.server is None:
        pytest.skip("HTTP status codes do not apply to SMTP")
    from .receivers import Scripted

    h.server.script.append(Scripted(code))
    with pytest.raises(Retryable, match=f"http_{code}"):
        await send(h, out)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 410])
async def test_other_4xx_are_permanent(h: Harness, out: Outbound, code: int) -> None:
    if h.server is None:
        h.fail_next("permanent")
        with pytest.raises(Permanent, match="smtp_550"):
            await send(h, out)
        return
    from .receivers import Scripted

    h.server.script.append(Scripted(code))
    with pytest.raises(Permanent, match=f"http_{code}"):
        await send(h, out)


async def test_a_slow_receiver_times_out_retryably(h: Harness, out: Outbound) -> None:
    h.fail_next("slow")
    with pytest.raises(Retryable) as info:
        await send(h, out, timeout_s=0.3)
    assert info.value.reason in ("timeout", "connection_error")


async def test_a_refused_connection_is_retryable(h: Harness, out: Outbound) -> None:
    with pytest.raises(Retryable, match="connection_error"):
        await CHANNEL_TYPES[h.type].send(h.unreachable(), delivery(channel=h.channel().name), out)


async def test_the_ssrf_guard_refuses_loopback_unless_allowed(h: Harness) -> None:
    guarded = make_outbound(AllowList())
    try:
        with pytest.raises(Permanent, match="ssrf_blocked") as info:
            await send(h, guarded)
        assert_no_secret(h, *error_texts(info.value))
    finally:
        await guarded.http.aclose()


async def test_invalid_config_is_permanent_and_names_no_secret(h: Harness, out: Outbound) -> None:
    driver = CHANNEL_TYPES[h.type]
    broken = {k: v for k, v in h.settings.items() if k not in ("url", "base_url", "host")}
    broken["timeout_s"] = "soon"
    with pytest.raises(Permanent, match="invalid_config") as info:
        driver.validate(broken)
    assert_no_secret(h, *error_texts(info.value))
    with pytest.raises(Permanent, match="invalid_config"):
        driver.validate({**h.settings, "templates": {"nope": "x"}})


async def test_no_secret_in_any_error_or_log(h: Harness, out: Outbound, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for kind in ("retryable", "rate_limited", "permanent", "slow"):
        h.fail_next(kind)
        with pytest.raises(PipelineError) as info:
            await send(h, out, timeout_s=0.3)
        texts += error_texts(info.value)
    with pytest.raises(PipelineError) as refused:
        await CHANNEL_TYPES[h.type].send(h.unreachable(), delivery(channel="x"), out)
    texts += error_texts(refused.value)
    assert_no_secret(h, *texts, caplog.text, repr(h.channel()))


async def test_a_large_batch_fits_the_vendor_limits_with_a_more_line(h: Harness, out: Outbound) -> None:
    await send(h, out, alerts=600)  # the vendor contract refuses anything over its limits
    (seen,) = h.seen()
    assert "more" in seen.text and "+" in seen.text


async def test_a_channel_template_overrides_the_default(h: Harness, out: Outbound) -> None:
    name = {"webhook": "body", "slack": "title", "email": "subject", "pagerduty": "summary",
            "opsgenie": "message", "teams": "title"}[h.type]
    source = '{"custom": "{{ incident.id }}"}' if h.type == "webhook" else "custom {{ incident.severity }} page"
    await send(h, out, templates={name: source})
    if h.type == "webhook":
        assert h.server is not None and h.server.accepted[0].json()["custom"].startswith("inc-")
    else:
        assert h.seen()[0].title == "custom critical page"


async def test_a_template_cannot_escape_the_sandbox(h: Harness, out: Outbound) -> None:
    name = next(iter(CHANNEL_TYPES[h.type].DEFAULT_TEMPLATES))
    with pytest.raises(Permanent, match="template_error"):
        await send(h, out, templates={name: "{{ incident.__class__.__mro__ }}"})


# A page must say when its analysis is missing or second-best, in words a person reads.
MISSING = [
    pytest.param({"analysis_status": "pending", "reason": "deadline"}, "analysis pending", id="pending"),
    pytest.param({"analysis_status": "unavailable", "reason": "deadline"}, "analysis unavailable", id="unavailable"),
    pytest.param({"analysis_status": "fallback", "fallback_used": True, "reason": "timeout", "provider": "gpt"},
                 "fallback used", id="fallback"),
]


def readable(h: Harness, seen: Seen) -> str:
    """What a person is shown: the webhook's is its machine-readable document."""
    if h.type == "webhook":
        doc = seen.raw
        return f"{doc['analysis']['label']}\n{doc['analysis']['note']}"
    return f"{seen.title}\n{seen.text}"


@pytest.mark.parametrize(("kw", "phrase"), MISSING)
async def test_a_missing_or_fallback_analysis_says_so(h: Harness, out: Outbound, kw: dict, phrase: str) -> None:
    await CHANNEL_TYPES[h.type].send(h.channel(), delivery(channel=h.channel().name, **kw), out)
    (seen,) = h.seen()
    assert phrase in readable(h, seen).lower(), readable(h, seen)


async def test_a_full_analysis_says_nothing_about_it(h: Harness, out: Outbound) -> None:
    await send(h, out)
    (seen,) = h.seen()
    assert not any(p in readable(h, seen).lower() for p in ("analysis pending", "unavailable", "fallback used"))


async def test_a_follow_up_reads_as_an_update_and_never_opens_an_alert(h: Harness, out: Outbound) -> None:
    driver = CHANNEL_TYPES[h.type]
    follow_up = delivery(channel=h.channel().name, follow_up=True)
    assert follow_up.key.endswith(":update")
    if not driver.FOLLOW_UPS:
        assert h.type == "pagerduty"  # a new trigger may open a new incident: follow-ups are skipped
        assert "Follow-ups are not sent" in (driver.__doc__ or "")
        return
    await driver.send(h.channel(), follow_up, out)
    (seen,) = h.seen()
    if h.type == "webhook":
        assert seen.raw["update"] is True and seen.raw["update_of"] == follow_up.first_key
        assert h.server is not None and h.server.accepted[0].headers["webhook-id"] == follow_up.key
        return
    assert seen.title.startswith("Update: analysis for"), seen.title
    assert "DiskFull on db-1" in seen.title
    if h.type == "opsgenie":
        assert seen.colour == "notes"  # a note on the existing alert, not a new alert
        assert "Probable cause: log rotation stopped" in seen.title and "1. Rotate logs" in seen.title
    if h.type == "email":
        assert seen.raw["In-Reply-To"] == seen.raw["References"]
        assert seen.raw["In-Reply-To"] != seen.raw["Message-ID"]
