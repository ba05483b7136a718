"""authenticate(): headers in, a 200/401/403/503 decision out, per source policy.

Signatures are the OpenSSL-computed literals of test_auth_signatures.py (same body, secrets, timestamp).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import pytest
from starlette.datastructures import Headers

from alertstream.ingest.auth import (
    AuthDecision,
    MemoryReplayStore,
    ReplayStoreError,
    SourcePolicy,
    authenticate,
    load_policies,
)

BODY = (
    '{"receiver":"alertstream","status":"firing","alerts":[{"labels":{"alertname":"DiskFull","host":"db-01"},'
    '"annotations":{"summary":"Disk 97% full – café"}}]}'
).encode()
TS = "1732871234"
NOW = 1732871234.0

GF_SIG_TS_OLD = "605aaa4382c0212de05e54056957875af3094a16cacbfd1a597d42a85c612ddc"
GF_SIG_TS_NEW = "f1d87f8b9a00e8b93a9a9a46bdf7513fba41e5dcb5acbd210d3cf557fb739f35"
GF_SIG_BODY_NEW = "5825ed5dbb2663e4c2d2a6214e15bfe2d09b3fdacf9c1697f1d2dc2734c4f224"
PD_SIG_A = "fcacdf89f4d259acc1cf6ea353bbc829d82c9750d0bb14103e22e7bd713b2c24"
PD_SIG_B = "20f6a08fce15635ece2da18fdad3009ab2a0cd178989d5fec5d6ef79e5c62e03"
GH_SIG_1 = "f89c72fab08ce0ca8fcea3756c828d2311d91508526a205a3b17b31adc01b668"
SW_ID = "msg_2Lh9KRb0pzN4LePd3XiA4dy4Zz4"
SW_SIG_1 = "rSNCl5FW254YxtaU+Oi68EsP2plRu1hr8mRXbYIFc+o="
BASIC_GOOD = "YWxlcnRtYW5hZ2VyOnMzY3IzdDp3aXRoOmNvbG9ucw=="  # base64("alertmanager:s3cr3t:with:colons")
BASIC_WRONG = "YWxlcnRtYW5hZ2VyOndyb25n"  # base64("alertmanager:wrong")
BASIC_UTF8 = "Y2Fmw6k6cMOkc3M="  # base64 of the UTF-8 bytes of "café:päss"

SECRET_TEXTS = [
    "gf-old-secret-7Q2x",
    "gf-new-secret-9Kp4",
    "pd-signing-secret-A1",
    "pd-signing-secret-B2",
    "gh-hook-secret-Zk3",
    "whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ==",
    "YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ==",
    "s3cr3t:with:colons",
    "päss",
    "tok-current-8f2",
    "tok-previous-1c9",
]

CONFIG = {
    "grafana": {"schemes": {"grafana": {"secrets": ["gf-old-secret-7Q2x", "gf-new-secret-9Kp4"]}}},
    "grafana-no-ts": {"schemes": {"grafana": {"secrets": ["gf-new-secret-9Kp4"], "timestamp_header": None}}},
    "grafana-custom": {
        "schemes": {
            "grafana": {
                "secrets": ["gf-new-secret-9Kp4"],
                "signature_header": "X-Sig",
                "timestamp_header": "X-Sig-Time",
                "tolerance_s": 60,
            }
        }
    },
    "pagerduty": {"schemes": {"pagerduty": {"secrets": ["pd-signing-secret-B2"]}}},
    "github": {"schemes": {"github": {"secrets": ["gh-hook-secret-Zk3"]}}},
    "svix": {"schemes": {"standardwebhooks": {"secrets": ["whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="]}}},
    "svix-too": {
        "schemes": {"standardwebhooks": {"secrets": ["whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="]}}
    },
    "alertmanager": {
        "schemes": {
            "basic": {
                "credentials": [
                    {"username": "alertmanager", "password": "s3cr3t:with:colons"},
                    {"username": "café", "password": "päss"},
                ]
            }
        }
    },
    "token": {"schemes": {"token": {"tokens": ["tok-current-8f2", "tok-previous-1c9"]}}},
    "mixed": {
        "schemes": {"token": {"tokens": ["tok-current-8f2"]}, "grafana": {"secrets": ["gf-new-secret-9Kp4"]}}
    },
    "dev": {"required": False, "schemes": {"token": {"tokens": ["tok-current-8f2"]}}},
    "open": {"required": False},
}
POLICIES = load_policies(CONFIG)


async def check(
    source: str | None,
    headers: Mapping[str, str],
    *,
    now: float = NOW,
    store: MemoryReplayStore | None = None,
    body: bytes = BODY,
) -> AuthDecision:
    policy = POLICIES[source] if source is not None else None
    return await authenticate(
        policy, headers, body, now=now, replay_store=store if store is not None else MemoryReplayStore()
    )


def assert_ok(decision: AuthDecision, scheme: str | None) -> None:
    assert (decision.ok, decision.status, decision.scheme) == (True, 200, scheme), decision


def assert_refused(decision: AuthDecision, status: int, reason: str) -> None:
    assert (decision.ok, decision.status, decision.reason) == (False, status, reason), decision


GRAFANA_OK = {"X-Grafana-Alerting-Signature": GF_SIG_TS_NEW, "X-Grafana-Alerting-Timestamp": TS}
SW_OK = {"webhook-id": SW_ID, "webhook-timestamp": TS, "webhook-signature": f"v1,{SW_SIG_1}"}


# --- each scheme admits what it should ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "headers"),
    [
        ("grafana", GRAFANA_OK),
        ("grafana", {"x-grafana-alerting-signature": GF_SIG_TS_OLD, "X-GRAFANA-ALERTING-TIMESTAMP": TS}),
        ("grafana-no-ts", {"X-Grafana-Alerting-Signature": GF_SIG_BODY_NEW}),
        ("grafana-custom", {"X-Sig": GF_SIG_TS_NEW, "x-sig-time": TS}),
        ("pagerduty", {"X-PagerDuty-Signature": f"v1={PD_SIG_A},v1={PD_SIG_B}"}),
        ("github", {"X-Hub-Signature-256": f"sha256={GH_SIG_1}"}),
        ("svix", {"Webhook-Id": SW_ID, "Webhook-Timestamp": TS, "Webhook-Signature": f"v1,{SW_SIG_1}"}),
        ("alertmanager", {"Authorization": f"Basic {BASIC_GOOD}"}),
        ("alertmanager", {"authorization": f"basic {BASIC_UTF8}"}),
        ("token", {"Authorization": "Bearer tok-current-8f2"}),
        ("token", {"Authorization": "bearer tok-previous-1c9"}),
        ("token", {"X-API-Key": "tok-previous-1c9"}),
    ],
)
async def test_valid_credentials_admit(source: str, headers: dict[str, str]) -> None:
    decision = await check(source, headers)
    assert_ok(decision, POLICIES[source].schemes[0].NAME)
    assert decision.reason == "verified"
    assert decision.headers == {}


async def test_starlette_headers_are_read_as_the_edge_passes_them() -> None:
    raw = [
        (b"x-hub-signature-256", f"sha256={GH_SIG_1}".encode()),
        (b"x-hub-signature-256", b"sha256=" + b"0" * 64),
    ]
    assert_ok(await check("github", Headers(raw=raw)), "github")  # first value wins, as in Starlette
    assert_refused(await check("github", Headers(raw=list(reversed(raw)))), 403, "bad_signature")


async def test_no_policy_is_not_checked_here() -> None:
    decision = await check(None, {})
    assert_ok(decision, None)
    assert decision.reason == "no_policy"


# --- 401: nothing to check ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "headers", "challenge"),
    [
        ("grafana", {}, None),
        (
            "grafana",
            {"X-Grafana-Alerting-Signature": GF_SIG_TS_NEW},
            None,
        ),  # timestamp header is on by default
        ("pagerduty", {"X-Hub-Signature-256": f"sha256={GH_SIG_1}"}, None),
        ("svix", {"webhook-id": SW_ID, "webhook-signature": f"v1,{SW_SIG_1}"}, None),
        (
            "alertmanager",
            {"Authorization": "Bearer tok-current-8f2"},
            'Basic realm="alertstream", charset="UTF-8"',
        ),
        ("token", {"Authorization": f"Basic {BASIC_GOOD}"}, 'Bearer realm="alertstream"'),
        ("mixed", {}, 'Bearer realm="alertstream"'),
    ],
)
async def test_missing_credentials_is_401(
    source: str, headers: dict[str, str], challenge: str | None
) -> None:
    decision = await check(source, headers)
    assert_refused(decision, 401, "missing_credentials")
    assert decision.challenge == challenge
    assert decision.headers == ({"WWW-Authenticate": challenge} if challenge else {})


# --- 403: wrong, stale, replayed, malformed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "headers", "reason"),
    [
        ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Signature": GF_SIG_BODY_NEW}, "bad_signature"),
        ("grafana-no-ts", {"X-Grafana-Alerting-Signature": GF_SIG_TS_OLD}, "bad_signature"),
        ("pagerduty", {"X-PagerDuty-Signature": f"v1={PD_SIG_A}"}, "bad_signature"),
        ("github", {"X-Hub-Signature-256": f"sha256={PD_SIG_A}"}, "bad_signature"),
        ("svix", {**SW_OK, "webhook-id": "msg_someone_else"}, "bad_signature"),
        ("alertmanager", {"Authorization": f"Basic {BASIC_WRONG}"}, "bad_credentials"),
        ("token", {"Authorization": "Bearer tok-guess"}, "bad_credentials"),
        ("token", {"X-API-Key": ""}, "bad_credentials"),
        ("dev", {"X-API-Key": "tok-guess"}, "bad_credentials"),  # not required, but wrong is still wrong
    ],
)
async def test_wrong_credentials_are_403(source: str, headers: dict[str, str], reason: str) -> None:
    decision = await check(source, headers)
    assert_refused(decision, 403, reason)
    assert decision.headers == {}


@pytest.mark.parametrize(
    ("source", "headers", "reason"),
    [
        ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Signature": "not-hex"}, "malformed_signature"),
        ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Timestamp": "yesterday"}, "malformed_timestamp"),
        ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Timestamp": ""}, "malformed_timestamp"),
        ("pagerduty", {"X-PagerDuty-Signature": PD_SIG_B}, "malformed_signature"),  # no "v1="
        ("pagerduty", {"X-PagerDuty-Signature": ""}, "malformed_signature"),
        ("github", {"X-Hub-Signature-256": GH_SIG_1}, "malformed_signature"),
        ("svix", {**SW_OK, "webhook-signature": SW_SIG_1}, "malformed_signature"),  # no comma
        ("svix", {**SW_OK, "webhook-signature": "v1,%%%garbage%%%"}, "malformed_signature"),
        ("svix", {**SW_OK, "webhook-signature": "v1,ñandú"}, "malformed_signature"),
        ("svix", {**SW_OK, "webhook-timestamp": "1732871234abc"}, "malformed_timestamp"),
        ("svix", {**SW_OK, "webhook-id": "two words"}, "malformed_id"),
        ("alertmanager", {"Authorization": "Basic %%%"}, "malformed_credentials"),
        (
            "alertmanager",
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
            "malformed_credentials",
        ),
        (
            "alertmanager",
            {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
            "malformed_credentials",
        ),
        ("alertmanager", {"Authorization": "Basic ÿÿÿÿ"}, "malformed_credentials"),
        ("alertmanager", {"Authorization": "Basic"}, "malformed_credentials"),
    ],
)
async def test_malformed_headers_are_403_not_exceptions(
    source: str, headers: dict[str, str], reason: str
) -> None:
    assert_refused(await check(source, headers), 403, reason)


@pytest.mark.parametrize(
    ("now", "status"),
    [(NOW + 300, 200), (NOW + 301, 403), (NOW - 300, 200), (NOW - 301, 403)],
)
async def test_grafana_tolerance_edges(now: float, status: int) -> None:
    decision = await check("grafana", GRAFANA_OK, now=now)
    assert decision.status == status
    if status == 403:
        assert decision.reason == "stale_timestamp"


@pytest.mark.parametrize(("now", "status"), [(NOW + 60, 200), (NOW + 61, 403), (NOW - 61, 403)])
async def test_configured_tolerance_is_used(now: float, status: int) -> None:
    decision = await check("grafana-custom", {"X-Sig": GF_SIG_TS_NEW, "X-Sig-Time": TS}, now=now)
    assert decision.status == status


@pytest.mark.parametrize(
    ("now", "status"), [(NOW + 300, 200), (NOW + 301, 403), (NOW - 300, 200), (NOW - 301, 403)]
)
async def test_standard_webhooks_tolerance_edges(now: float, status: int) -> None:
    assert (await check("svix", SW_OK, now=now)).status == status


async def test_standard_webhooks_replay_is_refused() -> None:
    store = MemoryReplayStore()
    assert_ok(await check("svix", SW_OK, store=store), "standardwebhooks")
    assert_refused(await check("svix", SW_OK, store=store, now=NOW + 10), 403, "replayed")
    # Ids are per source: another source's sender may reuse the same id.
    assert_ok(await check("svix-too", SW_OK, store=store), "standardwebhooks")


async def test_forgetting_lets_the_senders_retry_through() -> None:
    # The edge admitted the message but could not accept it (say publishing failed): it forgets the
    # id, and the sender's retry, which keeps the webhook-id, is not taken for a replay.
    store = MemoryReplayStore()
    decision = await check("svix", SW_OK, store=store)
    assert decision.replay_key is not None
    await store.forget(decision.replay_key)
    assert_ok(await check("svix", SW_OK, store=store, now=NOW + 5), "standardwebhooks")


async def test_only_recorded_admissions_carry_a_replay_key() -> None:
    assert (await check("grafana", GRAFANA_OK)).replay_key is None
    assert (await check("token", {"X-API-Key": "tok-current-8f2"})).replay_key is None
    assert (await check("svix", {**SW_OK, "webhook-signature": "v1,AAAA"})).replay_key is None


async def test_a_forged_request_does_not_burn_the_id() -> None:
    store = MemoryReplayStore()
    forged = {**SW_OK, "webhook-signature": "v1," + base64.b64encode(b"\x00" * 32).decode()}
    assert_refused(await check("svix", forged, store=store), 403, "bad_signature")
    assert_refused(await check("svix", SW_OK, store=store, now=NOW + 400), 403, "stale_timestamp")
    assert store.size() == 0
    assert_ok(await check("svix", SW_OK, store=store), "standardwebhooks")


async def test_replay_store_down_is_503() -> None:
    class DownStore:
        async def seen_before(self, key: str, ttl_s: int) -> bool:
            raise ReplayStoreError("replay_store_unavailable", "ConnectionError")

        async def forget(self, key: str) -> None:
            raise AssertionError("nothing was recorded")

    decision = await authenticate(POLICIES["svix"], SW_OK, BODY, now=NOW, replay_store=DownStore())
    assert_refused(decision, 503, "replay_store_unavailable")


async def test_replay_window_covers_the_whole_tolerance() -> None:
    seen: list[tuple[str, int]] = []

    class RecordingStore:
        async def seen_before(self, key: str, ttl_s: int) -> bool:
            seen.append((key, ttl_s))
            return False

        async def forget(self, key: str) -> None:
            raise AssertionError("authenticate never forgets by itself")

    decision = await authenticate(POLICIES["svix"], SW_OK, BODY, now=NOW, replay_store=RecordingStore())
    assert seen == [(f"svix:{SW_ID}", 600)]
    assert decision.replay_key == f"svix:{SW_ID}"


# --- several schemes, and required: false -------------------------------------------------------------


async def test_any_passing_scheme_admits() -> None:
    assert_ok(await check("mixed", {"Authorization": "Bearer tok-current-8f2"}), "token")
    assert_ok(await check("mixed", {**GRAFANA_OK, "X-API-Key": "tok-guess"}), "grafana")


async def test_a_failing_scheme_refuses_when_none_passes() -> None:
    assert_refused(await check("mixed", {"X-API-Key": "tok-guess"}), 403, "bad_credentials")
    decision = await check("mixed", {**GRAFANA_OK, "X-Grafana-Alerting-Timestamp": "1"})
    assert_refused(decision, 403, "stale_timestamp")
    assert decision.scheme == "grafana"


async def test_not_required_lets_unauthenticated_requests_through() -> None:
    decision = await check("dev", {})
    assert_ok(decision, None)
    assert decision.reason == "not_required"
    assert_ok(await check("dev", {"X-API-Key": "tok-current-8f2"}), "token")
    assert_ok(await check("open", {"Authorization": "Bearer anything"}), None)


# --- nothing secret leaks ----------------------------------------------------------------------------


BAD_REQUESTS = [
    ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Signature": GF_SIG_BODY_NEW}),
    ("grafana", {**GRAFANA_OK, "X-Grafana-Alerting-Timestamp": "not-a-time"}),
    ("pagerduty", {"X-PagerDuty-Signature": f"v1={PD_SIG_A}"}),
    ("github", {"X-Hub-Signature-256": f"sha256={PD_SIG_B}"}),
    ("svix", {**SW_OK, "webhook-signature": f"v1,{SW_SIG_1[::-1]}"}),
    ("alertmanager", {"Authorization": f"Basic {BASIC_WRONG}"}),
    ("token", {"Authorization": "Bearer tok-current-8f2x"}),
    ("token", {}),
]


@pytest.mark.parametrize(("source", "headers"), BAD_REQUESTS)
async def test_decisions_never_hold_a_secret_or_what_was_sent(source: str, headers: dict[str, str]) -> None:
    decision = await check(source, headers)
    assert not decision.ok
    shown = " ".join([decision.reason, repr(decision), str(decision.headers)])
    for text in [*SECRET_TEXTS, *headers.values(), GF_SIG_TS_NEW, SW_SIG_1, PD_SIG_B, "wrong"]:
        assert text not in shown
    assert decision.reason.replace("_", "").isalpha()  # a short code, safe as JSON and as a metric label


def test_policies_never_show_their_secrets() -> None:
    shown = repr(POLICIES) + str(POLICIES) + " ".join(f"{p}" for p in POLICIES.values())
    for text in SECRET_TEXTS + ["alertstream-test-key-0001", "YWxlcnRzdHJlYW0"]:
        assert text not in shown
    assert "Secret('***')" in shown
    assert isinstance(POLICIES["grafana"], SourcePolicy)
