from __future__ import annotations

import io
import logging
import time

import pytest

from alertstream.redaction import RedactingFilter, redact_alert, redact_mapping, redact_text, secret_key_kind
from alertstream.schemas.records import Link, NormalizedAlert

GHP = "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8"  # 36 characters after the prefix

REDACTED = [
    # key=value pairs: separators, quoting, prefixes, case
    ("password=hunter2 host=db1", "password=[REDACTED:password] host=db1"),
    ("passwd=hunter2", "passwd=[REDACTED:password]"),
    ("pwd: hunter2", "pwd: [REDACTED:password]"),
    ("DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED:password]"),
    ("secret = s3cr3t;", "secret = [REDACTED:secret];"),
    ("client_secret=abc&grant=x", "client_secret=[REDACTED:secret]&grant=x"),
    ("token=abc.def", "token=[REDACTED:token]"),
    ("X-Auth-Token: abc123", "X-Auth-Token: [REDACTED:token]"),
    ("api_key=k-123", "api_key=[REDACTED:api-key]"),
    ("apikey: k-123", "apikey: [REDACTED:api-key]"),
    ("X-Api-Key: k-123", "X-Api-Key: [REDACTED:api-key]"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=[REDACTED:secret]"),
    ('{"password": "hunter 2", "user": "bob"}', '{"password": "[REDACTED:password]", "user": "bob"}'),
    ("{'api_key': 'abc'}", "{'api_key': '[REDACTED:api-key]'}"),
    ('{\\"token\\": \\"abc\\"}', '{\\"token\\": \\"[REDACTED:token]\\"}'),
    ('"password":"with \\" quote"', '"password":"[REDACTED:password]"'),
    # Authorization headers and bearer tokens
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "Authorization: [REDACTED:authorization]"),
    ("authorization=Basic dXNlcjpwYXNz next", "authorization=[REDACTED:authorization] next"),
    ('{"Authorization": "Token abc"}', '{"Authorization": "[REDACTED:authorization]"}'),
    ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: [REDACTED:authorization]"),
    ("curl -H 'Bearer abcdef123456'", "curl -H 'Bearer [REDACTED:bearer]'"),
    ("bearer " + "x" * 24, "bearer [REDACTED:bearer]"),
    # vendor formats
    ("key id AKIAIOSFODNN7EXAMPLE leaked", "key id [REDACTED:aws-access-key-id] leaked"),
    ("ASIAY34FZKBOKMUTVV7A", "[REDACTED:aws-access-key-id]"),
    ("xoxb-123456789012-abcdefghijkl", "[REDACTED:slack-token]"),
    ("use xoxp-1234-5678-abcdef0123 now", "use [REDACTED:slack-token] now"),
    ("xapp-1-A0123456-789-abcdef0123", "[REDACTED:slack-token]"),
    (
        "posting to https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX failed",
        "posting to https://hooks.slack.com/[REDACTED:slack-webhook] failed",
    ),
    (GHP, "[REDACTED:github-token]"),
    ("gho_" + "Z" * 36, "[REDACTED:github-token]"),
    ("ghs_" + "9" * 36, "[REDACTED:github-token]"),
    ("ghu_" + "q" * 36, "[REDACTED:github-token]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:github-token]"),
    # private keys, whole block; a truncated one to the end
    (
        "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\nafter",
        "before\n[REDACTED:private-key]\nafter",
    ),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQ", "[REDACTED:private-key]"),
    (
        "x -----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----",
        "x [REDACTED:private-key]",
    ),
    # credentials in URLs
    ("https://user:pass@host.example/path", "https://[REDACTED:url-credentials]@host.example/path"),
    (
        "postgres://app:p@ss@db.internal:5432/app",
        "postgres://[REDACTED:url-credentials]@db.internal:5432/app",
    ),
    ("redis://:s3cr3t@cache:6379/0", "redis://[REDACTED:url-credentials]@cache:6379/0"),
]

