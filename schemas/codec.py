"""Avro single-object encoding for every record on every topic, or the Confluent wire
format when a schema registry is configured.

Single-object: the two-byte marker C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema's Parsing Canonical Form, then the Avro body. Any
consumer can find the writer schema among the published `.avsc` files by that
fingerprint. Confluent: a zero byte, the 4-byte big-endian registry schema id, then the
body, so standard Avro deserializers read it. Decoding accepts both, and data written
with any version kept in schemas/history/ (resolved to the current schema). Schemas are
parsed once, when the Codec is built.
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
from .compiled import build_codecs
from .registry import SchemaRegistry

MARKER = b"\xc3\x01"
CONFLUENT_MAGIC = 0
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
    "notification_retry.avsc",
    "silence_matcher.avsc",
    "weekly_recurrence.avsc",
    "silence.avsc",
    "incident_command.avsc",
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
    reader: Any = None  # for an earlier version: the current schema its data is resolved to


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


def load_history(current: dict[str, WriterSchema], directory: Path = SCHEMA_DIR / "history") -> list[WriterSchema]:
    """Every earlier version kept in history/ (self-contained .avsc files), to read old data with."""
    found = []
    for path in sorted(directory.glob("*.avsc")):
        raw = json.loads(path.read_text())
        fullname = raw["name"] if "." in raw["name"] else f"{raw.get('namespace', '')}.{raw['name']}"
        now = current.get(fullname)
        canonical = to_parsing_canonical_form(parse_schema(raw, named_schemas={}, expand=True))
        fp = crc64_avro_le(canonical)
        if now is None or fp == now.fingerprint:
            continue  # the current version, or a type no longer used
        parsed = parse_schema(raw, named_schemas={})
        found.append(WriterSchema(fullname, int(raw.get("version", 1)), parsed, canonical, fp, reader=now.parsed))
    return found


class Codec:
    def __init__(self, directory: Path = SCHEMA_DIR, registry: SchemaRegistry | None = None) -> None:
        self.schemas = load_schemas(directory)
        self._by_fingerprint = {s.fingerprint: s for s in load_history(self.schemas, directory / "history")}
        self._by_fingerprint.update({s.fingerprint: s for s in self.schemas.values()})
        self._classes = {cls.SCHEMA: cls for cls in records.ALL_RECORDS}
        self.registry = registry
        self._ids: dict[str, int] = {}  # fullname -> registry id of the current schema
        self._by_id: dict[int, WriterSchema] = {}
        if registry is not None:
            from .evolution import current

            # Self-contained (named types inlined), with defaults and docs: what standard deserializers need.
            full = {schema["name"]: schema for schema in current(SCHEMA_FILES).values()}
            for cls in records.TOP_LEVEL_RECORDS:
                schema = self.schemas[cls.SCHEMA]
                # Record-name subjects: one subject per record type, whichever topic carries it.
                schema_id = registry.register(schema.fullname, json.dumps(full[schema.fullname]))
                self._ids[schema.fullname] = schema_id
                self._by_id[schema_id] = schema
        self._headers = {name: self._header(name) for name in self.schemas}
        # Generated writers and readers for the current schemas (schemas/compiled.py); fastavro for the rest.
        self.compiled = build_codecs({name: s.parsed for name, s in self.schemas.items()}, self._classes,
                                     [cls.SCHEMA for cls in records.TOP_LEVEL_RECORDS])

    @classmethod
    def from_settings(cls, settings: Any) -> Codec:
        """Confluent wire format when SCHEMA_REGISTRY_URL is set (schemas registered now); else single-object."""
        url = getattr(settings, "schema_registry_url", "")
        return cls(registry=SchemaRegistry(url) if url else None)

    def _header(self, fullname: str) -> bytes:
        schema_id = self._ids.get(fullname)
        if schema_id is not None:
            return bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big")
        return MARKER + self.schemas[fullname].fingerprint

    def encode(self, record: Any) -> bytes:
        fullname = type(record).SCHEMA
        fast = self.compiled.get(fullname)
        if fast is not None:
            out = bytearray(self._headers[fullname])
            try:
                fast.write(out, record)
                return bytes(out)
            except Exception:  # noqa: BLE001, S110  # nosec B110
                pass  # a value it does not expect: fastavro writes it, or raises its own error
        buf = io.BytesIO()
        buf.write(self._headers[fullname])
        fastavro.schemaless_writer(buf, self.schemas[fullname].parsed, records.to_avro(record))
        return buf.getvalue()

    def decode(self, data: bytes) -> Any:
        schema = self.writer_schema(data)
        start = 5 if data[:1] == bytes([CONFLUENT_MAGIC]) else 10
        fast = self.compiled.get(schema.fullname) if schema.reader is None else None
        if fast is not None:  # written with the current schema
            if type(data) is not bytes:
                data = bytes(data)
            try:
                record, end = fast.read(data, start)
            except Exception as exc:
                raise SchemaError(f"cannot decode {schema.fullname} body: {type(exc).__name__}: {exc}") from exc
            if end > len(data):
                raise SchemaError(f"cannot decode {schema.fullname} body: {end - len(data)} bytes missing")
            return record
        try:
            body = fastavro.schemaless_reader(io.BytesIO(data[start:]), schema.parsed, schema.reader)
        except Exception as exc:  # fastavro raises several types for a truncated or corrupt body
            raise SchemaError(f"cannot decode {schema.fullname} body: {exc}") from exc
        return records.from_avro(self._classes[schema.fullname], body)  # type: ignore[arg-type]

    def writer_schema(self, data: bytes) -> WriterSchema:
        if len(data) >= 5 and data[0] == CONFLUENT_MAGIC:
            return self._registered(int.from_bytes(data[1:5], "big"))
        if len(data) < 10 or data[:2] != MARKER:
            raise SchemaError("not an Avro single-object message (missing C3 01 marker)")
        fp = bytes(data[2:10])
        schema = self._by_fingerprint.get(fp)
        if schema is None:
            raise SchemaError(f"unknown writer schema fingerprint {fp.hex()}; is this consumer's schemas/ current?")
        return schema

    def _registered(self, schema_id: int) -> WriterSchema:
        known = self._by_id.get(schema_id)
        if known is not None:
            return known
        if self.registry is None:
            raise SchemaError(f"Confluent wire format (schema id {schema_id}) but no schema registry is configured")
        raw = json.loads(self.registry.schema(schema_id))
        fullname = raw["name"] if "." in raw["name"] else f"{raw.get('namespace', '')}.{raw['name']}"
        now = self.schemas.get(fullname)
        if now is None:
            raise SchemaError(f"schema id {schema_id} is {fullname}, which this codec does not know")
        canonical = to_parsing_canonical_form(parse_schema(raw, named_schemas={}, expand=True))
        parsed = parse_schema(raw, named_schemas={})
        schema = WriterSchema(fullname, int(raw.get("version", 0)), parsed, canonical, crc64_avro_le(canonical),
                              reader=None if canonical == now.canonical else now.parsed)
        self._by_id[schema_id] = schema
        return schema

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
