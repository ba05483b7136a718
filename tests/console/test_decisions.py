"""The console's pure decisions: session expiry, cookie flags, redirects, CSRF, forms, filters,
counts, time display, link safety and passwords. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertstream.ingest.console import passwords
from alertstream.ingest.console.actions import matchers_from_text
from alertstream.ingest.console.forms import MAX_FIELDS, FormError, parse_form
from alertstream.ingest.console.incidents import allowed_buttons, read_filters
from alertstream.ingest.console.queries import tally
from alertstream.ingest.console.render import ago, http_url, seg, when
from alertstream.ingest.console.session import (
    HOME,
    cookie_secure,
    csrf_ok,
    csrf_token,
    is_loopback,
    new_token,
    safe_next,
    token_hash,
    verdict,
)

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("created", "seen", "expected"), [
    (0, 0, "ok"),
    (-3000, -100, "ok"),
    (-3000, -3600, "idle"),            # unused for the idle limit
    (-43200, -1, "expired"),           # the absolute limit, however busy
    (-50000, -4000, "expired"),        # expired wins over idle
])
def test_session_verdict(created: int, seen: int, expected: str) -> None:
    now = T0
    assert verdict(now + timedelta(seconds=created), now + timedelta(seconds=seen), now, 3600, 43200) == expected


@pytest.mark.parametrize(("scheme", "host", "secure"), [
    ("http", "127.0.0.1:8080", False),
    ("http", "localhost:8080", False),
    ("http", "[::1]:8080", False),
    ("http", "127.8.9.10", False),
    ("https", "127.0.0.1:8080", True),
    ("http", "alerts.example.com", True),   # behind a TLS proxy the browser is on https
    ("http", "10.0.0.5:8080", True),
    ("http", "", True),
    ("http", "localhost.evil.com", True),
])
def test_cookie_is_secure_except_plain_http_on_loopback(scheme: str, host: str, secure: bool) -> None:
    assert cookie_secure(scheme, host) is secure


def test_loopback_names() -> None:
    assert is_loopback("app.localhost:9000") and not is_loopback("example.com") and not is_loopback("::1x")


@pytest.mark.parametrize(("raw", "expected"), [
    ("/console/incidents/abc?x=1", "/console/incidents/abc?x=1"),
    (None, HOME), ("", HOME),
    ("https://evil.example/", HOME), ("//evil.example/console/", HOME), ("/console//evil.example", HOME),
    ("/console/\\evil", HOME), ("/other", HOME), ("/console/login?next=x", HOME), ("/console/a\nb", HOME),
])
def test_after_login_only_console_paths(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_tokens_and_csrf() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert token_hash(a) != a and len(token_hash(a)) == 64
    assert csrf_token(a) == csrf_token(a) != csrf_token(b)
    assert csrf_ok(csrf_token(a), csrf_token(a))
    assert not csrf_ok(csrf_token(a), csrf_token(b))
    assert not csrf_ok(csrf_token(a), None) and not csrf_ok("", "")


def test_form_parsing_never_raises_on_odd_bytes() -> None:
    assert parse_form(b"a=1&a=2&b=&c=%ZZ&d=%ff") == {"a": "1", "b": "", "c": "%ZZ", "d": "\ufffd"}
    assert parse_form(b"") == {}
    with pytest.raises(FormError) as caught:
        parse_form("&".join(f"f{i}=1" for i in range(MAX_FIELDS + 1)).encode())
    assert caught.value.status == 400


def test_incident_filters() -> None:
    filters, problems = read_filters({"status": "open", "severity": "critical", "source": " grafana ", "since": "2h"})
    assert filters == {"status": "open", "severity": "critical", "source": "grafana", "since": "2h"}
    assert not problems
    filters, problems = read_filters({"status": "sleeping", "severity": "meh", "source": "x" * 65})
    assert filters == {} and len(problems) == 3
    assert read_filters({"status": ""}) == ({}, [])


def test_buttons_follow_the_incident_state() -> None:
    assert allowed_buttons("open") == ["acknowledge", "resolve", "close"]
    assert allowed_buttons("acknowledged") == ["resolve", "close"]
    assert allowed_buttons("resolved") == ["close"]
    assert allowed_buttons("closed") == []


def test_counts() -> None:
    counts = tally([("open", "critical", 2), ("acknowledged", "warning", 1), ("resolved", "critical", 5)])
    assert counts.by_status == {"open": 2, "acknowledged": 1, "resolved": 5, "closed": 0}
    assert counts.active_by_severity == {"critical": 2, "error": 0, "warning": 1, "info": 0}
    assert counts.active == 3


def test_time_display() -> None:
    assert when("2026-11-29T10:00:05+00:00") == "2026-11-29 10:00:05 UTC"
    assert when(None) == "–" and when("garbage") == "–"
    assert ago(T0 - timedelta(seconds=2), T0) == "just now"
    assert ago(T0 - timedelta(seconds=12), T0) == "12 s ago"
    assert ago((T0 - timedelta(minutes=5)).isoformat(), T0) == "5 min ago"
    assert ago(T0 - timedelta(hours=3), T0) == "3 h ago"
    assert ago(T0 - timedelta(days=4), T0) == "4 d ago"
    assert ago(T0 + timedelta(hours=2), T0) == "in 2 h"
    assert ago(datetime(2026, 11, 29, 9, 59), T0) == "60 s ago"  # naive times are UTC


def test_only_http_links_and_safe_segments() -> None:
    assert http_url("https://runbooks.example/disk") and http_url("HTTP://x")
    for bad in ("javascript:alert(1)", "data:text/html,x", "", None, "//host/path", "http://[::1"):
        assert not http_url(bad), bad
    assert seg("a/b c?") == "a%2Fb%20c%3F"


def test_matchers_one_per_line() -> None:
    assert matchers_from_text('alertname="DiskFull"\n\n  instance=~"db-.*"  \r\n') == [
        'alertname="DiskFull"', 'instance=~"db-.*"']


def test_passwords() -> None:
    hashed = passwords.hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$") and "a long enough secret" not in hashed
    assert passwords.verify(hashed, "a long enough secret")
    assert not passwords.verify(hashed, "a long enough secreT")
    assert not passwords.verify(None, "a long enough secret")  # no such user: the decoy, and False
    assert not passwords.verify("not a hash", "whatever")
    assert not passwords.verify(hashed, "x" * (passwords.MAX_LENGTH + 1))
    assert not passwords.needs_rehash(hashed)
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password("short")
    assert len(passwords.generate_password()) >= 24
