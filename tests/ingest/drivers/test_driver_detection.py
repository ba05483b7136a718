"""Detection order: the traps the registry order exists for, and payloads nobody should claim."""

from __future__ import annotations

import copy

import pytest

from alertstream.ingest import drivers
from alertstream.ingest.drivers import alertmanager, cluster, datadog, generic, grafana, newrelic

from .driver_cases import RECEIVED_AT, load_cases

CASES = {case.id: case for case in load_cases()}


def payload_of(case_id: str) -> dict:
    return copy.deepcopy(CASES[case_id].payload)


def test_registry_order() -> None:
    assert [d.NAME for d in drivers.DRIVERS] == [
        "cluster",
        "grafana",
        "alertmanager",
        "pagerduty",
        "opsgenie",
        "newrelic",
        "datadog",
        "zabbix",
        "generic",
    ]
    assert drivers.BY_NAME == {d.NAME: d for d in drivers.DRIVERS}
    assert len(drivers.BY_NAME) == len(drivers.DRIVERS), "two drivers share a NAME"


def test_grafana_unified_payload_is_grafana_not_alertmanager() -> None:
    payload = payload_of("grafana/unified_firing_batch")
    assert drivers.detect(payload) is grafana
    # Even when a relay rewrites the version to Alertmanager's, the one thing that makes
    # alertmanager claim it, the earlier grafana driver keeps it.
    payload["version"] = "4"
    assert alertmanager.detect(payload)
    assert drivers.detect(payload) is grafana


def test_alertmanager_payload_is_not_grafana() -> None:
    payload = payload_of("alertmanager/firing")
    assert not grafana.detect(payload)
    assert drivers.detect(payload) is alertmanager


@pytest.mark.parametrize(
    "payload",
    [
        {"org": {"id": "123456", "name": "Acme"}, "title": "Deploy finished", "body": "v2024.05.2 is live"},
        {"org": {"id": 1}, "name": "BuildBroken", "status": "firing", "event_type": "ci"},
    ],
)
def test_an_org_object_does_not_make_a_payload_datadog(payload: dict) -> None:
    assert not datadog.detect(payload)
    assert drivers.detect(payload) is generic


def test_payloads_with_a_title_go_to_their_vendor_before_generic() -> None:
    for case_id, driver in (("datadog/triggered", datadog), ("newrelic/issue_activated", newrelic)):
        payload = payload_of(case_id)
        assert generic.detect(payload), "the trap: generic would take it by its title"
        assert drivers.detect(payload) is driver


def test_cluster_batch_is_cluster_even_when_its_items_look_generic() -> None:
    payload = {
        "instance_id": "i-1",
        "hostname": "web-1",
        "alerts": [{"check": "disk", "name": "disk", "status": "warning"}],
    }
    assert generic.detect(payload)
    assert drivers.detect(payload) is cluster


def test_a_generic_batch_is_not_cluster() -> None:
    payload = {"alerts": [{"name": "DiskFull", "status": "firing", "hostname": "web-1"}]}
    assert drivers.detect(payload) is generic


def test_detection_looks_at_the_envelope_so_bad_documents_get_a_precise_error() -> None:
    payload = payload_of("cluster/batch_mixed")
    payload["alerts"][0]["status"] = "on fire"
    assert drivers.detect(payload) is cluster
    with pytest.raises(drivers.ParseError, match=r"alerts\[0\]\.status"):
        cluster.parse(payload, RECEIVED_AT)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        42,
        "firing",
        [],
        [{"name": "DiskFull"}],
        {},
        {"foo": "bar"},
        {"alerts": []},
        {"alerts": [{"labels": {"alertname": "X"}}]},
        {"org": {"id": "1", "name": "Acme"}},
        {"event": "deploy", "service": "api"},
        {"messages": []},
        {"messages": [{"event": "build.finished"}]},
        {"state": "ACTIVATED"},
        {"action": "Create", "alert": "not an object"},
        {"event_id": "1"},
    ],
    ids=repr,
)
def test_unrecognized_payloads_detect_nothing(payload: object) -> None:
    assert drivers.detect(payload) is None
