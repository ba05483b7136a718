"""deploy/compose.yaml and deploy/Dockerfile: parse, and name only what exists."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from alertstream.ingest.middleware.apikeys import PROBES

from .conftest import DEPLOY, ROOT, our_variables


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def ours(services: dict[str, Any]) -> dict[str, Any]:
    """The services that run the alertstream image."""
    return {name: s for name, s in services.items() if s.get("image") == "alertstream:local"}


def test_compose_runs_the_whole_pipeline() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "redis", "migrate", "edge", "worker", "store"} <= set(services)
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert set(ours(services)) == {"migrate", "edge", "worker", "store", "cli"}
    for service in ours(services).values():
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}


def test_two_edge_processes_behind_one_port_and_two_workers() -> None:
    services = compose()["services"]
    edge, worker = services["edge"], services["worker"]
    assert int(edge["environment"]["ALERTSTREAM_EDGE_WORKERS"]) >= 2
    assert edge["environment"]["REDIS_URL"]  # the processes share replay ids and rate limits
    assert [p.rsplit(":", 1)[1] for p in edge["ports"]] == ["8080"]
    assert worker["deploy"]["replicas"] >= 2
    assert edge["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_storage_runs_beside_the_workers_not_inside_them() -> None:
    """Every stored topic is written by exactly one kind of process: the store service."""
    services = compose()["services"]
    assert services["worker"]["command"] == ["worker", "--no-store"]
    assert services["store"]["command"] == ["store"]
    assert services["store"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_commands_and_probes_exist(cli_commands: set[str], edge_routes: dict[str, set[str]]) -> None:
    services = compose()["services"]
    for name, service in ours(services).items():
        assert service["command"][0] in cli_commands | {"--help"}, name
    probe = " ".join(services["edge"]["healthcheck"]["test"])
    [path] = re.findall(r"http://127\.0\.0\.1:8080(/[a-z]+)", probe)
    assert path in edge_routes and path in PROBES


def test_compose_settings_are_all_known(known_settings: set[str]) -> None:
    services = compose()["services"]
    for name, service in ours(services).items():
        names = set(service["environment"])
        assert our_variables(names) == names, name
        assert names <= known_settings, sorted(names - known_settings)


def test_compose_needs_a_secret_key_and_hard_codes_none() -> None:
    env = compose()["services"]["edge"]["environment"]
    assert env["ALERTSTREAM_SECRET_KEY"].startswith("${ALERTSTREAM_SECRET_KEY:?")


def instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_image_entrypoint_is_the_cli_and_its_default_command_exists(cli_commands: set[str]) -> None:
    steps = instructions()
    entrypoint = [v for k, v in steps if k == "ENTRYPOINT"][-1]
    cmd = [v for k, v in steps if k == "CMD"][-1]
    assert entrypoint == '["alertstream"]'
    assert cmd.strip('[]"') in cli_commands
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["alertstream"] == "alertstream.cli:main"


def test_image_runs_as_an_unprivileged_user() -> None:
    users = [v for k, v in instructions() if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_image_copies_every_package_directory() -> None:
    """A new top-level package directory must reach the image (and the build context)."""
    package_dirs = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
                       .values())
    copied = {v.split()[0] for k, v in instructions() if k == "COPY" and not v.startswith("--from")}
    assert package_dirs <= copied, sorted(package_dirs - copied)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert all(f"!{d}/**" in ignore for d in package_dirs)
