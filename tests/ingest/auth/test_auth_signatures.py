"""Signature checks against vectors computed outside this code base.

Every expected signature below was computed once with OpenSSL 3.0 and pasted in, e.g.
    printf '1732871234:' | cat - body.bin | openssl dgst -sha256 -hmac 'gf-new-secret-9Kp4'
    printf 'msg_….1732871234.' | cat - body.bin \
        | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> -binary | base64
where body.bin holds BODY's bytes. The vendors' own published examples are included too.
"""

from __future__ import annotations

import pytest

from alertstream.ingest.auth.signatures import (
    Rejection,
    check_timestamp,
    standard_webhooks_secret,
    verify_github,
    verify_grafana,
    verify_pagerduty,
    verify_standard_webhook,
)
from alertstream.secrets import Secret

# 158 bytes, non-ASCII included: the checks must work on the bytes, never on decoded text.
BODY = (
    '{"receiver":"alertstream","status":"firing","alerts":[{"labels":{"alertname":"DiskFull","host":"db-01"},'
    '"annotations":{"summary":"Disk 97% full – café"}}]}'
).encode()
TS = "1732871234"
NOW = 1732871234.0

GF_OLD, GF_NEW = Secret(b"gf-old-secret-7Q2x"), Secret(b"gf-new-secret-9Kp4")
GF_SIG_TS_OLD = "605aaa4382c0212de05e54056957875af3094a16cacbfd1a597d42a85c612ddc"  # "<TS>:<body>", old
GF_SIG_TS_NEW = "f1d87f8b9a00e8b93a9a9a46bdf7513fba41e5dcb5acbd210d3cf557fb739f35"  # "<TS>:<body>", new
GF_SIG_BODY_NEW = "5825ed5dbb2663e4c2d2a6214e15bfe2d09b3fdacf9c1697f1d2dc2734c4f224"  # body only, new

PD_A, PD_B = Secret(b"pd-signing-secret-A1"), Secret(b"pd-signing-secret-B2")
PD_SIG_A = "fcacdf89f4d259acc1cf6ea353bbc829d82c9750d0bb14103e22e7bd713b2c24"
PD_SIG_B = "20f6a08fce15635ece2da18fdad3009ab2a0cd178989d5fec5d6ef79e5c62e03"

GH_1, GH_2 = Secret(b"gh-hook-secret-Zk3"), Secret(b"gh-hook-secret-Yw8")
GH_SIG_1 = "f89c72fab08ce0ca8fcea3756c828d2311d91508526a205a3b17b31adc01b668"
GH_SIG_2 = "cda59b9213049fb39f19a3b9358f83b9ebcf7ae3e4d2516a798b0f7533e213f6"

SW_1 = standard_webhooks_secret("whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ==")  # "alertstream-test-key-0001"
SW_2 = standard_webhooks_secret("whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMg==")  # "alertstream-test-key-0002"
SW_ID = "msg_2Lh9KRb0pzN4LePd3XiA4dy4Zz4"
SW_SIG_1 = "rSNCl5FW254YxtaU+Oi68EsP2plRu1hr8mRXbYIFc+o="
SW_SIG_2 = "Iu/KBl3cF1lEDRrMp/gZKuD9lXCdPRr2CPP+fGHC4XU="


# --- Grafana ---------------------------------------------------------------------------------------


def grafana(
    signature: str, secrets: list[Secret[bytes]], timestamp: str | None = TS, now: float = NOW
) -> Rejection | None:
    return verify_grafana(BODY, signature, secrets, timestamp=timestamp, now=now, tolerance_s=300)


def test_grafana_with_timestamp_verifies() -> None:
    assert grafana(GF_SIG_TS_NEW, [GF_NEW]) is None


def test_grafana_without_timestamp_signs_the_body_alone() -> None:
    assert grafana(GF_SIG_BODY_NEW, [GF_NEW], timestamp=None) is None
    assert grafana(GF_SIG_TS_NEW, [GF_NEW], timestamp=None) is Rejection.BAD_SIGNATURE


def test_grafana_wrong_secret() -> None:
    assert grafana(GF_SIG_TS_NEW, [GF_OLD]) is Rejection.BAD_SIGNATURE


