"""What every vendor driver is.

A driver is a module with NAME, detect(payload) -> bool and
parse(payload, received_at) -> list[NormalizedAlert]. Both are pure: no I/O, no
clock (received_at is passed in), no mutation of the payload. parse raises
ParseError, and only ParseError, for any payload it cannot take; the edge turns
that into a 400 naming the problem. A document the vendor sends that carries no
alert state (a test ping, a note added to an incident) parses to an empty list.

Link kinds, so that a consumer can pick a link without knowing the vendor:
generator (the rule, monitor or condition in the vendor's UI), incident (the vendor's
incident, issue or alert page), dashboard, panel, chart, image, runbook, silence, plus
the sender's base URL under the driver's name ("alertmanager", "grafana").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from alertstream.schemas.records import Link, NormalizedAlert

from ..timeparse import TimestampError, parse_timestamp

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


def optional_mapping(driver: str, value: Any, what: str) -> Mapping[str, Any]:
    return {} if value is None else require_mapping(driver, value, what)


# A template variable the vendor left as it was: Datadog/New Relic "$ALERT_PRIORITY", Zabbix
# "{EVENT.RECOVERY.DATE}" (Zabbix leaves a macro it cannot resolve in place).
_PLACEHOLDER = re.compile(r"\$[A-Z][A-Z0-9_]*|\{[A-Z][A-Z0-9_.]*\}")


def template_str(driver: str, value: Any, what: str) -> str:
    """A field an admin filled from vendor template variables; an unexpanded variable means no value."""
    if isinstance(value, bool):  # an unquoted variable can expand to true/false
        return "true" if value else "false"
    text = optional_str(driver, value, what).strip()
    return "" if _PLACEHOLDER.fullmatch(text) else text


def timestamp(driver: str, value: Any, what: str) -> datetime | None:
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise ParseError(driver, f"{what}: {exc}") from exc


def tag_labels(driver: str, value: Any, what: str) -> dict[str, str]:
    """Tags as labels: "key:value" becomes key=value, a bare tag goes under "tags"; repeats are
    comma-joined. Takes a JSON array of strings or one comma-separated string (Datadog's $TAGS)."""
    if value is None:
        return {}
    if isinstance(value, str):
        items = value.split(",")
    else:
        items = [
            optional_str(driver, v, f"{what}[{i}]") for i, v in enumerate(require_list(driver, value, what))
        ]
    labels: dict[str, str] = {}
    for item in items:
        tag = item.strip()
        if not tag:
            continue
        key, colon, val = tag.partition(":")
        key, val = (key.strip(), val.strip()) if colon and key.strip() else ("tags", tag)
        labels[key] = f"{labels[key]},{val}" if key in labels else val
    return labels


def joined(driver: str, value: Any, what: str) -> str:
    """A JSON array of scalars as one comma-separated string (or a lone scalar as itself)."""
    if isinstance(value, Mapping):
        raise ParseError(driver, f"{what} must be an array of strings")
    if not isinstance(value, list):
        return optional_str(driver, value, what)
    return ",".join(s for i, v in enumerate(value) if (s := optional_str(driver, v, f"{what}[{i}]")))


def links(*pairs: tuple[str, str]) -> list[Link]:
    """(kind, url) pairs as Links, leaving out empty URLs."""
    return [Link(kind, url) for kind, url in pairs if url]


def present(**fields: str) -> dict[str, str]:
    """The keyword arguments that have a value: labels and annotations leave empty ones out."""
    return {key: value for key, value in fields.items() if value}
