"""Vendor severity words onto critical, error, warning, info."""

from __future__ import annotations

import pytest

from alertstream.ingest.severity import SEVERITY_TABLE, VENDOR_SEVERITY, map_severity
from alertstream.schemas.records import SEVERITIES


def test_every_table_maps_into_the_severity_set() -> None:
    assert set(SEVERITY_TABLE.values()) <= set(SEVERITIES)
    for vendor, table in VENDOR_SEVERITY.items():
        assert set(table.values()) <= set(SEVERITIES), vendor


@pytest.mark.parametrize(
    ("word", "vendor", "expected"),
    [
        ("CRITICAL", "", "critical"),
        (" High ", "", "error"),
        ("P3", "", "warning"),
        ("Not classified", "", "info"),
        ("low", "", "info"),
        ("low", "pagerduty", "warning"),  # urgency: low pages later, it is not informational
        ("high", "pagerduty", "error"),
        ("success", "datadog", "info"),
        ("5", "zabbix", "critical"),
        (5, "zabbix", "critical"),
        ("unknown", "cluster", "info"),
        ("P1", "cluster", "critical"),  # vendor table first, then the shared one
        ("5", "", "warning"),  # numbers mean something only to their vendor
        ("whatever", "", "warning"),
        (None, "", "warning"),
        (True, "zabbix", "warning"),
    ],
)
def test_map_severity(word: object, vendor: str, expected: str) -> None:
    assert map_severity(word, vendor=vendor) == expected


def test_default_is_the_callers() -> None:
    assert map_severity("whatever", default="info") == "info"
    assert map_severity(None, default="error", vendor="pagerduty") == "error"