def test_grafana_rotation_any_active_secret_matches() -> None:
    assert grafana(GF_SIG_TS_NEW, [GF_OLD, GF_NEW]) is None
    assert grafana(GF_SIG_TS_OLD, [GF_OLD, GF_NEW]) is None


def test_grafana_uppercase_hex_is_the_same_digest() -> None:
    assert grafana(GF_SIG_TS_NEW.upper(), [GF_NEW]) is None


def test_grafana_signed_timestamp_cannot_be_swapped() -> None:
    # A fresh timestamp with an old signature: the timestamp is part of what is signed.
    assert grafana(GF_SIG_TS_NEW, [GF_NEW], timestamp="1732871235", now=NOW) is Rejection.BAD_SIGNATURE


def test_grafana_tampered_body() -> None:
    assert (
        verify_grafana(BODY + b" ", GF_SIG_TS_NEW, [GF_NEW], timestamp=TS, now=NOW) is Rejection.BAD_SIGNATURE
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW + 300, None),  # exactly at the limit, in the past
        (NOW + 301, Rejection.STALE_TIMESTAMP),
        (NOW - 300, None),  # exactly at the limit, in the future
        (NOW - 301, Rejection.STALE_TIMESTAMP),
        (NOW + 300.5, Rejection.STALE_TIMESTAMP),
    ],
)
def test_grafana_tolerance_edges(now: float, expected: Rejection | None) -> None:
    assert grafana(GF_SIG_TS_NEW, [GF_NEW], now=now) is expected


@pytest.mark.parametrize(
    "signature", ["", "zz" * 32, GF_SIG_TS_NEW[:-2], GF_SIG_TS_NEW + "00", "sha256=" + GF_SIG_TS_NEW]
)
def test_grafana_malformed_signature(signature: str) -> None:
    assert grafana(signature, [GF_NEW]) is Rejection.MALFORMED_SIGNATURE


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "-1732871234", "1732871234.5", "1e9", "١٧٣٢٨٧١٢٣٤", "9" * 40]
)
def test_grafana_malformed_timestamp(timestamp: str) -> None:
    assert grafana(GF_SIG_TS_NEW, [GF_NEW], timestamp=timestamp) is Rejection.MALFORMED_TIMESTAMP


def test_check_timestamp_directly() -> None:
    assert check_timestamp("100", now=400.0, tolerance_s=300) is None
    assert check_timestamp("100", now=401.0, tolerance_s=300) is Rejection.STALE_TIMESTAMP
    assert check_timestamp("0100", now=100.0, tolerance_s=1) is None


# --- PagerDuty -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "secrets"),
    [
        (f"v1={PD_SIG_A}", [PD_A]),
        (f"v1={PD_SIG_A},v1={PD_SIG_B}", [PD_B]),  # PagerDuty sends one entry per secret it holds
        (f"v1={PD_SIG_B}, v1={PD_SIG_A}", [PD_A]),
        (f"v1={'0' * 64},v1={PD_SIG_B}", [PD_A, PD_B]),  # rotation on our side as well
        (f"v2=whatever,v1=nothex,v1={PD_SIG_A}", [PD_A]),  # unreadable entries just match nothing
    ],
)
def test_pagerduty_verifies(header: str, secrets: list[Secret[bytes]]) -> None:
    assert verify_pagerduty(BODY, header, secrets) is None


def test_pagerduty_wrong_secret() -> None:
    assert verify_pagerduty(BODY, f"v1={PD_SIG_A},v1={PD_SIG_B}", [Secret(b"pd-other")]) is (
        Rejection.BAD_SIGNATURE
    )


@pytest.mark.parametrize("header", ["", PD_SIG_A, f"v2={PD_SIG_A}", "v1=", "v1=xyz", ",,,", f"v1 {PD_SIG_A}"])
def test_pagerduty_malformed(header: str) -> None:
    assert verify_pagerduty(BODY, header, [PD_A]) is Rejection.MALFORMED_SIGNATURE


# --- GitHub-style ----------------------------------------------------------------------------------


def test_github_published_example() -> None:
    # docs.github.com, "Validating webhook deliveries": secret and payload as documented.
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_github(b"Hello, World!", signature, [Secret(b"It's a Secret to Everybody")]) is None


