"""deploy/k8s: every manifest parses, and what it names exists (routes, commands, settings, files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alertstream.ingest.api.agents import load_overrides
from alertstream.ingest.middleware.apikeys import PROBES

from .conftest import DEPLOY, our_variables

K8S = DEPLOY / "k8s"


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / resource).read_text()) if d)
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in of_kind(kind) if d["metadata"]["name"] == name]
    return doc


def workloads() -> list[dict[str, Any]]:
    return of_kind("Deployment") + of_kind("Job")


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_every_yaml_file_parses_and_every_resource_is_listed() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    for path in K8S.glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all("kind" in d and "apiVersion" in d for d in docs), path
        assert path.name in listed or path.name == "kustomization.yaml", f"{path.name} is not in kustomization.yaml"
    assert {d["kind"] for d in documents()} >= {"Namespace", "ConfigMap", "Deployment", "Service",
                                                "PodDisruptionBudget", "Job"}


def test_generated_config_and_secrets_have_their_files() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    [secrets] = kustomization["secretGenerator"]
    assert secrets["envs"] == ["secrets.env"]
    assert (K8S / "secrets.env.example").exists() and not (K8S / "secrets.env").exists()
    [overrides] = kustomization["configMapGenerator"]
    for name in overrides["files"]:
        load_overrides(json.loads((K8S / name).read_text()))  # a valid (empty) overrides document


def test_commands_are_cli_commands(cli_commands: set[str]) -> None:
    for workload in workloads():
        for container in containers(workload):
            assert container["image"] == "alertstream"
            assert container["args"][0] in cli_commands, container["args"]
    assert {c["args"][0] for w in workloads() for c in containers(w)} == {"edge", "worker", "migrate", "store"}
    # Storage is written by the store Deployment only, never also inside the stream workers.
    [worker] = containers(named("Deployment", "alertstream-worker"))
    assert worker["args"] == ["worker", "--no-store"]


def test_edge_probes_point_at_real_routes_that_need_no_key(edge_routes: dict[str, set[str]]) -> None:
    [edge] = containers(named("Deployment", "alertstream-edge"))
    port_names = {p["name"] for p in edge["ports"]}
    probes = {kind: edge[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe", "startupProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert "GET" in edge_routes[probe["path"]]
        assert probe["path"] in PROBES  # a probe that needed an API key would never pass
        assert probe["port"] in port_names
    assert edge["ports"][0]["containerPort"] == 8080


def test_services_and_budgets_select_the_pods_they_mean() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}

    def selected(selector: dict[str, str]) -> list[str]:
        return [name for name, d in deployments.items()
                if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]

    service = named("Service", "alertstream-edge")
    assert selected(service["spec"]["selector"]) == ["alertstream-edge"]
    [edge] = containers(deployments["alertstream-edge"])
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in edge["ports"]}
    budgets = {p["metadata"]["name"]: p for p in of_kind("PodDisruptionBudget")}
    assert selected(budgets["alertstream-edge"]["spec"]["selector"]["matchLabels"]) == ["alertstream-edge"]
    assert selected(budgets["alertstream-worker"]["spec"]["selector"]["matchLabels"]) == ["alertstream-worker"]
    assert selected(budgets["alertstream-store"]["spec"]["selector"]["matchLabels"]) == ["alertstream-store"]
    assert budgets["alertstream-edge"]["spec"]["minAvailable"] < deployments["alertstream-edge"]["spec"]["replicas"]
    for deployment in deployments.values():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= \
            deployment["spec"]["template"]["metadata"]["labels"].items()
        assert deployment["spec"]["replicas"] >= 2


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_are_bounded_and_unprivileged(kind: str) -> None:
    for workload in of_kind(kind):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"]
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in pod.get("volumes", [])}


def test_environment_comes_from_the_config_and_the_secret_and_is_all_known(known_settings: set[str]) -> None:
    config = named("ConfigMap", "alertstream-config")
    secret_name = yaml.safe_load((K8S / "kustomization.yaml").read_text())["secretGenerator"][0]["name"]
    for workload in workloads():
        for container in containers(workload):
            refs = {(k, v["name"]) for ref in container["envFrom"] for k, v in ref.items()}
            assert refs == {("configMapRef", config["metadata"]["name"]), ("secretRef", secret_name)}
    secret_keys = [line.split("=", 1)[0] for line in (K8S / "secrets.env.example").read_text().splitlines()
                   if line and not line.startswith("#")]
    names = set(config["data"]) | set(secret_keys)
    assert our_variables(names) == names
    assert names <= known_settings, sorted(names - known_settings)
    assert not set(config["data"]) & set(secret_keys)


def test_the_overrides_file_is_mounted_where_the_setting_says() -> None:
    path = Path(named("ConfigMap", "alertstream-config")["data"]["ALERTSTREAM_AGENT_OVERRIDES"])
    deployment = named("Deployment", "alertstream-edge")
    [edge] = containers(deployment)
    [mount] = [m for m in edge["volumeMounts"] if m["mountPath"] == str(path.parent)]
    [volume] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == "alertstream-agent-overrides"
    assert [i["path"] for i in volume["configMap"]["items"]] == [path.name]
