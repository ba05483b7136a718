"""The document the agent pushes: the `cluster` driver's format (ingest/drivers/cluster.py).

    {"instance_id": "…", "hostname": "web-1", "agent_version": "0.1.0",
     "alerts": [{"check": "disk", "status": "critical", "message": "/var is 97.2% full (…)",
                 "metrics": {"used_pct": 97.2, …}, "labels": {"mount": "/var"}}]}

ok becomes a resolved alert, warning and critical firing ones, unknown a firing info alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any

import orjson

from .result import CheckResult


def agent_version() -> str:
    try:
        return metadata.version("alertstream")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_payload(instance_id: str, hostname: str, results: Sequence[CheckResult], version: str) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "hostname": hostname,
        "agent_version": version,
        "alerts": [result.to_json() for result in results],
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return orjson.dumps(payload)
