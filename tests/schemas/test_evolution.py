"""Schema evolution: every version of every schema is kept in schemas/history/, data written
with each earlier version reads with the current schema (backward), and current data reads
with the previous version (forward). A breaking change fails here."""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from fastavro.schema import parse_schema, to_parsing_canonical_form
from fastavro.utils import generate_many

from alertstream.schemas import evolution, records
from alertstream.schemas.codec import MARKER, SCHEMA_FILES, Codec, crc64_avro_le

CURRENT = evolution.current(SCHEMA_FILES)
HISTORY = evolution.history()
EARLIER = [(stem, v) for stem, versions in sorted(HISTORY.items()) for v in sorted(versions)
           if v < int(CURRENT[stem]["version"])]
HOW = "bump its \"version\" and run `python -m alertstream.schemas.evolution --snapshot`"


@pytest.mark.parametrize("stem", sorted(CURRENT))
def test_every_schema_has_a_version_and_its_snapshot_matches(stem: str) -> None:
    schema = CURRENT[stem]
    assert isinstance(schema.get("version"), int) and schema["version"] >= 1, f"{stem}.avsc needs a \"version\""
    kept = HISTORY.get(stem, {}).get(schema["version"])
    assert kept is not None, f"schemas/history/{stem}.v{schema['version']}.avsc is missing: {HOW}"
    assert evolution.without_docs(kept) == evolution.without_docs(schema), (
        f"{stem}.avsc changed (itself or a type it uses) but its version {schema['version']} did not: {HOW} "
        "(an unreleased version may be rewritten with --snapshot --replace)"
    )


def test_history_has_no_versions_from_the_future() -> None:
    for stem, versions in HISTORY.items():
        assert stem in CURRENT, f"history/{stem}.* belongs to no schema"
        assert max(versions) <= CURRENT[stem]["version"]


@pytest.mark.parametrize(("stem", "version"), EARLIER, ids=[f"{s}.v{v}" for s, v in EARLIER])
def test_earlier_data_reads_with_the_current_schema(stem: str, version: int) -> None:
    problem = evolution.incompatibility(HISTORY[stem][version], CURRENT[stem])
    assert problem is None, f"backward compatibility broken: {stem} v{version} data cannot be read now: {problem}"


@pytest.mark.parametrize("stem", sorted({s for s, _ in EARLIER}))
def test_current_data_reads_with_the_previous_version(stem: str) -> None:
    previous = max(v for s, v in EARLIER if s == stem)
    problem = evolution.incompatibility(CURRENT[stem], HISTORY[stem][previous])
    assert problem is None, (
        f"forward compatibility broken: {stem} v{previous} readers cannot read current data: {problem}"
    )


TOP_LEVEL = {cls.SCHEMA: cls for cls in records.TOP_LEVEL_RECORDS}


@pytest.mark.parametrize(("stem", "version"), [(s, v) for s, v in EARLIER if HISTORY[s][v]["name"] in TOP_LEVEL])
def test_the_codec_decodes_single_object_messages_of_earlier_versions(stem: str, version: int) -> None:
    old = HISTORY[stem][version]
    parsed = parse_schema(old, named_schemas={})
    fp = crc64_avro_le(to_parsing_canonical_form(parse_schema(old, named_schemas={}, expand=True)))
    codec = Codec()
    for record in generate_many(parsed, 5):
        buf = io.BytesIO()
        buf.write(MARKER + fp)
        fastavro.schemaless_writer(buf, parsed, record)
        decoded = codec.decode(buf.getvalue())
        assert type(decoded) is TOP_LEVEL[old["name"]]
        assert codec.writer_schema(buf.getvalue()).version == version


# What a breaking change looks like: the checker must say no.

AUDIT = CURRENT["audit_ref"]


def _with_fields(fields: list[dict]) -> dict:
    return {**AUDIT, "fields": fields}


def test_a_new_field_without_a_default_breaks_backward_compatibility() -> None:
    newer = _with_fields([*AUDIT["fields"], {"name": "tenant", "type": "string"}])
    assert evolution.incompatibility(AUDIT, newer) is not None


def test_a_removed_field_without_a_default_breaks_forward_compatibility() -> None:
    newer = _with_fields([f for f in AUDIT["fields"] if f["name"] != "stage"])
    assert evolution.incompatibility(newer, AUDIT) is not None
    assert evolution.incompatibility(AUDIT, newer) is None  # readers may drop fields


def test_a_changed_type_breaks_compatibility() -> None:
    newer = _with_fields([{**f, "type": "int"} if f["name"] == "stage" else f for f in AUDIT["fields"]])
    assert evolution.incompatibility(AUDIT, newer) is not None


def test_expanded_schemas_are_self_contained() -> None:
    for stem, schema in CURRENT.items():
        parse_schema(json.loads(json.dumps(schema)), named_schemas={})  # no outside names needed
