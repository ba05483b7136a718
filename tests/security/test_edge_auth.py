"""API keys at the real edge (create_app): every status code, scopes, exemptions, revocation within
the bound, and how keys combine with per-source webhook authentication."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path

import orjson
import psycopg
import pytest

from alertstream.config import Settings
from alertstream.ingest import app as edge_app
from alertstream.storage.apikeys import revoke_key

from ..components import key_headers, new_api_key
from .edge_client import edge_client, with_edge

pytestmark = pytest.mark.integration

ALERT = {"name": "AuthCheck", "severity": "warning", "labels": {"instance": "web-1"}}
AM_TOKEN = "am-source-token-3f9"
GF_SECRET = "gf-hmac-secret-71x"
FIXTURES = Path(__file__).resolve().parent.parent / "ingest" / "drivers" / "fixtures"


def fixture_payload(vendor: str, name: str) -> dict:
    return json.loads((FIXTURES / vendor / name).read_text())["payload"]


def grafana_body() -> bytes:
    return orjson.dumps(fixture_payload("grafana", "unified_firing_batch.json"))


@pytest.fixture
def policy_settings(settings: Settings, tmp_path: Path) -> Settings:
    """alertmanager: a token; grafana: an HMAC signature without timestamp; generic: no policy."""
    policies = {
        "alertmanager": {"schemes": {"token": {"tokens": [AM_TOKEN]}}},
        "grafana": {"schemes": {"grafana": {"secrets": [GF_SECRET], "timestamp_header": None}}},
    }
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(policies))
    return with_edge(settings, auth_policies_path=str(path))


async def test_no_key_is_401_everywhere_but_the_exempt_paths(settings: Settings) -> None:
    async with edge_client(settings) as (_, c):
        response = await c.post("/alerts/webhook/", json=ALERT)
        assert response.status_code == 401
        assert response.json()["error"] == "missing API key"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await c.post("/alerts/webhook/generic/", json=ALERT)).status_code == 401
        assert (await c.get("/no/such/path")).status_code == 401  # 401 before 404: no map of the routes
        assert (await c.get("/consolex")).status_code == 401  # the console's exemption is its path, not a prefix
        assert (await c.get("/alerts/webhook/")).status_code == 200
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/readyz")).status_code == 200


async def test_keys_in_either_header(settings: Settings, api_key: str) -> None:
    async with edge_client(settings) as (_, c):
        assert (await c.post("/alerts/webhook/", json=ALERT, headers=key_headers(api_key))).status_code == 202
        assert (await c.post("/alerts/webhook/", json=ALERT, headers={"X-API-Key": api_key})).status_code == 202
        assert (await c.get("/no/such/path", headers={"X-API-Key": api_key})).status_code == 404


async def test_unknown_and_malformed_keys_are_401(settings: Settings, api_key: str) -> None:
    async with edge_client(settings) as (_, c):
        for headers in ({"X-API-Key": "ask_" + "0" * 40}, {"Authorization": "Bearer ask_short"},
                        {"X-API-Key": api_key[:-1] + ("0" if api_key[-1] != "0" else "1")}):
            response = await c.post("/alerts/webhook/", json=ALERT, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"] == "invalid API key"
            assert "invalid_token" in response.headers["www-authenticate"]


async def test_revoked_key_is_refused_within_the_bound(settings: Settings, database_url: str) -> None:
    name = f"revoke-{time.monotonic_ns()}"
    raw = new_api_key(database_url, name=name)
    async with edge_client(with_edge(settings, api_key_cache_s=1.0), key_headers(raw)) as (_, c):
        assert (await c.post("/alerts/webhook/", json=ALERT)).status_code == 202
        revoke_key(database_url, name)
        revoked_at = time.monotonic()
        while (await c.post("/alerts/webhook/", json=ALERT)).status_code == 202:
            assert time.monotonic() - revoked_at < 1.0 + 0.5, "revocation took longer than the cache TTL"
            await asyncio.sleep(0.05)
        assert (await c.post("/alerts/webhook/", json=ALERT)).status_code == 401


async def test_path_scopes_are_403(settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # An operator API module mounted through ingest/api/ is covered without doing anything itself.
    monkeypatch.setattr(edge_app, "API_MODULES", ("tests.security.fake_api",))
    alerts_only = new_api_key(database_url, allow=("/alerts/",))
    anywhere = new_api_key(database_url)
    async with edge_client(settings) as (_, c):
        assert (await c.get("/api/things")).status_code == 401  # GET included: data is never exempt
        assert (await c.post("/alerts/webhook/", json=ALERT, headers=key_headers(alerts_only))).status_code == 202
        response = await c.get("/api/things", headers=key_headers(alerts_only))
        assert response.status_code == 403 and response.json()["error"] == "API key not allowed for this path"
        response = await c.get("/api/things", headers=key_headers(anywhere))
        assert response.status_code == 200 and response.json()["data"] == "sensitive"


async def test_source_scopes_are_403(settings: Settings, database_url: str) -> None:
    grafana_only = new_api_key(database_url, sources=("grafana",))
    async with edge_client(settings, key_headers(grafana_only)) as (_, c):
        response = await c.post("/alerts/webhook/", json=ALERT)  # detected as generic
        assert response.status_code == 403 and response.json()["source"] == "generic"
        response = await c.post("/alerts/webhook/generic/", json=ALERT)  # forced: refused before the body
        assert response.status_code == 403
        body = grafana_body()
        response = await c.post("/alerts/webhook/", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 202


async def test_verified_source_signature_stands_in_for_a_key(policy_settings: Settings, api_key: str) -> None:
    body = grafana_body()
    signature = hmac.new(GF_SECRET.encode(), body, hashlib.sha256).hexdigest()
    json_type = {"content-type": "application/json"}
    async with edge_client(policy_settings) as (_, c):
        signed = {**json_type, "X-Grafana-Alerting-Signature": signature}
        assert (await c.post("/alerts/webhook/", content=body, headers=signed)).status_code == 202
        assert (await c.post("/alerts/webhook/grafana/", content=body, headers=signed)).status_code == 202
        # A per-source bearer token is not mistaken for an API key.
        token = {"Authorization": f"Bearer {AM_TOKEN}"}
        am = fixture_payload("alertmanager", "firing.json")
        assert (await c.post("/alerts/webhook/alertmanager/", json=am, headers=token)).status_code == 202
        # A wrong signature is refused even with a valid key: a key never weakens a source's policy.
        bad = {**json_type, "X-Grafana-Alerting-Signature": "0" * 64, **key_headers(api_key)}
        assert (await c.post("/alerts/webhook/", content=body, headers=bad)).status_code == 403
        # So is a missing one: the policy requires it.
        response = await c.post("/alerts/webhook/", content=body, headers={**json_type, **key_headers(api_key)})
        assert response.status_code == 401 and response.json()["error"] == "missing_credentials"
        # A source without a policy still needs a key, also when policies exist for others.
        response = await c.post("/alerts/webhook/", json=ALERT)
        assert response.status_code == 401 and response.json()["error"] == "missing API key"
        assert (await c.post("/alerts/webhook/generic/", json=ALERT)).status_code == 401
        assert (await c.post("/alerts/webhook/", json=ALERT, headers=key_headers(api_key))).status_code == 202


async def test_last_used_is_recorded(settings: Settings, database_url: str) -> None:
    name = f"used-{time.monotonic_ns()}"
    raw = new_api_key(database_url, name=name)
    async with edge_client(settings, key_headers(raw)) as (_, c):
        assert (await c.post("/alerts/webhook/", json=ALERT)).status_code == 202
    # Written in a batch: here at shutdown (the lifespan's end), otherwise with the next reload.
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT last_used_at FROM api_keys WHERE name = %s", (name,)).fetchone()
    assert row is not None and row[0] is not None


async def test_database_down_before_first_load_is_503(settings: Settings, api_key: str) -> None:
    down = with_edge(settings, top_database_url="postgresql://nobody@127.0.0.1:1/none")
    async with edge_client(down, key_headers(api_key)) as (_, c):
        response = await c.post("/alerts/webhook/", json=ALERT)
        assert response.status_code == 503 and response.headers["retry-after"]
