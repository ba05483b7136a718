"""Per-host options for host agents: `GET /agents/{instance_id}/config`.

The operator keeps one JSON file (ALERTSTREAM_AGENT_OVERRIDES):

    {"defaults": {"checks": {"disk": {"used_pct": {"warning": 80, "critical": 90}}}},
     "hosts": {"i-0abc123def": {"interval_s": 30, "checks": {"network": {"targets": ["db-1:5432"]}}}}}

An agent asks for its own instance id and gets `{"instance_id": …, "options": …}`: the
defaults with its host's entry merged over them, in the document shape of
alertstream/agent/options.py. The agent merges that over its local file, so anything the
hub leaves out stays as the host has it. 404 when the file gives the host nothing (or there is
no file): the agent then runs on its local options.

The file is validated against the agent's options at start (a bad file fails start-up, naming
the path of the mistake) and read again when it changes; a bad edit is then refused with a
warning and the last good file stays in force. The API key middleware guards the path like
every operator path; give agents a key limited to `/alerts/webhook/cluster/` and `/agents/`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertstream.agent.options import AgentOptions, OptionsError

from ..responses import EdgeError, JSONResponse
from . import ApiContext

log = logging.getLogger(__name__)

_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


def overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """top over base, objects merged key by key. Pure."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        merged[key] = overlay(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return merged


def load_overrides(data: Any) -> dict[str, Any]:
    """Validate the file's document; raises ValueError naming the problem."""
    if not isinstance(data, Mapping):
        raise ValueError("agent overrides must be an object with 'defaults' and/or 'hosts'")
    unknown = sorted(str(k) for k in data if k not in ("defaults", "hosts"))
    if unknown:
        raise ValueError(f"agent overrides: unknown key(s) {', '.join(unknown)}; allowed: defaults, hosts")
    defaults = data.get("defaults", {})
    hosts = data.get("hosts", {})
    if not isinstance(defaults, Mapping) or not isinstance(hosts, Mapping):
        raise ValueError("agent overrides: 'defaults' and 'hosts' must be objects")
    try:
        AgentOptions.resolve(defaults)
    except OptionsError as exc:
        raise ValueError(f"agent overrides: defaults: {exc}") from None
    for instance_id, options in hosts.items():
        if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
            raise ValueError(f"agent overrides: host id {instance_id!r} is not a valid instance id")
        try:
            AgentOptions.resolve(defaults, options)
        except OptionsError as exc:
            raise ValueError(f"agent overrides: hosts.{instance_id}: {exc}") from None
    return {"defaults": dict(defaults), "hosts": dict(hosts)}


def options_for(overrides: Mapping[str, Any], instance_id: str) -> dict[str, Any] | None:
    defaults, host = overrides.get("defaults") or {}, overrides.get("hosts", {}).get(instance_id)
    if not defaults and host is None:
        return None
    return overlay(defaults, host or {})


@dataclass
class OverridesFile:
    path: Path
    overrides: dict[str, Any]
    mtime_ns: int

    @classmethod
    def open(cls, path: Path) -> OverridesFile:
        """Read and validate the file; raises ValueError, which fails the edge's start-up."""
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError as exc:
            raise ValueError(f"agent overrides: cannot read {path}: {exc.strerror}") from None
        return cls(path, _read(path), mtime_ns)

    def current(self) -> dict[str, Any]:
        """The overrides, read again when the file changed; the last good ones if it went bad."""
        try:
            mtime_ns = self.path.stat().st_mtime_ns
            if mtime_ns != self.mtime_ns:
                self.mtime_ns = mtime_ns
                self.overrides = _read(self.path)
                log.info("agent overrides reloaded from %s", self.path)
        except (OSError, ValueError) as exc:
            log.warning("agent overrides in %s not reloaded (%s); keeping the last good ones", self.path, exc)
        return self.overrides


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"agent overrides: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"agent overrides: {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    return load_overrides(data)


def routes(ctx: ApiContext) -> list[BaseRoute]:
    configured = ctx.settings.edge.agent_overrides_path
    source = OverridesFile.open(Path(configured)) if configured else None

    async def agent_config(request: Request) -> Response:
        instance_id = request.path_params["instance_id"]
        if not _INSTANCE_ID.fullmatch(instance_id):
            return EdgeError(400, "invalid instance id", hint="1-128 of A-Z a-z 0-9 . _ : @ -").response()
        options = options_for(source.current(), instance_id) if source is not None else None
        if options is None:
            return EdgeError(404, "no overrides for this host", instance_id=instance_id).response()
        return JSONResponse({"instance_id": instance_id, "options": options})

    return [Route("/agents/{instance_id}/config", agent_config, methods=["GET"])]