def test_github_verifies_and_rotates() -> None:
    assert verify_github(BODY, f"sha256={GH_SIG_1}", [GH_1]) is None
    assert verify_github(BODY, f"sha256={GH_SIG_2}", [GH_1, GH_2]) is None
    assert verify_github(BODY, f"sha256={GH_SIG_2}", [GH_1]) is Rejection.BAD_SIGNATURE


@pytest.mark.parametrize(
    "header", ["", GH_SIG_1, f"sha1={GH_SIG_1}", "sha256=", "sha256=not-hex", f"SHA256 {GH_SIG_1}"]
)
def test_github_malformed(header: str) -> None:
    assert verify_github(BODY, header, [GH_1]) is Rejection.MALFORMED_SIGNATURE


# --- Standard Webhooks -----------------------------------------------------------------------------


def standard(
    signature_header: str,
    secrets: list[Secret[bytes]],
    *,
    webhook_id: str = SW_ID,
    timestamp: str = TS,
    now: float = NOW,
    body: bytes = BODY,
) -> Rejection | None:
    return verify_standard_webhook(
        body,
        webhook_id=webhook_id,
        timestamp=timestamp,
        signature_header=signature_header,
        secrets=secrets,
        now=now,
        tolerance_s=300,
    )


def test_standard_webhooks_published_example() -> None:
    # The example vector of the Standard Webhooks reference libraries (spec authors' test suite).
    secret = standard_webhooks_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert (
        verify_standard_webhook(
            b'{"test": 2432232314}',
            webhook_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp="1614265330",
            signature_header="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            secrets=[secret],
            now=1614265330.0,
        )
        is None
    )


def test_standard_webhooks_verifies() -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_1]) is None


def test_standard_webhooks_wrong_secret() -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_2]) is Rejection.BAD_SIGNATURE


def test_standard_webhooks_rotation_and_several_signatures() -> None:
    assert standard(f"v1,{SW_SIG_2}", [SW_1, SW_2]) is None
    assert standard(f"v1,{SW_SIG_1} v1,{SW_SIG_2}", [SW_2]) is None
    assert standard(f"v1a,{SW_SIG_1} v1,{SW_SIG_2}", [SW_2]) is None  # other versions are skipped


def test_standard_webhooks_id_and_body_are_signed() -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_1], webhook_id="msg_other") is Rejection.BAD_SIGNATURE
    assert standard(f"v1,{SW_SIG_1}", [SW_1], body=BODY.replace(b"97", b"98")) is Rejection.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW + 300, None),
        (NOW + 301, Rejection.STALE_TIMESTAMP),
        (NOW - 300, None),
        (NOW - 301, Rejection.STALE_TIMESTAMP),
    ],
)
def test_standard_webhooks_tolerance_edges(now: float, expected: Rejection | None) -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_1], now=now) is expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        SW_SIG_1,
        f"v1{SW_SIG_1}",
        "v1,!!!not-base64!!!",
        "v1,",
        "v1,AAAA",
        f"v1,{SW_SIG_1[:-1]}",
        f"v2,{SW_SIG_1}",
        "v1,ÿÿÿÿ",
    ],
)
def test_standard_webhooks_malformed_signature(header: str) -> None:
    assert standard(header, [SW_1]) is Rejection.MALFORMED_SIGNATURE


@pytest.mark.parametrize("timestamp", ["", "soon", "1732871234.0", " "])
def test_standard_webhooks_malformed_timestamp(timestamp: str) -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_1], timestamp=timestamp) is Rejection.MALFORMED_TIMESTAMP


@pytest.mark.parametrize("webhook_id", ["", "msg 1", "msg_é", "x" * 257, "msg\n1"])
def test_standard_webhooks_malformed_id(webhook_id: str) -> None:
    assert standard(f"v1,{SW_SIG_1}", [SW_1], webhook_id=webhook_id) is Rejection.MALFORMED_ID


@pytest.mark.parametrize(
    "text", ["YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ==", "whsec_", "whsec_not base64!", "whsec_YQ"]
)
def test_standard_webhooks_secret_format(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        standard_webhooks_secret(text)
    if secret_part := text.removeprefix("whsec_"):
        assert secret_part not in str(raised.value)


def test_standard_webhooks_secret_key_bytes() -> None:
    assert SW_1.reveal() == b"alertstream-test-key-0001"
