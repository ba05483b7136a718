"""The agent against the real edge and worker: `alertstream agent --once` pushes through the cluster
driver and the receiver is notified of the critical check. A second edge on the same broker and
worker requires Standard Webhooks signatures for the cluster source and serves hub overrides."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from alertstream.embedded import free_port
from tests.components import spawn, wait_ready

pytestmark = pytest.mark.integration

SECRET = "whsec_YWdlbnQtZTJlLXNpZ25pbmcta2V5LTAwMDAwMDAx"  # "agent-e2e-signing-key-00000001"
WRONG_SECRET = "whsec_YWdlbnQtZTJlLXdyb25nLWtleS0wMDAwMDAwMDAw"
QUIET = {"cpu": {"enabled": False}, "disk_io": {"enabled": False}, "temperature": {"enabled": False}}


def run_agent(env: dict[str, str], hub: str, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertstream", "agent", "--once", "--json", "--hub", hub, "--config", str(config),
         "--attempts", "2", *extra],
        env=env,
        capture_output=True, text=True, timeout=60,
    )


def options_file(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / f"agent-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(document))
    return path


def notified(pipeline: Any, instance_id: str, check: str) -> list[dict[str, Any]]:
    got = pipeline.receiver.wait_for(lambda r: r.json().get("title") == f"{check} on {instance_id}", 1)
    return [r.json() for r in got]


def test_agent_pushes_once_and_the_critical_check_is_notified(pipeline: Any, tmp_path: Path) -> None:
    instance_id = f"e2e-agent-{uuid.uuid4().hex[:8]}"
    config = options_file(tmp_path, {
        "instance_id": instance_id,
        "checks": {**QUIET, "disk": {"mounts": ["/"], "used_pct": {"warning": None, "critical": 0.001}}},
    })
    env = {**pipeline.env, "ALERTSTREAM_AGENT_KEY": pipeline.api_key}
    done = run_agent(env, pipeline.base_url, config)
    assert done.returncode == 0, done.stderr
    pushed = orjson.loads(done.stdout)
    assert pushed["instance_id"] == instance_id
    assert [a["status"] for a in pushed["alerts"] if a["check"] == "disk"] == ["critical"]

    [doc] = notified(pipeline, instance_id, "disk")
    assert (doc["severity"], doc["status"]) == ("critical", "open")
    [alert] = doc["alerts"]
    assert alert["source"] == "cluster"
    assert alert["labels"] == {"mount": "/", "instance_id": instance_id, "hostname": pushed["hostname"],
                               "check": "disk"}
    assert "metric.used_pct" in alert["annotations"]


@pytest.fixture(scope="module")
def signed_edge(pipeline: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An edge that takes the cluster source only with a valid signature, and serves overrides."""
    tmp = tmp_path_factory.mktemp("signed-edge")
    instance_id = f"e2e-hub-{uuid.uuid4().hex[:8]}"
    policies = tmp / "auth.json"
    policies.write_text(json.dumps({"cluster": {"schemes": {"standardwebhooks": {"secrets": [SECRET]}}}}))
    overrides = tmp / "overrides.json"
    overrides.write_text(json.dumps({"hosts": {instance_id: {
        "checks": {"memory": {"used_pct": {"warning": None, "critical": 0.001}}},
    }}}))
    port = free_port()
    env = {**pipeline.env, "ALERTSTREAM_PORT": str(port), "ALERTSTREAM_AUTH_POLICIES": str(policies),
           "ALERTSTREAM_AGENT_OVERRIDES": str(overrides)}
    edge = spawn("edge", env, tmp / "edge.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield {"base": base, "instance_id": instance_id, "dir": str(tmp)}
    finally:
        edge.stop()


def test_signed_push_with_hub_overrides(pipeline: Any, signed_edge: dict[str, str]) -> None:
    instance_id = signed_edge["instance_id"]
    config = options_file(Path(signed_edge["dir"]), {"instance_id": instance_id, "checks": QUIET})
    env = {**pipeline.env, "ALERTSTREAM_AGENT_KEY": pipeline.api_key}

    refused = run_agent({**env, "ALERTSTREAM_AGENT_SECRET": WRONG_SECRET}, signed_edge["base"], config)
    assert refused.returncode == 1
    assert "push failed (http_403_bad_signature)" in refused.stderr

    done = run_agent({**env, "ALERTSTREAM_AGENT_SECRET": SECRET}, signed_edge["base"], config)
    assert done.returncode == 0, done.stderr
    memory = [a for a in orjson.loads(done.stdout)["alerts"] if a["check"] == "memory"]
    assert [a["status"] for a in memory] == ["critical"]  # the hub's threshold, not the local default
    [doc] = notified(pipeline, instance_id, "memory")
    assert doc["severity"] == "critical"
    assert SECRET not in done.stderr and pipeline.api_key not in done.stderr


def test_signature_alone_admits_a_push(pipeline: Any, signed_edge: dict[str, str]) -> None:
    """Without an API key the overrides cannot be read (401): the agent runs on its local options."""
    instance_id = f"e2e-sig-{uuid.uuid4().hex[:8]}"
    config = options_file(Path(signed_edge["dir"]), {
        "instance_id": instance_id,
        "checks": {**QUIET, "inodes": {"mounts": ["/"], "used_pct": {"warning": None, "critical": 0.0001}}},
    })
    done = run_agent({**pipeline.env, "ALERTSTREAM_AGENT_SECRET": SECRET}, signed_edge["base"], config)
    assert done.returncode == 0, done.stderr
    assert "hub overrides unavailable (http_401_missing API key)" in done.stderr
    [doc] = notified(pipeline, instance_id, "inodes")
    assert doc["severity"] == "critical"
