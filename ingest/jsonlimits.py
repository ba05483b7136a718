"""Strict JSON for webhook bodies, with limits enforced before the parser runs.

orjson is the parser: it requires UTF-8, rejects NaN/Infinity (which Python's
json module accepts by default) and has a hard depth cap of 1024 of its own, so
no input can exhaust the stack. Our stricter depth limit is checked first by a
scan that never recurses and stays in C-speed bytes operations: drop escape
pairs, keep only quotes and brackets, cut out the strings, then measure how far
the brackets nest. A typical body costs well under orjson's own parse time.

Errors carry a short client-facing `reason` and a machine `code`; body.py turns
them into 400s.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_DEPTH = 64
MAX_ALERTS_PER_REQUEST = 1000

_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_RUNS = re.compile(rb"\(+|\)+")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NON_FINITE = re.compile(rb"(?<![\w.])-?(?:NaN|Infinity)(?![\w.])")
_PEEL_PASSES = 4  # real alert payloads are 3-5 levels deep and vanish within these


class JSONLimitError(ValueError):
    def __init__(self, reason: str, code: str = "invalid_json") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _bracket_shape(raw: bytes) -> bytes:
    """The brackets outside strings, as '(' and ')'."""
    if b"\\" in raw:
        # Left to right, as JSON pairs them: first escaped backslashes, then escaped
        # quotes; every quote left is a real string delimiter.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE)
    outside_strings = b"".join(structure.split(b'"')[::2])
    return outside_strings.translate(_BRACKETS)


def nesting_depth_exceeds(raw: bytes, max_depth: int) -> bool:
    """True when arrays/objects nest more than `max_depth` levels (brackets in strings ignored)."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # too few openers, even counting those inside strings
    shape = _bracket_shape(raw)
    if b"(" * (max_depth + 1) in shape:
        return True  # the classic attack: one long run of openers
    limit = max_depth
    # Each pass removes every innermost pair, i.e. one level of every subtree.
    for _ in range(_PEEL_PASSES):
        peeled = shape.replace(b"()", b"")
        if not peeled:
            return False
        if peeled == shape:
            break  # unbalanced; orjson will say so
        shape, limit = peeled, limit - 1
    depth = 0
    for run in _RUNS.findall(shape):
        depth += len(run) if run[0] == 0x28 else -len(run)
        if depth > limit:
            return True
    return False


def loads_strict(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a webhook body, or raise JSONLimitError naming the first rule broken."""
    if nesting_depth_exceeds(raw, max_depth):
        raise JSONLimitError(f"JSON nested deeper than {max_depth} levels", "too_deep")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _classify(raw, exc) from None


def _classify(raw: bytes, exc: orjson.JSONDecodeError) -> JSONLimitError:
    """Only on failure: a precise reason is worth a second look at a bad body."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return JSONLimitError(f"body is not valid UTF-8 (byte {bad.start})", "not_utf8")
    if _NON_FINITE.search(_STRING.sub(b'""', raw)):
        return JSONLimitError("NaN and Infinity are not valid JSON", "non_finite_number")
    if "depth limit" in str(exc):
        return JSONLimitError("JSON nested too deeply", "too_deep")
    # orjson's message says what and where ("unexpected character: line 1 column 9")
    # and never echoes the body.
    return JSONLimitError(f"invalid JSON: {exc}", "invalid_json")


def check_count(count: int, limit: int = MAX_ALERTS_PER_REQUEST) -> None:
    """Refuse a request carrying more than `limit` alerts."""
    if count > limit:
        raise JSONLimitError(f"too many alerts: {count} > {limit} per request", "too_many_alerts")


__all__ = ["MAX_ALERTS_PER_REQUEST", "MAX_DEPTH", "JSONLimitError", "check_count", "loads_strict"]
