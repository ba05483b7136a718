"""Pure decisions of the notify stage: backoff and give-up, the circuit breaker, fitting
batches into vendor limits, templates in the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertstream.errors import Permanent
from alertstream.notify.batch import fit_lines, largest_fitting, split_alerts
from alertstream.notify.breaker import Breakers
from alertstream.notify.retry import GiveUp, RetryAt, RetryPolicy, backoff_s, plan_retry, tier_for
from alertstream.notify.templates import TITLE, render, validate_overrides

T0 = datetime(2026, 11, 29, tzinfo=UTC)
POLICY = RetryPolicy((30.0, 300.0, 3600.0), max_attempts=8, max_age_s=24 * 3600)


def test_backoff_is_exponential_jittered_and_capped() -> None:
    delays = (30.0, 300.0, 3600.0)
    assert [backoff_s(n, delays, lambda: 1.0) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    assert [backoff_s(n, delays, lambda: 0.0) for n in (1, 2)] == [15, 30]  # equal jitter: upper half


def test_retry_plans_a_tier_and_honours_retry_after() -> None:
    plan = plan_retry(POLICY, attempt=1, first_attempt_at=T0, now=T0, reason="http_503", retry_after_s=None,
                      rand=lambda: 1.0)
    assert plan == RetryAt("notify.retry.30s", T0 + timedelta(seconds=30), 30.0)
    plan = plan_retry(POLICY, attempt=1, first_attempt_at=T0, now=T0, reason="http_429", retry_after_s=120,
                      rand=lambda: 1.0)
    assert isinstance(plan, RetryAt) and plan.topic == "notify.retry.5m" and plan.delay_s == 120
    assert tier_for(4000, POLICY.delays_s) == "notify.retry.1h"


def test_retry_gives_up_after_max_attempts_or_age() -> None:
    assert plan_retry(POLICY, attempt=8, first_attempt_at=T0, now=T0, reason="timeout", retry_after_s=None,
                      rand=lambda: 0.5) == GiveUp("max_attempts: timeout")
    late = T0 + timedelta(hours=23, minutes=59, seconds=30)
    assert plan_retry(POLICY, attempt=2, first_attempt_at=T0, now=late, reason="http_502", retry_after_s=None,
                      rand=lambda: 0.5) == GiveUp("max_age: http_502")


def test_breaker_opens_after_n_failures_then_lets_one_probe_through() -> None:
    b = Breakers(threshold=3, cooldown_s=10)
    for t in range(3):
        assert b.wait_s("slack", t) == 0
        b.record("slack", False, t)
    assert b.is_open("slack", 3) and b.wait_s("slack", 5) == pytest.approx(7)
    assert b.wait_s("other", 5) == 0  # per channel
    assert b.wait_s("slack", 12.5) == 0  # the probe
    assert b.wait_s("slack", 12.6) > 0  # only one
    b.record("slack", False, 13)  # the probe failed: open again
    assert b.wait_s("slack", 14) > 0
    assert b.wait_s("slack", 23.5) == 0
    b.record("slack", True, 24)  # the probe worked: closed
    assert b.wait_s("slack", 24) == 0 and b.wait_s("slack", 24) == 0


def test_fitting_batches_says_how_many_more() -> None:
    assert split_alerts(list(range(10)), 3) == ([0, 1, 2], 7)
    text = fit_lines([f"line {i:03d}" for i in range(100)], 100)
    assert len(text) <= 100 and text.endswith("more alerts") and text.startswith("line 000")
    n = int(text.rsplit("+", 1)[1].split()[0])
    assert n + text.count("line ") == 100
    body, shown = largest_fitting(lambda k: b"x" * (10 * k + 5), 50, 200)
    assert shown == 19 and len(body) <= 200


def test_templates_are_sandboxed_and_validated() -> None:
    ctx = {"state": "resolved", "state_label": "RESOLVED", "severity_label": "CRITICAL", "update": False,
           "incident": {"title": "DiskFull", "severity": "critical"}}
    assert render("title", {"title": TITLE}, {}, ctx) == "[RESOLVED] DiskFull (was critical)"
    with pytest.raises(Permanent, match="invalid_config"):
        validate_overrides({"title": "{% if %}"}, {"title": TITLE})
    with pytest.raises(Permanent, match="template_error"):
        render("title", {"title": "{{ ''.__class__.__mro__ }}"}, {}, ctx)
    with pytest.raises(Permanent, match="template_error"):
        render("title", {"title": "{{ missing.field }}"}, {}, ctx)
