"""What every vendor driver is.

A driver is a module with NAME, detect(payload) -> bool and
parse(payload, received_at) -> list[NormalizedAlert]. Both are pure: no I/O, no
clock (received_at is passed in), no mutation of the payload. parse raises
ParseError, and only ParseError, for any payload it cannot take; the edge turns
that into a 400 naming the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from alertstream.schemas.records import NormalizedAlert

Payload = Any  # decoded JSON: dict, list, str, int, float, bool or None


class ParseError(ValueError):
    """The payload is not a valid document of this driver's format."""

    def __init__(self, driver: str, problem: str) -> None:
        super().__init__(f"{driver}: {problem}")
        self.driver = driver
        self.problem = problem


class Driver(Protocol):
    NAME: str

    def detect(self, payload: Payload) -> bool: ...

    def parse(self, payload: Payload, received_at: datetime) -> list[NormalizedAlert]: ...


def require_mapping(driver: str, value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(driver, f"{what} must be a JSON object")
    return value


def require_list(driver: str, value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(driver, f"{what} must be a JSON array")
    return value


def string_map(driver: str, value: Any, what: str) -> dict[str, str]:
    """A JSON object of scalars as str -> str (Avro maps hold strings)."""
    if value is None:
        return {}
    mapping = require_mapping(driver, value, what)
    out: dict[str, str] = {}
    for key, item in mapping.items():
        if item is None:
            continue
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            out[str(key)] = str(item)
        else:
            raise ParseError(driver, f"{what}.{key} must be a string, number or boolean")
    return out


def optional_str(driver: str, value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParseError(driver, f"{what} must be a string")
    return str(value)
