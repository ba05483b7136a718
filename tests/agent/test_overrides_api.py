"""The hub side of per-host options: GET /agents/{instance_id}/config (ingest/api/agents.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from alertstream.agent.options import AgentOptions
from alertstream.config import EdgeSettings, Settings
from alertstream.ingest.api import ApiContext
from alertstream.ingest.api.agents import load_overrides, options_for, routes

DOCUMENT = {
    "defaults": {"checks": {"disk": {"used_pct": {"warning": 80, "critical": 90}}}},
    "hosts": {
        "web-1": {"interval_s": 30, "checks": {"disk": {"used_pct": {"critical": 95}},
                                               "network": {"targets": ["db-1:5432"]}}},
    },
}


def test_a_host_gets_the_defaults_with_its_entry_over_them() -> None:
    overrides = load_overrides(DOCUMENT)
    web1 = options_for(overrides, "web-1")
    assert web1 == {"interval_s": 30, "checks": {"disk": {"used_pct": {"warning": 80, "critical": 95}},
                                                 "network": {"targets": ["db-1:5432"]}}}
    assert options_for(overrides, "web-2") == DOCUMENT["defaults"]
    assert options_for(load_overrides({"hosts": {}}), "web-2") is None
    # What a host receives is a valid options layer for the agent.
    assert AgentOptions.resolve({}, web1).checks["disk"]["used_pct"] == {"warning": 80, "critical": 95}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"default": {}}, "unknown key(s) default"),
        ({"defaults": {"checks": {"disk": {"usedpct": 1}}}}, "defaults: checks.disk.usedpct: unknown option"),
        ({"hosts": {"web-1": {"checks": {"cpu": {"usage_pct": {"warning": "high"}}}}}},
         "hosts.web-1: checks.cpu.usage_pct.warning: must be a number"),
        ({"hosts": {"bad id/..": {}}}, "is not a valid instance id"),
        ({"hosts": []}, "must be objects"),
        ([], "must be an object"),
    ],
)
def test_bad_documents_name_the_mistake(document: object, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_overrides(document)
    assert problem in str(caught.value)


class Client:
    def __init__(self, path: str) -> None:
        settings = Settings(edge=EdgeSettings(agent_overrides_path=path))
        ctx = ApiContext(settings, publisher=None, codec=None)  # type: ignore[arg-type]
        self.app = Starlette(routes=routes(ctx))

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://edge") as client:
            return await client.get(path)


def app(path: str) -> Client:
    return Client(path)


def write(path: Path, document: object, mtime: int) -> None:
    path.write_text(json.dumps(document))
    os.utime(path, (mtime, mtime))


async def test_the_route_serves_reloads_and_keeps_the_last_good_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    write(path, DOCUMENT, 1_000)
    client = app(str(path))
    response = await client.get("/agents/web-1/config")
    assert response.status_code == 200
    assert response.json() == {"instance_id": "web-1", "options": options_for(load_overrides(DOCUMENT), "web-1")}

    write(path, {"hosts": {"web-2": {"interval_s": 10}}}, 2_000)
    assert (await client.get("/agents/web-1/config")).status_code == 404
    assert (await client.get("/agents/web-2/config")).json()["options"] == {"interval_s": 10}

    write(path, {"hosts": {"web-2": {"interval_s": "soon"}}}, 3_000)  # a bad edit
    assert (await client.get("/agents/web-2/config")).json()["options"] == {"interval_s": 10}


async def test_bad_ids_and_no_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    write(path, DOCUMENT, 1_000)
    response = await app(str(path)).get("/agents/%20bad/config")
    assert response.status_code == 400 and response.json()["error"] == "invalid instance id"
    response = await app("").get("/agents/web-1/config")
    assert response.status_code == 404 and response.json()["error"] == "no overrides for this host"


def test_a_bad_file_fails_start_up(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text('{"hosts": {"web-1": {"checks": {"nope": {}}}}}')
    with pytest.raises(ValueError, match="hosts.web-1: checks.nope: unknown option"):
        app(str(path))
    with pytest.raises(ValueError, match="cannot read"):
        app(str(tmp_path / "missing.json"))
