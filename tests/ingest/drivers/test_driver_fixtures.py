"""Every vendor fixture through the registry: detect() picks the vendor, parse() gives what it expects."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from alertstream.ingest import drivers

from .driver_cases import RECEIVED_AT, Case, as_json, check_record, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fixture_is_detected_and_parsed(case: Case) -> None:
    payload = copy.deepcopy(case.payload)

    driver = drivers.detect(payload)
    assert driver is not None, "no driver recognized the payload"
    assert driver.NAME == case.vendor
    alerts = driver.parse(payload, RECEIVED_AT)

    assert [as_json(alert) for alert in alerts] == case.expected
    for alert in alerts:
        check_record(alert, case.vendor)
    assert payload == case.payload, "parse() must not change its input"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_other_vendor_driver_claims_the_fixture(case: Case) -> None:
    """Order then only decides the documented traps; generic, the catch-all, may claim anything alert-like."""
    claims = {d.NAME for d in drivers.DRIVERS if d.detect(case.payload)}
    assert claims - {case.vendor, "generic"} == set()


def test_every_driver_has_at_least_three_fixtures() -> None:
    per_vendor = Counter(case.vendor for case in CASES)
    assert set(per_vendor) == set(drivers.BY_NAME)
    assert {vendor: n for vendor, n in per_vendor.items() if n < 3} == {}


def test_fixtures_cover_every_status_each_vendor_has() -> None:
    seen: dict[str, set[str]] = {}
    for case in CASES:
        seen.setdefault(case.vendor, set()).update(alert["status"] for alert in case.expected)
    with_ack = {"generic", "pagerduty", "newrelic", "opsgenie", "zabbix"}
    for vendor, statuses in seen.items():
        wanted = {"firing", "resolved"} | ({"acknowledged"} if vendor in with_ack else set())
        assert wanted <= statuses, vendor
