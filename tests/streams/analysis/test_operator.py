"""The analysis stage's storage and operator surface on a real PostgreSQL: sealed provider
keys and blobs, `alertstream providers add|list|test|activate`, `alertstream analyze`,
and the /intelligence/ API. Its own database: activating a provider in the session's
database would switch the shared e2e worker's provider."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import orjson
import psycopg
import pytest
from starlette.applications import Starlette

from alertstream.cli import main
from alertstream.config import Settings
from alertstream.ingest.api import ApiContext
from alertstream.ingest.api.intelligence import routes
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import to_avro
from alertstream.secrets import Keyring, generate_key
from alertstream.storage import analyses, providers, sealed
from alertstream.storage.db import open_pool
from alertstream.storage.incidents import write_timeline
from alertstream.storage.writer import write_incident_events
from alertstream.streams.analysis import local
from alertstream.streams.analysis.engine import Outcome
from alertstream.streams.analysis.registry import load_active
from alertstream.streams.analysis.service import to_record

from ...components import test_database as fresh_database
from .fakes import Answer, FakeModel, fake_model
from .incidents import alert, incident

pytestmark = pytest.mark.integration

SECRET_KEY = f"k1:{generate_key()}"
API_KEY = "sk-live-operator-test-4242424242"
EVENT = incident(alert("disk", labels={"hostname": "web-1", "check": "disk", "mountpoint": "/var"},
                       annotations={"metric.used_pct": "95"}), incident_id="inc-op-1", version=2)


@pytest.fixture(scope="module")
def own_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("analysis-db")) as url:
        yield url


@pytest.fixture(scope="module")
def model() -> Iterator[FakeModel]:
    with fake_model() as fake:
        yield fake


@pytest.fixture
def env(own_db: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"DATABASE_URL": own_db, "ALERTSTREAM_SECRET_KEY": SECRET_KEY, "ALERTSTREAM_ANALYSIS_ALLOW": "127.0.0.1",
              "OPERATOR_TEST_KEY": API_KEY}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
async def pool(own_db: str) -> AsyncIterator[object]:
    p = await open_pool(own_db)
    yield p
    await p.close()


def cli(*argv: str) -> int:
    return main(list(argv))


def test_providers_cli_seals_the_key_and_switches_the_active_one(
    env: dict[str, str], model: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("providers", "add", "fake-openai", "--kind", "openai", "--url", model.url + "/v1", "--model",
               "gpt-test", "--api-key-env", "OPERATOR_TEST_KEY", "--timeout", "3", "--option", "max_tokens=700") == 0
    assert cli("providers", "add", "fake-claude", "--kind", "anthropic", "--url", model.url, "--model",
               "claude-test", "--api-key-env", "OPERATOR_TEST_KEY", "--activate") == 0
    # Refused: a metadata address, an unknown option, a missing model.
    assert cli("providers", "add", "evil", "--kind", "openai", "--url", "http://169.254.169.254/v1",
               "--model", "m") == 2
    assert cli("providers", "add", "typo", "--kind", "openai", "--model", "m", "--option", "jsonmode=false") == 2
    assert cli("providers", "add", "nomodel", "--kind", "gemini") == 2
    capsys.readouterr()
    assert cli("providers", "list") == 0
    listing = capsys.readouterr().out
    assert "* " in listing and "fake-claude" in listing and "sealed" in listing and API_KEY not in listing
    active = [line for line in listing.splitlines() if line.startswith("*")]
    assert len(active) == 1 and "fake-claude" in active[0]
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        stored = conn.execute("SELECT api_key_sealed FROM analysis_providers WHERE name = 'fake-openai'").fetchone()
    assert API_KEY.encode() not in bytes(stored[0])

    model.script(Answer())
    assert cli("providers", "test", "fake-openai", "--json") == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["status"] == "ok" and report["tokens_in"] == 120 and report["confidence"] == 0.83
    assert model.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert model.requests[0].json["max_tokens"] == 700
    model.script(Answer(status=500))
    assert cli("providers", "test", "fake-openai") == 1

    assert cli("providers", "activate", "nope") == 1
    assert cli("providers", "activate", "local") == 0
    capsys.readouterr()
    cli("providers", "list")
    assert [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("*")][0].split()[1] == "local"


async def test_load_active_opens_the_key_and_refuses_a_now_blocked_url(env: dict[str, str], pool: object) -> None:
    keyring = Keyring.parse(SECRET_KEY)
    await providers.upsert(pool, providers.ProviderRow(  # type: ignore[arg-type]
        "loopback", "openai", "http://127.0.0.1:9/v1", "m", providers.seal_key(keyring, "loopback", "s3cret")))
    await providers.activate(pool, "loopback")  # type: ignore[arg-type]
    config = await load_active(pool, keyring, ["127.0.0.1"])  # type: ignore[arg-type]
    assert config is not None and config.api_key.reveal() == "s3cret" and "s3cret" not in repr(config)
    with pytest.raises(ValueError, match="base_url refused"):
        await load_active(pool, keyring, [])  # type: ignore[arg-type]
    await providers.activate(pool, None)  # type: ignore[arg-type]
    assert await load_active(pool, keyring) is None  # type: ignore[arg-type]


def outcome_with_text() -> Outcome:
    return Outcome("ok", "fake-openai", "gpt-test", local.analyze(EVENT), tokens_in=10, tokens_out=5, latency_ms=42,
                   signature="sig", prompt_sha256=hashlib.sha256(b"the prompt").hexdigest(),
                   response_sha256=hashlib.sha256(b"the response").hexdigest(), prompt=b"the prompt",
                   response=b"the response")


async def test_analyses_and_sealed_blobs(env: dict[str, str], pool: object) -> None:
    keyring = Keyring.parse(SECRET_KEY)
    outcome = outcome_with_text()
    now = datetime.now(UTC)
    record = to_record(EVENT, outcome, now, now)
    blobs = [analyses.Blob.of("prompt", b"the prompt"), analyses.Blob.of("response", b"the response")]
    await analyses.save(pool, record, "sig", blobs, keyring)  # type: ignore[arg-type]
    await analyses.save(pool, record, "sig", blobs, keyring)  # type: ignore[arg-type]  # idempotent
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        sealed_rows = conn.execute("SELECT sealed FROM analysis_blobs").fetchall()
    assert sealed_rows and all(b"the prompt" not in bytes(r[0]) for r in sealed_rows)
    assert await analyses.open_blob(pool, keyring, outcome.prompt_sha256) == b"the prompt"  # type: ignore[arg-type]
    found = await analyses.for_incident(pool, EVENT.incident_id)  # type: ignore[arg-type]
    assert found[0]["analysis_id"] == record.analysis_id and found[0]["tokens_in"] == 10
    assert "the prompt" not in orjson.dumps(found).decode()
    # `alertstream secrets rotate` knows these columns and re-seals them under a new key.
    assert providers.KEY_COLUMN in sealed.SEALED_COLUMNS and analyses.BLOB_COLUMN in sealed.SEALED_COLUMNS
    new_key = generate_key()
    reports = sealed.rotate_all(env["DATABASE_URL"], Keyring.parse(f"k2:{new_key},{SECRET_KEY}"),
                                [analyses.BLOB_COLUMN])
    assert reports[0].rotated >= 2
    only_new = Keyring.parse(f"k2:{new_key}")
    assert await analyses.open_blob(pool, only_new, outcome.prompt_sha256) == b"the prompt"  # type: ignore[arg-type]


async def test_a_batch_of_analyses_keeps_every_column(env: dict[str, str], pool: object) -> None:
    # save_many writes the batch as one statement of binary arrays; every column must land as saved.
    now = datetime.now(UTC)
    first = dataclasses.replace(to_record(EVENT, outcome_with_text(), now, now), analysis_id="batch-1",
                                fallback_used=True, cache_hit=True, confidence=1)
    second = dataclasses.replace(first, analysis_id="batch-2", follow_up=True, recommendations=[])
    await analyses.save_many(pool, [(first, "sig-1", []), (second, "sig-2", []), (first, "sig-1", [])],  # type: ignore[arg-type]
                             None)
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT analysis_id, incident_version, confidence, recommendations, fallback_used, cache_hit, follow_up,"
            " tokens_in, tokens_out, latency_ms, signature, prompt_sha256, started_at FROM analyses"
            " WHERE analysis_id LIKE 'batch-%' ORDER BY analysis_id").fetchall()
    assert rows == [
        ("batch-1", EVENT.version, 1.0, to_avro(first.recommendations), True, True, False, 10, 5, 42, "sig-1",
         first.prompt_sha256, now),
        ("batch-2", EVENT.version, 1.0, [], True, True, True, 10, 5, 42, "sig-2", first.prompt_sha256, now),
    ]
    assert to_avro(first.recommendations)  # the local analysis recommends something: the JSON is not trivially []


async def test_analyze_command_reanalyzes_a_stored_incident(
    env: dict[str, str], pool: object, capsys: pytest.CaptureFixture[str]
) -> None:
    await write_incident_events(pool, [EVENT])  # type: ignore[arg-type]
    await write_timeline(pool, [EVENT])  # type: ignore[arg-type]
    loaded = await analyses.load_incident(pool, EVENT.incident_id)  # type: ignore[arg-type]
    assert loaded is not None and loaded.alerts[0].labels == EVENT.alerts[0].labels and loaded.version == 2
    # The CLI runs its own event loop: call it from a thread, as from a shell.
    assert await asyncio.to_thread(cli, "analyze", EVENT.incident_id, "--provider", "local", "--json") == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["provider"] == "local" and report["category"] == "disk" and report["recommendations"]
    assert await asyncio.to_thread(cli, "analyze", "no-such-incident") == 1
    found = await analyses.for_incident(pool, EVENT.incident_id)  # type: ignore[arg-type]
    assert report["analysis_id"] in {f["analysis_id"] for f in found}


@pytest.fixture
async def api(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env(env)
    ctx = ApiContext(settings, None, Codec())  # type: ignore[arg-type]
    app = Starlette(routes=routes(ctx))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as client:
        yield client
    await ctx.close()


async def test_intelligence_api(api: httpx.AsyncClient, model: FakeModel, pool: object) -> None:
    body = {"name": "api-gemini", "kind": "gemini", "base_url": model.url + "/v1beta", "model": "gemini-test",
            "api_key": "AIza-api-test-key", "options": {"json_mode": True}, "activate": True}
    created = await api.post("/intelligence/providers/", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["has_api_key"] and "AIza-api-test-key" not in created.text
    listing = (await api.get("/intelligence/providers/")).json()
    assert listing["active"] == "api-gemini" and "AIza" not in orjson.dumps(listing).decode()
    for bad, status in [({**body, "kind": "skynet"}, 400), ({**body, "base_url": "http://10.0.0.1/v1"}, 400),
                        ({**body, "timeout_s": "fast"}, 400), ({**body, "options": {"nope": 1}}, 400)]:
        response = await api.post("/intelligence/providers/", json=bad)
        assert response.status_code == status and "error" in response.json()
    assert (await api.post("/intelligence/providers/", content=b"{nope")).status_code == 400
    assert (await api.post("/intelligence/providers/nope/activate")).status_code == 404
    assert (await api.post("/intelligence/providers/local/activate")).json() == {"active": "local"}

    assert (await api.get("/intelligence/recommendations/")).status_code == 400
    assert (await api.get("/intelligence/recommendations/?incident_id=unknown")).status_code == 404
    await analyses.save(pool, to_record(EVENT, outcome_with_text(), datetime.now(UTC), datetime.now(UTC)),  # type: ignore[arg-type]
                        "sig", [], None)
    recs = (await api.get(f"/intelligence/recommendations/?incident_id={EVENT.incident_id}")).json()
    assert recs["latest"]["status"] == "ok" and recs["latest"]["recommendations"]

    health = await api.get("/intelligence/health/?window=1h")
    assert health.status_code == 200
    doc = health.json()
    assert doc["active"]["name"] == "local" and doc["window_s"] == 3600
    assert any(p["provider"] == "fake-openai" and p["analyses"] >= 1 for p in doc["providers"])
    assert (await api.get("/intelligence/health/?window=forever")).status_code == 400


def test_health_report_is_degraded_when_the_active_provider_mostly_falls_back() -> None:
    from datetime import timedelta

    from alertstream.ingest.api.intelligence import health_report

    row = providers.ProviderRow("p", "openai", model="m", active=True)
    stats = [{"provider": "p", "model": "m", "analyses": 10, "fallback": 7, "past_deadline": 0}]
    assert health_report(row, stats, timedelta(minutes=15), 2.0)["status"] == "degraded"
    assert health_report(row, [dict(stats[0], fallback=1)], timedelta(minutes=15), 2.0)["status"] == "ok"
    assert health_report(None, [], timedelta(minutes=15), 2.0)["status"] == "idle"
