"""The one authentication decision the edge asks for, per source, over the raw body.

    decision = await authenticate(policies.get(source), request.headers, body,
                                  now=time.time(), replay_store=store)
    if not decision.ok:
        raise EdgeError(decision.status, decision.reason, decision.headers)
    ...  # and if the edge then does not accept the message (e.g. publishing fails):
    if decision.replay_key:
        await store.forget(decision.replay_key)

Schemes allowed for a source are tried in the policy's order and any one passing
admits. A scheme whose credentials are absent is skipped; wrong credentials
refuse (403) even when the source does not require authentication. Only when no
scheme's credentials were sent does `required` decide: 401, or pass (dev).
A source with no policy is not checked here. Reasons are short codes, safe to put
in a JSON body or a metric label; they never hold a secret or anything received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple, assert_never

from alertstream.secrets import Secret

from .policy import (
    BasicScheme,
    GitHubScheme,
    GrafanaScheme,
    PagerDutyScheme,
    Scheme,
    SourcePolicy,
    StandardWebhooksScheme,
    TokenScheme,
)
from .replay import ReplayStore, ReplayStoreError
from .signatures import (
    Rejection,
    verify_github,
    verify_grafana,
    verify_pagerduty,
    verify_standard_webhook,
)

REALM = "alertstream"
_UNAVAILABLE = "replay_store_unavailable"


@dataclass(frozen=True)
class AuthDecision:
    status: int  # 200 admit, 401 no credentials, 403 refused, 503 replay store down (retry)
    reason: str
    scheme: str | None = None  # the scheme that admitted or refused, when one did
    challenge: str | None = None  # WWW-Authenticate value on a 401
    # Set when admitting recorded a message id: the edge forgets it if it then fails to accept
    # the message, or the sender's retry (same id) would be refused as a replay.
    replay_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge} if self.challenge else {}


class _Outcome(NamedTuple):
    kind: Literal["pass", "absent", "fail"]
    reason: str = ""
    replay_key: str | None = None


_PASS = _Outcome("pass")
_ABSENT = _Outcome("absent")


def _outcome(problem: Rejection | None) -> _Outcome:
    return _PASS if problem is None else _Outcome("fail", problem.value)


async def authenticate(
    policy: SourcePolicy | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    replay_store: ReplayStore,
) -> AuthDecision:
    """headers: any mapping (Starlette's Headers or a dict), read case-insensitively, the first
    value of a repeated header winning as in Starlette. now: Unix seconds (time.time())."""
    if policy is None:
        return AuthDecision(200, "no_policy")
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    refusal: AuthDecision | None = None
    for scheme in policy.schemes:
        try:
            outcome = await _check(scheme, policy.source, lowered, body, now, replay_store)
        except ReplayStoreError:
            outcome = _Outcome("fail", _UNAVAILABLE)
        if outcome.kind == "pass":
            return AuthDecision(200, "verified", scheme.NAME, replay_key=outcome.replay_key)
        if outcome.kind == "fail":
            status = 503 if outcome.reason == _UNAVAILABLE else 403
            decision = AuthDecision(status, outcome.reason, scheme.NAME)
            # The first refusal is reported, unless a replay check went unanswered: a retry may pass.
            if refusal is None or decision.status > refusal.status:
                refusal = decision
    if refusal is not None:
        return refusal
    if not policy.required:
        return AuthDecision(200, "not_required")
    return AuthDecision(401, "missing_credentials", challenge=_challenge(policy) or None)


async def _check(
    scheme: Scheme, source: str, headers: Mapping[str, str], body: bytes, now: float, store: ReplayStore
) -> _Outcome:
    match scheme:
        case GrafanaScheme():
            signature = headers.get(scheme.signature_header)
            timestamp = headers.get(scheme.timestamp_header) if scheme.timestamp_header else None
            if signature is None or (scheme.timestamp_header and timestamp is None):
                return _ABSENT
            return _outcome(verify_grafana(body, signature, scheme.secrets, timestamp=timestamp, now=now,
                                           tolerance_s=scheme.tolerance_s))
        case PagerDutyScheme():
            signature = headers.get("x-pagerduty-signature")
            if signature is None:
                return _ABSENT
            return _outcome(verify_pagerduty(body, signature, scheme.secrets))
        case GitHubScheme():
            signature = headers.get("x-hub-signature-256")
            if signature is None:
                return _ABSENT
            return _outcome(verify_github(body, signature, scheme.secrets))
        case StandardWebhooksScheme():
            return await _standard_webhooks(scheme, source, headers, body, now, store)
        case BasicScheme():
            return _basic(scheme, headers)
        case TokenScheme():
            return _token(scheme, headers)
        case _:
            assert_never(scheme)


async def _standard_webhooks(
    scheme: StandardWebhooksScheme,
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    store: ReplayStore,
) -> _Outcome:
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature")
    if webhook_id is None or timestamp is None or signature is None:
        return _ABSENT
    problem = verify_standard_webhook(body, webhook_id=webhook_id, timestamp=timestamp,
                                      signature_header=signature, secrets=scheme.secrets, now=now,
                                      tolerance_s=scheme.tolerance_s)
    if problem is not None:
        return _outcome(problem)
    # Recorded only once the signature verifies, so nobody can burn ids they could not sign.
    # A timestamp is accepted from now - tolerance to now + tolerance, so an id must be
    # remembered for twice the tolerance to outlive every acceptable replay of it.
    key = f"{source}:{webhook_id}"
    if await store.seen_before(key, 2 * scheme.tolerance_s):
        return _Outcome("fail", "replayed")
    return _Outcome("pass", replay_key=key)


def _authorization(headers: Mapping[str, str], kind: str) -> str | None:
    """The credentials of an Authorization header of this kind (case-insensitive, RFC 9110)."""
    value = headers.get("authorization")
    if value is None:
        return None
    name, _, credentials = value.strip().partition(" ")
    return credentials.strip() if name.lower() == kind else None


def _basic(scheme: BasicScheme, headers: Mapping[str, str]) -> _Outcome:
    encoded = _authorization(headers, "basic")
    if encoded is None:
        return _ABSENT
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError:  # bad base64, non-ASCII header text, or not UTF-8
        return _Outcome("fail", "malformed_credentials")
    username, colon, password = decoded.partition(":")
    if not colon:
        return _Outcome("fail", "malformed_credentials")
    user, secret = username.encode("utf-8"), password.encode("utf-8")
    matched = False
    for credential in scheme.credentials:  # every entry and both fields compared, in constant time
        matched |= _same(credential.username, user) & _same(credential.password, secret)
    return _PASS if matched else _Outcome("fail", "bad_credentials")


def _token(scheme: TokenScheme, headers: Mapping[str, str]) -> _Outcome:
    sent = (_authorization(headers, "bearer"), headers.get("x-api-key"))
    candidates = [value for value in sent if value is not None]
    if not candidates:
        return _ABSENT
    matched = False
    for candidate in candidates:
        raw = candidate.strip().encode("utf-8", "replace")
        for token in scheme.tokens:
            matched |= _same(token, raw)
    return _PASS if matched else _Outcome("fail", "bad_credentials")


def _same(secret: Secret[bytes], candidate: bytes) -> bool:
    """Constant time, over digests so that neither length shows in the timing."""
    return hmac.compare_digest(hashlib.sha256(secret.reveal()).digest(), hashlib.sha256(candidate).digest())


def _challenge(policy: SourcePolicy) -> str:
    challenges = []
    if any(isinstance(scheme, BasicScheme) for scheme in policy.schemes):
        challenges.append(f'Basic realm="{REALM}", charset="UTF-8"')
    if any(isinstance(scheme, TokenScheme) for scheme in policy.schemes):
        challenges.append(f'Bearer realm="{REALM}"')
    return ", ".join(challenges)
