"""What every model provider is: a wire-protocol module with KIND, DEFAULT_BASE_URL,
`build_request(config, prompt) -> WireRequest` and `parse_response(body) -> Completion`.

Both functions are pure; `http.complete` does the one HTTP exchange and turns
transport and status failures into Retryable/Permanent with a short reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from alertstream.errors import Permanent
from alertstream.secrets import Secret

from .prompt import Prompt

LLM_KINDS = ("openai", "anthropic", "gemini")
KINDS = ("local", *LLM_KINDS)


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    kind: str  # local | openai | anthropic | gemini
    base_url: str = ""
    model: str = ""
    api_key: Secret[str] = field(default_factory=lambda: Secret(""))
    timeout_s: float = 10.0  # one whole exchange, repair included
    max_concurrency: int = 4  # calls in flight; beyond it, the local rules answer at once
    options: Mapping[str, Any] = field(default_factory=dict)
    revision: str = ""  # changes whenever the stored row changes

    def option(self, key: str, default: Any) -> Any:
        value = self.options.get(key, default)
        return default if value is None else value

    @property
    def max_tokens(self) -> int:
        return int(self.option("max_tokens", 1024))

    @property
    def breaker_failures(self) -> int:
        return int(self.option("breaker_failures", 5))

    @property
    def breaker_cooldown_s(self) -> float:
        return float(self.option("breaker_cooldown_s", 30.0))


@dataclass(frozen=True)
class WireRequest:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # carries the key: never printed


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""
    finish: str = ""


class WireProtocol(Protocol):
    KIND: str
    DEFAULT_BASE_URL: str

    def build_request(self, config: ProviderConfig, prompt: Prompt) -> WireRequest: ...

    def parse_response(self, body: Any) -> Completion: ...


def base_url(config: ProviderConfig, default: str) -> str:
    return (config.base_url or default).rstrip("/")


def dig(body: Any, *path: str | int) -> Any:
    """body['a'][0]['b'] or None, whatever the shape (a response is untrusted input)."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(body, list) or len(body) <= step:
                return None
        elif not isinstance(body, Mapping) or step not in body:
            return None
        body = body[step]
    return body


def count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def bad_response(detail: str) -> Permanent:
    return Permanent("bad_response", detail)
