"""JSON (and Avro) only: no pickle anywhere in the shipped code, and faust never falls back to it."""

from __future__ import annotations

import re
from pathlib import Path

from alertstream.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ("alertstream", "ingest", "streams", "schemas", "notify", "storage")
UNSAFE = re.compile(r"^\s*(?:import|from)\s+(?:c?pickle|dill|cloudpickle|shelve|marshal|jsonpickle)\b"
                    r"|\bpickle\.loads?\(|\byaml\.(?:unsafe_)?load\(", re.MULTILINE)


def test_no_pickle_in_shipped_code() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in SHIPPED
        for path in (ROOT / package).rglob("*.py")
        if UNSAFE.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"unsafe deserialization in {offenders}"


def test_faust_serializes_raw_bytes_and_json_tables(settings: Settings) -> None:
    from alertstream.streams.topology import build_app

    app = build_app(settings)
    assert app.conf.key_serializer == "raw" and app.conf.value_serializer == "raw"
    assert app.tables, "the topology declares tables"
    for table in app.tables.values():
        assert table.key_serializer == "json" and table.value_serializer == "json", table.name
