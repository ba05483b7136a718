"""Avro bodies of the current schemas, written and read by Python code generated from them
once, when the Codec is built.

Why: fastavro's generic writer and reader take and return dicts, which records.to_avro and
from_avro have to build and walk, and they dispatch on the schema for every value. That was
~20 % of a stream worker's CPU (11.5 µs to encode a NormalizedAlert, 17 µs to decode one).
Straight-line code for one known schema reads the dataclass's attributes and builds the
dataclass directly.

fastavro stays the reference. It reads data written with any other schema version (history/, a
registry), it is used for a record type whose schema needs a type this compiler does not know
(build_codecs leaves that type out), and Codec.encode falls back to it whenever generated code
meets a value it does not expect (a naive datetime, an int where a string belongs): fastavro then
writes the same bytes or raises the error it always raised. tests/schemas/test_compiled.py checks
byte-for-byte equality with fastavro on generated records of every type.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import MemberDescriptorType
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d")
INT_RANGE = (-(1 << 31), (1 << 31) - 1)
LONG_RANGE = (-(1 << 63), (1 << 63) - 1)

Writer = Callable[[bytearray, Any], None]
Reader = Callable[[bytes, int], tuple[Any, int]]


class Unsupported(Exception):
    """The schema uses a type the compiler does not generate code for."""


class Unexpected(Exception):
    """A value generated code does not write; the caller writes the record with fastavro instead."""


def write_long(out: bytearray, value: Any, bounds: tuple[int, int] = LONG_RANGE) -> None:
    if type(value) is not int or not bounds[0] <= value <= bounds[1]:
        raise Unexpected(value)
    n = (value << 1) ^ (value >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (n >> 1) ^ -(n & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def millis(value: Any) -> int:
    # As fastavro computes it for an aware datetime; anything else is fastavro's to handle.
    if type(value) is not datetime or value.tzinfo is None:
        raise Unexpected(value)
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


@dataclasses.dataclass(frozen=True)
class Compiled:
    write: Writer  # appends the record's Avro body to a bytearray
    read: Reader  # (body bytes, start) -> (record, position after it)
    source: str  # the generated code, for a debugger or a curious reader


def build_codecs(named: dict[str, Any], classes: dict[str, type], top: list[str]) -> dict[str, Compiled]:
    """Generated code for each top-level record type whose types it covers. named maps every record
    type's fullname to its parsed schema (which may name other types); classes to its dataclass."""
    built = {}
    for fullname in top:
        try:
            built[fullname] = _Generator(named, classes).compile(named[fullname])
        except Unsupported:
            continue  # fastavro writes and reads this type (see the module doc)
    return built


