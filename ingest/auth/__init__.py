"""Authentication per source: signature schemes, static credentials, replay protection.

The edge loads policies once (load_policies / read_policies), builds one replay store,
and awaits authenticate() for each request before the body is parsed.
"""

from __future__ import annotations

from .policy import SourcePolicy, load_policies, read_policies
from .replay import MemoryReplayStore, RedisReplayStore, ReplayStore, ReplayStoreError
from .source_auth import AuthDecision, authenticate

__all__ = [
    "AuthDecision",
    "MemoryReplayStore",
    "RedisReplayStore",
    "ReplayStore",
    "ReplayStoreError",
    "SourcePolicy",
    "authenticate",
    "load_policies",
    "read_policies",
]
