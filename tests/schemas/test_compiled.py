"""The generated Avro code (schemas/compiled.py) against fastavro, the reference: the same bytes
for every record, the same record back from every body, and fastavro's own behaviour for values
the generated code does not expect."""

from __future__ import annotations

import dataclasses
import io
import types
import typing
from datetime import UTC, datetime, timedelta, timezone

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertstream.schemas import records
from alertstream.schemas.codec import Codec, SchemaError

from .test_codec import ALERT, EVENT

CODEC = Codec()
LONG = st.integers(-(2**63), 2**63 - 1)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
# Whole milliseconds, as the pipeline stamps them, and arbitrary microseconds, which Avro's
# timestamp-millis truncates: both must truncate the same way.
TIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES)


def strategy(hint: typing.Any) -> st.SearchStrategy[typing.Any]:
    if isinstance(hint, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return st.none() | strategy(inner)
    origin = typing.get_origin(hint)
    if origin is list:
        return st.lists(strategy(typing.get_args(hint)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=80), st.text(max_size=80), max_size=4)
    if dataclasses.is_dataclass(hint):
        fields = {name: strategy(h) for name, h in typing.get_type_hints(hint).items() if name != "SCHEMA"}
        if hint is records.NormalizedAlert:
            fields["received_at"] = TIMES  # None only until the edge stamps it; never encoded empty
        return st.builds(hint, **fields)
    return {str: st.text(max_size=200), int: st.integers(-(2**31), 2**31 - 1), float: st.floats(),
            bool: st.booleans(), datetime: TIMES}[hint]


def reference_encode(record: typing.Any) -> bytes:
    schema = CODEC.schemas[type(record).SCHEMA]
    buf = io.BytesIO()
    buf.write(CODEC._headers[schema.fullname])
    fastavro.schemaless_writer(buf, schema.parsed, records.to_avro(record))
    return buf.getvalue()


def reference_decode(cls: type, data: bytes) -> typing.Any:
    body = fastavro.schemaless_reader(io.BytesIO(data[10:]), CODEC.schemas[cls.SCHEMA].parsed, None)  # type: ignore[attr-defined]
    return records.from_avro(cls, body)


def test_every_top_level_record_type_has_generated_code() -> None:
    # A type left to fastavro would still work, only slower; this says when that happens.
    assert set(CODEC.compiled) == {cls.SCHEMA for cls in records.TOP_LEVEL_RECORDS}


@pytest.mark.parametrize("cls", records.TOP_LEVEL_RECORDS, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_code_writes_and_reads_what_fastavro_does(cls: type, data: st.DataObject) -> None:
    record = data.draw(strategy(cls))
    encoded = CODEC.encode(record)
    assert encoded == reference_encode(record)
    # repr compares datetimes with their tzinfo and NaN with NaN, which == does not
    assert repr(CODEC.decode(encoded)) == repr(reference_decode(cls, encoded))


@pytest.mark.parametrize("record", [ALERT, EVENT], ids=lambda r: type(r).__name__)
def test_every_truncation_is_a_schema_error(record: typing.Any) -> None:
    encoded = CODEC.encode(record)
    for end in range(10, len(encoded)):
        with pytest.raises(SchemaError):
            CODEC.decode(encoded[:end])


@pytest.mark.parametrize("value", [
    dataclasses.replace(ALERT, received_at=datetime(2026, 11, 30, 9, 0)),  # naive: fastavro's local time
    dataclasses.replace(ALERT, labels={"a": "b"}.items()),  # not a dict: fastavro's own error
    dataclasses.replace(ALERT, name=None),
    dataclasses.replace(EVENT, version=2**64),
    dataclasses.replace(EVENT, version=True),
], ids=["naive-datetime", "items-view", "none-string", "long-overflow", "bool-as-long"])
def test_unexpected_values_are_fastavros_to_write_or_refuse(value: typing.Any) -> None:
    try:
        expected: bytes | type[Exception] = reference_encode(value)
    except Exception as exc:  # noqa: BLE001
        expected = type(exc)
    if isinstance(expected, bytes):
        assert CODEC.encode(value) == expected
    else:
        with pytest.raises(expected):
            CODEC.encode(value)


def test_a_body_in_a_bytearray_or_memoryview_decodes_the_same() -> None:
    encoded = CODEC.encode(EVENT)
    assert CODEC.decode(bytearray(encoded)) == CODEC.decode(memoryview(encoded)) == EVENT


def test_a_block_with_a_negative_count_and_its_size_reads_as_fastavro_reads_it() -> None:
    # Other writers (Java's, with a block size) may write this; fastavro never does.
    empty = CODEC.encode(dataclasses.replace(ALERT, labels={}))
    one = CODEC.encode(dataclasses.replace(ALERT, labels={"k": "v"}))
    at = next(i for i, (a, b) in enumerate(zip(empty, one, strict=False)) if a != b)
    assert one[at:at + 6] == b"\x02\x02k\x02v\x00"
    sized = one[:at] + b"\x01\x08" + one[at + 1:]  # count -1, then the block's 4 bytes
    assert CODEC.decode(sized) == reference_decode(records.NormalizedAlert, sized)
    assert CODEC.decode(sized).labels == {"k": "v"}
