"""The vendor fixture table and the contract every parsed record meets; shared by the driver tests.

A fixture is fixtures/<vendor>/<case>.json:
    {"about": "which documented format, which case", "payload": <the webhook body>,
     "expected": [<every field of each NormalizedAlert; timestamps ISO-8601 UTC with Z>]}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alertstream.ingest.fingerprint import DEDUP_KEY_MAX
from alertstream.schemas.records import SEVERITIES, STATUSES, NormalizedAlert

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED_AT = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    vendor: str
    name: str
    payload: Any
    expected: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.vendor}/{self.name}"


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        data = json.loads(path.read_text())
        cases.append(Case(path.parent.name, path.stem, data["payload"], data["expected"]))
    return cases


def as_json(alert: NormalizedAlert) -> dict[str, Any]:
    """A record the way the fixtures write it."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return plain(dataclasses.asdict(alert))


def check_record(alert: Any, source: str) -> None:
    """What any driver's output must be, whatever the payload."""
    assert isinstance(alert, NormalizedAlert)
    assert alert.source == source
    assert alert.fingerprint and isinstance(alert.fingerprint, str)
    assert alert.name and isinstance(alert.name, str)
    assert alert.status in STATUSES
    assert alert.severity in SEVERITIES
    for mapping in (alert.labels, alert.annotations):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    for moment in (alert.starts_at, alert.ends_at):
        assert moment is None or moment.utcoffset() == timedelta(0)
    assert all(link.kind and link.url for link in alert.links)
    assert isinstance(alert.group_key, str)
    assert alert.dedup_key and len(alert.dedup_key) <= DEDUP_KEY_MAX
    # The envelope is the edge's to fill.
    assert (alert.event_id, alert.trace_id, alert.received_at) == ("", "", None)
