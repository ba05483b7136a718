"""Issue 3's end-to-end check: one real webhook per vendor format goes through the real
edge (auto-detection, no forced driver) and worker, and the receiver is notified of
every firing alert in it."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.ingest.drivers.driver_cases import load_cases

pytestmark = pytest.mark.integration

# One firing document per vendor format (a batch where the vendor has one).
FIRING_CASES = {
    "alertmanager/batch", "cluster/batch_mixed", "datadog/triggered", "generic/batch", "grafana/legacy_alerting",
    "grafana/unified_firing_batch", "newrelic/classic_open", "newrelic/issue_activated", "opsgenie/create",
    "pagerduty/v2_batch", "pagerduty/v3_triggered", "zabbix/problem",
}
CASES = [c for c in load_cases() if c.id in FIRING_CASES]


def test_every_vendor_format_is_covered() -> None:
    assert {c.id for c in CASES} == FIRING_CASES
    assert {c.vendor for c in CASES} == {
        "alertmanager", "cluster", "datadog", "generic", "grafana", "newrelic", "opsgenie", "pagerduty", "zabbix",
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_vendor_webhook_reaches_the_receiver(pipeline, case) -> None:
    headers = getattr(pipeline, "headers", {})
    response = httpx.post(f"{pipeline.base_url}/alerts/webhook/", json=case.payload, headers=headers, timeout=15)
    assert response.status_code == 202, response.text
    accepted = {a["fingerprint"] for a in response.json()["alerts"]}
    firing = {e["fingerprint"] for e in case.expected if e["status"] == "firing"}
    assert firing and firing <= accepted

    def notified_fingerprints() -> set[str]:
        seen: set[str] = set()
        for r in pipeline.receiver.matching(lambda r: True):
            for alert in r.json()["alerts"]:
                if alert["source"] == case.vendor and alert["status"] == "firing":
                    seen.add(alert["fingerprint"])
        return seen

    deadline = time.monotonic() + 60
    while not firing <= notified_fingerprints() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert firing <= notified_fingerprints()
