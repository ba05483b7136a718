"""Avro single-object encoding for every record on every topic.

A message is: the two-byte marker C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema's Parsing Canonical Form, then the Avro body.
Any consumer can find the writer schema among the published `.avsc` files by
that fingerprint. Schemas are parsed once, when the Codec is built.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from . import records

MARKER = b"\xc3\x01"
SCHEMA_DIR = Path(__file__).parent

# Order matters: a schema may only name types defined by files above it.
SCHEMA_FILES = (
    "alert_link.avsc",
    "normalized_alert.avsc",
    "incident_alert.avsc",
    "lane.avsc",
    "incident_event.avsc",
    "recommendation.avsc",
    "analysis.avsc",
    "notification_result.avsc",
    "audit_ref.avsc",
)


class SchemaError(Exception):
    """A message that cannot be decoded: no marker, unknown fingerprint, bad body."""


@dataclass(frozen=True)
class WriterSchema:
    fullname: str
    version: int
    parsed: Any
    canonical: str
    fingerprint: bytes  # 8 bytes, little-endian as on the wire


def load_schemas(directory: Path = SCHEMA_DIR) -> dict[str, WriterSchema]:
    named: dict[str, Any] = {}
    loaded: dict[str, WriterSchema] = {}
    for filename in SCHEMA_FILES:
        raw = json.loads((directory / filename).read_text())
        parse_schema(raw, named_schemas=named)  # registers the name for later files
        expanded = parse_schema(raw, named_schemas=dict(named), expand=True)
        canonical = to_parsing_canonical_form(expanded)
        fp = crc64_avro_le(canonical)
        fullname = f"{raw['namespace']}.{raw['name']}"
        parsed = parse_schema(raw, named_schemas=dict(named))
        loaded[fullname] = WriterSchema(fullname, int(raw.get("version", 1)), parsed, canonical, fp)
    return loaded


def crc64_avro_le(canonical: str) -> bytes:
    """Fingerprint bytes as written after the marker (exposed for tests and consumers)."""
    return int(fingerprint(canonical, "CRC-64-AVRO"), 16).to_bytes(8, "big")[::-1]


class Codec:
    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self.schemas = load_schemas(directory)
        self._by_fingerprint = {s.fingerprint: s for s in self.schemas.values()}
        self._classes = {cls.SCHEMA: cls for cls in records.ALL_RECORDS}

    def encode(self, record: Any) -> bytes:
        schema = self.schemas[type(record).SCHEMA]
        buf = io.BytesIO()
        buf.write(MARKER)
        buf.write(schema.fingerprint)
        fastavro.schemaless_writer(buf, schema.parsed, records.to_avro(record))
        return buf.getvalue()

    def decode(self, data: bytes) -> Any:
        schema = self.writer_schema(data)
        try:
            body = fastavro.schemaless_reader(io.BytesIO(data[10:]), schema.parsed, None)
        except Exception as exc:  # fastavro raises several types for a truncated or corrupt body
            raise SchemaError(f"cannot decode {schema.fullname} body: {exc}") from exc
        return records.from_avro(self._classes[schema.fullname], body)  # type: ignore[arg-type]

    def writer_schema(self, data: bytes) -> WriterSchema:
        if len(data) < 10 or data[:2] != MARKER:
            raise SchemaError("not an Avro single-object message (missing C3 01 marker)")
        fp = bytes(data[2:10])
        schema = self._by_fingerprint.get(fp)
        if schema is None:
            raise SchemaError(f"unknown writer schema fingerprint {fp.hex()}; is this consumer's schemas/ current?")
        return schema

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
