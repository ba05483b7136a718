"""Validation of channel settings, shared by the drivers. Errors name the field,
never its value (a value may be a credential)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from alertstream.errors import Permanent

DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 60.0


def invalid(detail: str) -> Permanent:
    return Permanent("invalid_config", detail)


def url(settings: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = settings.get(key, default)
    if not isinstance(value, str) or not value:
        raise invalid(f"{key} is required")
    try:
        parsed = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        raise invalid(f"{key} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise invalid(f"{key} must be an http(s) URL with a host")
    return value


def text(settings: Mapping[str, Any], key: str, default: str | None = None, max_len: int = 1024) -> str:
    value = settings.get(key, default)
    if not isinstance(value, str) or not value:
        raise invalid(f"{key} is required")
    if len(value) > max_len:
        raise invalid(f"{key} is longer than {max_len} characters")
    return value


def optional_text(settings: Mapping[str, Any], key: str, default: str = "", max_len: int = 1024) -> str:
    value = settings.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > max_len:
        raise invalid(f"{key} must be a string of at most {max_len} characters")
    return value


def timeout(settings: Mapping[str, Any]) -> float:
    value = settings.get("timeout_s", DEFAULT_TIMEOUT_S)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise invalid("timeout_s must be a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise invalid(f"timeout_s must be in (0, {MAX_TIMEOUT_S}]")
    return seconds


def positive_int(settings: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise invalid(f"{key} must be an integer in [1, {maximum}]")
    return value


def string_list(settings: Mapping[str, Any], key: str, required: bool = False) -> list[str]:
    value = settings.get(key, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"{key} must be a list of strings")
    if required and not value:
        raise invalid(f"{key} needs at least one entry")
    return list(value)


def headers(settings: Mapping[str, Any], reserved: frozenset[str] = frozenset()) -> dict[str, str]:
    value = settings.get("headers") or {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise invalid("headers must be an object of string -> string")
    clash = sorted(k for k in value if k.lower() in reserved)
    if clash:
        raise invalid(f"headers may not set {clash}")
    for name, val in value.items():
        if not name or any(c in name for c in ":\r\n ") or "\n" in val or "\r" in val:
            raise invalid("headers must be valid HTTP header names and values")
    return dict(value)


def choice(settings: Mapping[str, Any], key: str, options: tuple[str, ...], default: str) -> str:
    value = settings.get(key, default)
    if value not in options:
        raise invalid(f"{key} must be one of {list(options)}")
    return str(value)
