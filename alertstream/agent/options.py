"""Agent options: built-in defaults, then the local file, then the hub's per-host overrides.

One document shape for the local file (`--config`, ALERTSTREAM_AGENT_CONFIG) and for the hub's
override (`GET {hub}/agents/{instance_id}/config`):

    {"interval_s": 60,
     "check_timeout_s": 20,
     "checks": {"disk": {"used_pct": {"warning": 80, "critical": 90}, "ignore_mounts": ["/snap/*"]},
                "network": {"targets": ["db-1:5432"]},
                "temperature": {"enabled": false}}}

Each layer may give any subset; a nested object merges key by key, anything else replaces. Every
key must be one the defaults know and of the same kind (a number where a number is, a list where a
list is; a threshold may be null to switch that level off). A mistake is an OptionsError naming
the path, never a silently ignored key. The local file may also set "instance_id" and "hostname".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks import CHECKERS

LOCAL_ONLY = ("instance_id", "hostname")


class OptionsError(ValueError):
    """An options document does not fit the defaults; the message names the path."""


def defaults() -> dict[str, Any]:
    return {
        "interval_s": 60,
        "check_timeout_s": 20,
        "checks": {checker.NAME: {"enabled": True, **checker.DEFAULTS} for checker in CHECKERS},
    }


@dataclass(frozen=True)
class AgentOptions:
    interval_s: float
    check_timeout_s: float
    checks: Mapping[str, Mapping[str, Any]]  # checker name -> its merged options

    @classmethod
    def resolve(cls, *layers: Mapping[str, Any] | None) -> AgentOptions:
        """Defaults, then each layer in order (None is skipped)."""
        merged: dict[str, Any] = defaults()
        for layer in layers:
            if layer is not None:
                merged = merge(merged, layer, "")
        for name in ("interval_s", "check_timeout_s"):
            if merged[name] is None or merged[name] <= 0:
                raise OptionsError(f"{name} must be a positive number of seconds")
        return cls(float(merged["interval_s"]), float(merged["check_timeout_s"]), merged["checks"])


def merge(base: Mapping[str, Any], override: Any, where: str) -> dict[str, Any]:
    """base with override's keys applied, checked against the kinds in base. Pure."""
    if not isinstance(override, Mapping):
        raise OptionsError(f"{where or 'the document'} must be an object")
    merged = dict(base)
    for key, value in override.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in base:
            known = ", ".join(sorted(base))
            raise OptionsError(f"{path}: unknown option (known here: {known})")
        merged[key] = _value(base[key], value, path)
    return merged


def _value(default: Any, value: Any, path: str) -> Any:
    if isinstance(default, Mapping):
        return merge(default, value, path)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise OptionsError(f"{path}: must be true or false")
        return value
    if default is None or isinstance(default, (int, float)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise OptionsError(f"{path}: must be a number or null")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise OptionsError(f"{path}: must be a list of strings or numbers")
        return list(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise OptionsError(f"{path}: must be a string")
        return value
    raise OptionsError(f"{path}: cannot be set")  # pragma: no cover (defaults hold only the kinds above)


def split_local(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The local file's options, and its host identity keys (instance_id, hostname)."""
    if not isinstance(document, Mapping):
        raise OptionsError("the document must be an object")
    identity: dict[str, str] = {}
    for key in LOCAL_ONLY:
        value = document.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise OptionsError(f"{key}: must be a non-empty string")
            identity[key] = value.strip()
    return {k: v for k, v in document.items() if k not in LOCAL_ONLY}, identity


def read_document(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OptionsError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise OptionsError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise OptionsError(f"{path}: the document must be an object")
    return data