class _Generator:
    def __init__(self, named: dict[str, Any], classes: dict[str, type]) -> None:
        self.classes = classes
        self.lines: list[str] = []
        self.done: set[str] = set()
        self.named = named
        self.setters: dict[str, Any] = {}
        self.names = 0

    def compile(self, schema: dict[str, Any]) -> Compiled:
        self._record_functions(schema)
        top = _ident(schema["name"])
        source = "\n".join(self.lines) + "\n"
        namespace: dict[str, Any] = {
            "write_long": write_long, "read_long": read_long, "millis": millis, "Unexpected": Unexpected,
            "EPOCH": EPOCH, "timedelta": timedelta, "pack_double": _DOUBLE.pack,
            "unpack_double": _DOUBLE.unpack_from, "INT_RANGE": INT_RANGE, "LONG_RANGE": LONG_RANGE,
            "new": object.__new__, **self.setters,
            **{f"cls_{_ident(name)}": cls for name, cls in self.classes.items()},
        }
        # The source is generated from the schema files shipped in this package, never from input.
        exec(compile(source, f"<avro {schema['name']}>", "exec"), namespace)  # noqa: S102  # nosec
        return Compiled(namespace[f"write_{top}"], namespace[f"read_{top}"], source)

    def _var(self) -> str:
        self.names += 1
        return f"v{self.names}"

    def _record_functions(self, schema: dict[str, Any]) -> None:
        name = schema["name"]
        if name in self.done:
            return
        self.done.add(name)
        cls = self.classes.get(name)
        if cls is None:
            raise Unsupported(f"no record class for {name}")
        attrs = {f.name for f in dataclasses.fields(cls)}
        fields = schema["fields"]
        if not {f["name"] for f in fields} <= attrs:
            raise Unsupported(f"{name} has fields its class lacks")
        for field in fields:  # each nested record type gets functions of its own
            for nested in self._records_in(field["type"]):
                self._record_functions(nested)
        ident = _ident(name)
        body = [f"def write_{ident}(out, rec):", f"    if type(rec) is not cls_{ident}: raise Unexpected(rec)"]
        for field in fields:
            value = self._var()
            body.append(f"    {value} = rec.{field['name']}")
            body += self._write(field["type"], value, "    ")
        body += ["", f"def read_{ident}(data, pos):"]
        for field in fields:
            body += self._read(field["type"], f"f_{field['name']}", "    ")
        slotted = all(isinstance(getattr(cls, f["name"], None), MemberDescriptorType) for f in fields)
        if attrs == {f["name"] for f in fields} and slotted and not hasattr(cls, "__post_init__"):
            # Filled through its slots, as copy and pickle do: a frozen dataclass's __init__ costs a
            # call of object.__setattr__ per field, twice the time of the rest of a short record.
            body.append(f"    rec = new(cls_{ident})")
            body += [f"    set_{ident}_{f['name']}(rec, f_{f['name']})" for f in fields]
            body += ["    return rec, pos", ""]
            self.setters.update({f"set_{ident}_{f['name']}": getattr(cls, f["name"]).__set__ for f in fields})
        else:  # its own defaults fill the fields the schema lacks
            args = ", ".join(f"{f['name']}=f_{f['name']}" for f in fields)
            body += [f"    return cls_{ident}({args}), pos", ""]
        self.lines += body

    def _write(self, t: Any, v: str, ind: str) -> list[str]:
        kind, t = self._kind(t)
        if kind == "string":
            b = self._var()
            return [f"{ind}{b} = {v}.encode()", f"{ind}if len({b}) < 64: out.append(len({b}) << 1)",
                    f"{ind}else: write_long(out, len({b}))", f"{ind}out += {b}"]
        if kind in ("long", "int"):
            bounds = "INT_RANGE" if kind == "int" else "LONG_RANGE"
            return [f"{ind}if type({v}) is int and 0 <= {v} < 64: out.append({v} << 1)",
                    f"{ind}else: write_long(out, {v}, {bounds})"]
        if kind == "timestamp-millis":
            return [f"{ind}write_long(out, millis({v}))"]
        if kind == "double":
            return [f"{ind}if type({v}) is not float: raise Unexpected({v})", f"{ind}out += pack_double({v})"]
        if kind == "boolean":
            return [f"{ind}if {v} is True: out.append(1)", f"{ind}elif {v} is False: out.append(0)",
                    f"{ind}else: raise Unexpected({v})"]
        if kind == "null":
            return [f"{ind}if {v} is not None: raise Unexpected({v})"]
        if kind == "optional":
            null_index, other = t
            return [f"{ind}if {v} is None: out.append({null_index * 2})", f"{ind}else:",
                    f"{ind}    out.append({(1 - null_index) * 2})", *self._write(other, v, ind + "    ")]
        if kind == "record":
            return [f"{ind}write_{_ident(t['name'])}(out, {v})"]
        item = self._var()
        if kind == "array":
            loop, each = f"for {item} in {v}:", self._write(t["items"], item, ind + "        ")
        else:  # map
            key = self._var()
            loop = f"for {key}, {item} in {v}.items():"
            each = self._write("string", key, ind + "        ") + self._write(t["values"], item, ind + "        ")
        expected = "list" if kind == "array" else "dict"
        return [f"{ind}if type({v}) is not {expected}: raise Unexpected({v})", f"{ind}if {v}:",
                f"{ind}    write_long(out, len({v}))", f"{ind}    {loop}", *each, f"{ind}out.append(0)"]

    def _read(self, t: Any, v: str, ind: str) -> list[str]:
        kind, t = self._kind(t)
        if kind == "string":
            n = self._var()
            return [*self._read_long(n, ind), f"{ind}if {n} < 0: raise ValueError('negative length')",
                    f"{ind}{v} = data[pos:pos + {n}].decode()", f"{ind}pos += {n}"]
        if kind in ("long", "int"):
            return self._read_long(v, ind)
        if kind == "timestamp-millis":
            n = self._var()
            return [*self._read_long(n, ind), f"{ind}{v} = EPOCH + timedelta(0, 0, {n} * 1000)"]
        if kind == "double":
            return [f"{ind}{v} = unpack_double(data, pos)[0]", f"{ind}pos += 8"]
        if kind == "boolean":
            return [f"{ind}{v} = data[pos] == 1", f"{ind}pos += 1"]
        if kind == "null":
            return [f"{ind}{v} = None"]
        if kind == "optional":
            null_index, other = t
            branch = self._var()
            return [*self._read_long(branch, ind), f"{ind}if {branch} == {null_index}: {v} = None",
                    f"{ind}elif {branch} == {1 - null_index}:", *self._read(other, v, ind + "    "),
                    f"{ind}else: raise ValueError('union branch out of range')"]
        if kind == "record":
            return [f"{ind}{v}, pos = read_{_ident(t['name'])}(data, pos)"]
        count, item = self._var(), self._var()
        if kind == "array":
            start, each = f"{v} = []", [*self._read(t["items"], item, ind + "        "),
                                        f"{ind}        {v}.append({item})"]
        else:
            key = self._var()
            start, each = f"{v} = {{}}", [*self._read("string", key, ind + "        "),
                                          *self._read(t["values"], item, ind + "        "),
                                          f"{ind}        {v}[{key}] = {item}"]
        # Blocks until a zero count; a negative count is followed by the block's size in bytes.
        return [f"{ind}{start}", f"{ind}while True:", *self._read_long(count, ind + "    "),
                f"{ind}    if {count} == 0: break", f"{ind}    if {count} < 0:",
                f"{ind}        {count} = -{count}", f"{ind}        _, pos = read_long(data, pos)",
                f"{ind}    for _ in range({count}):", *each]

    def _kind(self, t: Any) -> tuple[str, Any]:
        if isinstance(t, list):
            if len(t) == 2 and "null" in t:
                null_index = t.index("null")
                return "optional", (null_index, t[1 - null_index])
            raise Unsupported(f"union {t}")
        if isinstance(t, dict):
            if t.get("logicalType") == "timestamp-millis" and t["type"] == "long":
                return "timestamp-millis", t
            if "logicalType" in t:
                raise Unsupported(t["logicalType"])
            kind = t["type"]
            if kind in ("record", "array", "map"):
                return kind, t
            return self._kind(kind)
        if t in ("string", "long", "int", "double", "boolean", "null"):
            return t, t
        if t in self.named:
            return "record", self.named[t]
        raise Unsupported(f"type {t}")

    def _records_in(self, t: Any) -> list[dict[str, Any]]:
        kind, t = self._kind(t)
        if kind == "record":
            return [t]
        if kind == "optional":
            return self._records_in(t[1])
        if kind == "array":
            return self._records_in(t["items"])
        if kind == "map":
            return self._records_in(t["values"])
        return []

    @staticmethod
    def _read_long(v: str, ind: str) -> list[str]:
        # One byte holds -64..63: most lengths, counts and union branches.
        return [f"{ind}{v} = data[pos]", f"{ind}if {v} < 0x80: {v} = ({v} >> 1) ^ -({v} & 1); pos += 1",
                f"{ind}else: {v}, pos = read_long(data, pos)"]


def _ident(fullname: str) -> str:
    return fullname.replace(".", "_")
