"""The provider registry: which wire protocol serves which kind, what a valid provider
configuration is, and how a stored row becomes a ProviderConfig."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alertstream.errors import Permanent
from alertstream.secrets import Keyring
from alertstream.ssrf import AllowList, check_url
from alertstream.storage import providers as store

from . import anthropic, gemini, openai
from .base import KINDS, LLM_KINDS, ProviderConfig, WireProtocol

PROTOCOLS: dict[str, WireProtocol] = {m.KIND: m for m in (openai, anthropic, gemini)}  # type: ignore[misc]

# Options each kind understands; anything else is a typo worth refusing at `providers add`.
COMMON_OPTIONS = {"max_tokens": int, "breaker_failures": int, "breaker_cooldown_s": float}
OPTIONS: dict[str, dict[str, type]] = {
    "local": {},
    "openai": {**COMMON_OPTIONS, "auth": str, "api_version": str, "json_mode": bool, "max_tokens_field": str},
    "anthropic": {**COMMON_OPTIONS, "version": str},
    "gemini": {**COMMON_OPTIONS, "json_mode": bool},
}
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}")


def default_url(kind: str) -> str:
    return PROTOCOLS[kind].DEFAULT_BASE_URL if kind in PROTOCOLS else ""


def validate(config: ProviderConfig, allow: AllowList | Iterable[str] = ()) -> None:
    """ValueError naming the field; the provider URL must pass the SSRF rules (or the allow-list)."""
    if not _NAME.fullmatch(config.name):
        raise ValueError("name must be 1-63 characters of a-z 0-9 _ . - (lowercase)")
    if config.kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if not 0 < config.timeout_s <= 120:
        raise ValueError("timeout_s must be more than 0 and at most 120")
    if not 1 <= config.max_concurrency <= 256:
        raise ValueError("max_concurrency must be from 1 to 256")
    known = OPTIONS[config.kind]
    for key, value in config.options.items():
        if key not in known:
            raise ValueError(f"option {key!r} is not one of {', '.join(sorted(known)) or '(none)'} for {config.kind}")
        wanted = known[key]
        if not isinstance(value, wanted) and not (wanted is float and isinstance(value, int)):
            raise ValueError(f"option {key!r} must be a {wanted.__name__}")
    if config.options.get("auth") not in (None, "bearer", "api-key", "none"):
        raise ValueError("option 'auth' must be bearer, api-key or none")
    if config.kind not in LLM_KINDS:
        return
    if not _MODEL.fullmatch(config.model):
        raise ValueError(f"a {config.kind} provider needs a model (letters, digits and _.:/@+-)")
    try:
        check_url(config.base_url or default_url(config.kind), allow)
    except Permanent as exc:
        raise ValueError(f"base_url refused: {exc.detail}") from None


def to_config(row: store.ProviderRow, keyring: Keyring | None) -> ProviderConfig:
    return ProviderConfig(
        name=row.name, kind=row.kind, base_url=row.base_url, model=row.model,
        api_key=store.open_key(keyring, row), timeout_s=row.timeout_s, max_concurrency=row.max_concurrency,
        options=dict(row.options), revision=row.updated_at.isoformat() if row.updated_at else "",
    )


async def load_active(
    pool: AsyncConnectionPool, keyring: Keyring | None, allow: AllowList | Iterable[str] = ()
) -> ProviderConfig | None:
    """The active provider, validated (a row that no longer passes, e.g. a URL now refused, is an error)."""
    row = await store.active(pool)
    if row is None:
        return None
    config = to_config(row, keyring)
    validate(config, allow)
    return config


def options_from(pairs: Iterable[str]) -> dict[str, Any]:
    """`key=value` strings (CLI) -> typed options: true/false, integers, numbers, else text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option {pair!r} must look like key=value")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    value = cast(raw)
                    break
                except ValueError:
                    continue
        options[key.strip()] = value
    return options