UNTOUCHED = [
    "Disk usage on web-01.prod.example.com:9100 is 93.5% (threshold 90%)",
    "the tokenizer failed on input 42",
    "tokenizer=bert-base max_tokens=512 token_type=bearer",
    "password reset failed for user bob",
    "mypassword=abc",  # a key that merely ends in a secret word is not one
    "bearer authentication is required",
    "passed=true bypass: yes compass=north",
    "https://runbooks.example.com/disk-full?host=web-01#fix",
    "http://10.0.0.5:8080/metrics",
    "ssh://git@github.com/org/repo.git",
    "mail oncall@example.com about monkey dedup_key=abc",
    "AKIA is a prefix; AKIASHORT is not a key",
    "ghp_short",
    "secret santa party",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacts(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", UNTOUCHED)
def test_leaves_ordinary_text(text: str) -> None:
    assert redact_text(text) == text


def test_idempotent() -> None:
    for text, expected in REDACTED:
        assert redact_text(expected) == expected


def test_several_secrets_in_one_text() -> None:
    text = f"conn=postgres://a:b@db/x password=p1 token: {GHP} Authorization: Basic Zm9v"
    out = redact_text(text)
    for secret in ("a:b@", "p1", GHP, "Zm9v"):
        assert secret not in out
    assert "postgres://[REDACTED:url-credentials]@db/x" in out


def test_mapping_values_and_secret_keys() -> None:
    original = {
        "alertname": "DiskFull",
        "password": 12345,  # not a string, still gone
        "labels": {"api_key": "k", "Authorization": "Bearer x", "tokenizer": "bert", "note": "pwd=1"},
        "list": ["token=abc", 7, {"secret": {"nested": "object"}}],
        "db_password": "",
        "session_token": None,
        3: "keys that are not strings are fine",
    }
    out = redact_mapping(original)
    assert out == {
        "alertname": "DiskFull",
        "password": "[REDACTED:password]",
        "labels": {
            "api_key": "[REDACTED:api-key]",
            "Authorization": "[REDACTED:authorization]",
            "tokenizer": "bert",
            "note": "pwd=[REDACTED:password]",
        },
        "list": ["token=[REDACTED:token]", 7, {"secret": "[REDACTED:secret]"}],
        "db_password": "",
        "session_token": None,
        3: "keys that are not strings are fine",
    }
    assert original["labels"]["api_key"] == "k"  # input untouched


def test_redact_alert() -> None:
    alert = NormalizedAlert(
        fingerprint="f" * 32,
        source="generic",
        name="DbDown",
        status="firing",
        severity="critical",
        labels={"instance": "db-1:5432", "password": "hunter2"},
        annotations={"description": "dsn=postgres://app:hunter2@db-1/app"},
        links=[Link("runbook", "https://u:hunter2@wiki.example/db")],
        dedup_key="generic:" + "f" * 32,
    )
    out = redact_alert(alert)
    assert "hunter2" not in repr(out)
    assert out.labels["instance"] == "db-1:5432"
    assert out.links[0].url == "https://[REDACTED:url-credentials]@wiki.example/db"
    assert (out.fingerprint, out.dedup_key, out.name) == (alert.fingerprint, alert.dedup_key, alert.name)


def test_a_secret_in_an_alert_name_is_redacted_too() -> None:
    alert = NormalizedAlert(fingerprint="f" * 32, source="generic", name=f"login failed for token {GHP}",
                            status="firing", severity="error")
    out = redact_alert(alert)
    assert GHP not in out.name and out.name.startswith("login failed for token [REDACTED")
    assert out.fingerprint == alert.fingerprint


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("password", "password"),
        ("SMTP_PASSWORD", "password"),
        ("x-api-key", "api-key"),
        ("authorization", "authorization"),
        ("Cookie", "cookie"),
        ("token", "token"),
        ("tokenizer", None),
        ("max_tokens", None),
        ("key", None),
        ("monkey", None),
    ],
)
def test_secret_key_kind(key: str, kind: str | None) -> None:
    assert secret_key_kind(key) == kind


def _logger_with_filter() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_logging_filter_redacts_args_and_tracebacks() -> None:
    logger, stream = _logger_with_filter()
    logger.info("connecting to %s with %r", "https://u:hunter2@host", {"token": "abc"})
    try:
        raise RuntimeError("auth failed: password=hunter2")
    except RuntimeError:
        logger.exception("send failed Authorization: Bearer abcdef123456")
    logger.info("bad format %d", "password=hunter2")  # a formatting error must not leak args
    output = stream.getvalue()
    assert "hunter2" not in output
    assert "abcdef123456" not in output
    assert "[REDACTED:url-credentials]" in output
    assert "RuntimeError" in output


def test_fast_on_ordinary_alerts() -> None:
    # Loose bound (about 50x headroom on a laptop): catches a pathological regression only.
    text = "Disk usage on web-01.prod.example.com:9100 is 93.5% (threshold 90%). Runbook https://rb.example.com/x"
    start = time.perf_counter()
    for _ in range(10_000):
        redact_text(text)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "password=" + "a" * 200_000,
        "http://" + "a:" * 100_000 + "@",
        "bearer " * 40_000,
        "Authorization: " * 20_000,
        '"password":"' + "\\\\" * 100_000,
        "-----BEGIN PRIVATE KEY-----" * 10_000,
    ],
)
def test_hostile_input_is_linear(text: str) -> None:
    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 1.0
