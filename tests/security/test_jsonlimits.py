from __future__ import annotations

import time

import orjson
import pytest

from alertstream.ingest.jsonlimits import JSONLimitError, check_count, loads_strict, nesting_depth_exceeds


def _arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _mixed(depth: int) -> bytes:
    """Objects and arrays alternating, `depth` levels in all."""
    out = b"1"
    for level in range(depth):
        out = b'{"k":' + out + b"}" if level % 2 else b"[" + out + b"]"
    return out


def _code(raw: bytes) -> str:
    with pytest.raises(JSONLimitError) as info:
        loads_strict(raw)
    return info.value.code


@pytest.mark.parametrize("build", [_arrays, _mixed])
def test_depth_64_ok_65_rejected(build) -> None:  # type: ignore[no-untyped-def]
    assert loads_strict(build(64)) is not None
    assert _code(build(65)) == "too_deep"


def test_depth_counted_beside_wide_siblings() -> None:
    body = b"[" + b"[],[[]]," * 5000 + _arrays(63) + b"]"
    assert loads_strict(body)
    assert _code(b"[" + b"[],[[]]," * 5000 + _arrays(64) + b"]") == "too_deep"
    assert _code(b"[" + b"[[[[[]]]]]," * 1000 + b"[" * 20 + _arrays(45) + b"]" * 20 + b"]") == "too_deep"


def test_brackets_inside_strings_do_not_count() -> None:
    deep_text = "[" * 500 + "{" * 500 + '"quoted"'
    assert loads_strict(orjson.dumps({"a": deep_text})) == {"a": deep_text}
    tricky = [r"x\"[[[", "\\", '\\"]]]', "]" * 100]  # escaped quotes and backslashes next to brackets
    assert loads_strict(orjson.dumps(tricky)) == tricky
    # closers hidden in strings must not hide real depth
    assert _code(b'["]]]]]]]]", ' + _arrays(65) + b"]") == "too_deep"
    assert nesting_depth_exceeds(b'["\\\\", ' + _arrays(64) + b"]", 64)


def test_hostile_depth_is_cheap_and_never_recurses() -> None:
    start = time.perf_counter()
    assert _code(_arrays(1_000_000)) == "too_deep"
    assert _code(b"[" * 1_000_000) == "too_deep"
    assert _code(b'{"a":' * 200_000) == "too_deep"
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("raw", [b"[NaN]", b'{"x": Infinity}', b'{"x": -Infinity}', b"[1, NaN, 2]"])
def test_non_finite_rejected(raw: bytes) -> None:
    assert _code(raw) == "non_finite_number"


def test_non_finite_words_in_strings_are_fine() -> None:
    assert loads_strict(b'["NaN", "-Infinity"]') == ["NaN", "-Infinity"]


@pytest.mark.parametrize("raw", [b'{"a": "\xff"}', b'{"a": "caf\xc3"}', b'["\xed\xa0\x80"]'])
def test_invalid_utf8_rejected(raw: bytes) -> None:
    assert _code(raw) == "not_utf8"


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2,]", b"{'a': 1}", b'{"a": 1} x', b'"\\ud800"'])
def test_invalid_json_rejected(raw: bytes) -> None:
    with pytest.raises(JSONLimitError) as info:
        loads_strict(raw)
    assert info.value.code == "invalid_json"
    assert info.value.reason.startswith("invalid JSON")


def test_valid_bodies_decode() -> None:
    body = {"alerts": [{"labels": {"a": "b[{"}, "value": 1.5, "ok": True, "none": None}] * 3}
    assert loads_strict(orjson.dumps(body)) == body
    assert loads_strict('{"name": "caf\u00e9 \u2603"}'.encode()) == {"name": "caf\u00e9 \u2603"}


def test_custom_depth() -> None:
    assert loads_strict(_arrays(3), max_depth=3) == [[[]]]
    with pytest.raises(JSONLimitError):
        loads_strict(_arrays(4), max_depth=3)


def test_count_limit() -> None:
    check_count(1000)
    check_count(5, limit=5)
    with pytest.raises(JSONLimitError) as info:
        check_count(1001)
    assert info.value.code == "too_many_alerts" and "1001 > 1000" in info.value.reason
