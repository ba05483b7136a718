"""The agent's signatures: the Standard Webhooks specification's published vector, and the
edge's own verifier (ingest/auth/signatures.py) accepting what the agent signs."""

from __future__ import annotations

import pytest

from alertstream.agent.signing import new_message_id, parse_secret, sign, signature_headers
from alertstream.ingest.auth.signatures import Rejection, verify_standard_webhook

# The specification's test vector (also in Svix's and every reference library's tests), checked once
# with OpenSSL: printf 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' \
#   | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(echo MfKQ… | base64 -d | xxd -p -c 100) -binary | base64
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_vector() -> None:
    key = parse_secret(VECTOR_SECRET)
    assert sign(VECTOR_BODY, key, message_id=VECTOR_ID, timestamp=VECTOR_TS) == VECTOR_SIGNATURE


def verify(headers: dict[str, str], body: bytes, secret: str, now: float) -> Rejection | None:
    return verify_standard_webhook(
        body, webhook_id=headers["webhook-id"], timestamp=headers["webhook-timestamp"],
        signature_header=headers["webhook-signature"], secrets=[parse_secret(secret)], now=now,
    )


def test_the_edge_verifies_what_the_agent_signs() -> None:
    body = '{"instance_id":"i-1","hostname":"web-1","alerts":[{"check":"disk","status":"ok","message":"/ café"}]}'
    headers = signature_headers(body.encode(), parse_secret(VECTOR_SECRET), message_id=new_message_id(),
                                timestamp=1_750_000_000)
    assert verify(headers, body.encode(), VECTOR_SECRET, now=1_750_000_010) is None
    assert verify(headers, body.encode() + b" ", VECTOR_SECRET, now=1_750_000_010) is Rejection.BAD_SIGNATURE
    other = "whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="
    assert verify(headers, body.encode(), other, now=1_750_000_010) is Rejection.BAD_SIGNATURE
    assert verify(headers, body.encode(), VECTOR_SECRET, now=1_750_001_000) is Rejection.STALE_TIMESTAMP


def test_the_edge_verifies_the_specification_vector_too() -> None:
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS), "webhook-signature": VECTOR_SIGNATURE}
    assert verify(headers, VECTOR_BODY, VECTOR_SECRET, now=VECTOR_TS) is None


def test_message_ids_are_fresh_and_acceptable_to_the_edge() -> None:
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("msg_") and len(i) == 36 for i in ids)


@pytest.mark.parametrize("text", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"])
def test_bad_secrets_are_refused_without_repeating_them(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_secret(text)
    assert text.removeprefix("whsec_") not in str(caught.value) or not text.removeprefix("whsec_")
