from __future__ import annotations

import dataclasses
import json
import typing
from datetime import UTC, datetime

import pytest

from alertstream.schemas import records
from alertstream.schemas.codec import MARKER, SCHEMA_DIR, SCHEMA_FILES, Codec, SchemaError
from alertstream.schemas.records import (
    Analysis,
    AuditRef,
    IncidentAlert,
    IncidentEvent,
    Lane,
    Link,
    NormalizedAlert,
    NotificationResult,
    Recommendation,
)

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 29, 10, 0, 1, 500000, tzinfo=UTC)

ALERT = NormalizedAlert(
    fingerprint="fp1", source="alertmanager", name="DiskFull", status="firing", severity="critical",
    labels={"instance": "db-1"}, annotations={"summary": "disk 95%"}, starts_at=T0, ends_at=None,
    links=[Link("runbook", "https://runbooks.example/disk")], group_key="g", dedup_key="alertmanager:fp1",
    event_id="e1", trace_id="t1", received_at=T1,
)
MEMBER = IncidentAlert(fingerprint="fp1", event_id="e1", source="alertmanager", name="DiskFull", status="firing",
                       severity="critical", labels={"instance": "db-1"}, starts_at=T0,
                       links=[Link("runbook", "https://runbooks.example/disk")])
EVENT = IncidentEvent(event_id="ie1", trace_id="t1", incident_id="i1", version=2, reason="alert_added", status="open",
                      severity="critical", title="DiskFull on db-1", correlation_key="DiskFull|db-1", opened_at=T0,
                      updated_at=T1, alerts=[MEMBER], lane=Lane("catch-all", ["analyze", "notify"], ["ops"]))
EXAMPLES = [
    ALERT,
    EVENT,
    Analysis(analysis_id="a1", incident=EVENT, status="ok", provider="local", started_at=T0, finished_at=T1,
             category="disk", summary="s", probable_cause="c", confidence=0.7,
             recommendations=[Recommendation("investigate", 1, "t", "d", ["du -sh /var"])], tokens_in=3),
    NotificationResult(delivery_key="i1:2:ops", incident_id="i1", incident_version=2, channel="ops",
                       channel_type="webhook", trace_id="t1", status="sent", started_at=T0, finished_at=T1,
                       status_code=200),
    AuditRef(ref_id="r1", trace_id="t1", run_id="run", stage="checked", input_ref="alert:e1",
             output_ref="incident:i1@2", content_sha256="ab" * 32, status="ok", started_at=T0, finished_at=T1),
]


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_type_round_trips(codec: Codec, record) -> None:
    data = codec.encode(record)
    assert data[:2] == MARKER
    assert codec.decode(data) == record


def test_single_object_header_carries_the_crc64_fingerprint_of_the_canonical_form(codec: Codec) -> None:
    from fastavro.schema import fingerprint

    data = codec.encode(ALERT)
    schema = codec.schemas["io.alertstream.NormalizedAlert"]
    expected = int(fingerprint(schema.canonical, "CRC-64-AVRO"), 16).to_bytes(8, "little")
    assert data[2:10] == expected


def test_unknown_fingerprint_is_a_clear_error(codec: Codec) -> None:
    data = bytearray(codec.encode(ALERT))
    data[2:10] = b"\x00" * 8
    with pytest.raises(SchemaError, match="unknown writer schema fingerprint 0000000000000000"):
        codec.decode(bytes(data))


@pytest.mark.parametrize("junk", [b"", b"{}", b"\xc3\x01\x00", b"\x00\x01" + b"\x00" * 20])
def test_non_avro_messages_are_schema_errors(codec: Codec, junk: bytes) -> None:
    with pytest.raises(SchemaError):
        codec.decode(junk)


def test_truncated_body_is_a_schema_error(codec: Codec) -> None:
    with pytest.raises(SchemaError):
        codec.decode(codec.encode(ALERT)[:20])


def _avro_fields(name: str) -> dict[str, object]:
    for filename in SCHEMA_FILES:
        raw = json.loads((SCHEMA_DIR / filename).read_text())
        if f"{raw['namespace']}.{raw['name']}" == name:
            return {f["name"]: f for f in raw["fields"]}
    raise AssertionError(f"no .avsc defines {name}")


@pytest.mark.parametrize("cls", records.ALL_RECORDS, ids=lambda c: c.__name__)
def test_python_types_agree_with_the_avsc_files(cls) -> None:
    avro = _avro_fields(cls.SCHEMA)
    python = {f.name: f for f in dataclasses.fields(cls)}
    assert set(avro) == set(python), f"{cls.__name__} fields differ from its .avsc"
    hints = typing.get_type_hints(cls)
    for name, field in avro.items():
        avro_type = field["type"]
        nullable = isinstance(avro_type, list) and "null" in avro_type
        if (cls, name) == (NormalizedAlert, "received_at"):
            continue  # envelope: None only until the edge stamps it; never encoded empty
        assert records.is_optional(hints[name]) == nullable, f"{cls.__name__}.{name} nullability differs"


def test_every_schema_file_is_loaded_and_versioned(codec: Codec) -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.avsc")) == sorted(SCHEMA_FILES)
    assert all(s.version >= 1 for s in codec.schemas.values())
