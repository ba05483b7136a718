"""The analyzer: one incident in, one validated analysis out, whatever the provider does.

    cache (same signature, same provider, within the TTL) -> circuit breaker ->
    concurrency limit -> model call (provider timeout covers the repair too) ->
    contract check -> one repair round-trip -> local rules with fallback_used

The local rules answer when no model provider is active, and stand in for one
that is slow, failing, busy, open-circuited or talking nonsense. The lane
deadline is not enforced here but by the analyze agent, which waits for this
only as long as the page can wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from alertstream.errors import PipelineError, Retryable
from alertstream.schemas.records import IncidentEvent

from . import local
from .base import ProviderConfig
from .budget import CircuitBreaker, TTLCache, signature
from .contract import AnalysisOutput, ContractError, parse_output
from .http import complete
from .prompt import Prompt, build_prompt, repair_prompt
from .registry import PROTOCOLS

log = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() if data else ""


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | fallback
    provider: str  # the configured provider asked ("local" when the rules were the choice)
    model: str
    output: AnalysisOutput
    fallback_used: bool = False
    reason: str = ""  # why the rules stood in: timeout, http_429, invalid_output, circuit_open, ...
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    cache_hit: bool = False
    signature: str = ""
    prompt_sha256: str = ""
    response_sha256: str = ""
    # Plaintext for encrypted storage only; never in a record, a log or an error.
    prompt: bytes = dataclasses.field(default=b"", repr=False)
    response: bytes = dataclasses.field(default=b"", repr=False)


class Runtime:
    """A configured provider with its own budgets; kept across reloads while its row is unchanged."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.protocol = PROTOCOLS[config.kind]
        self.in_flight = 0
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown_s)


class Analyzer:
    def __init__(
        self, client: httpx.AsyncClient, *, cache_ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.clock = clock
        self.cache: TTLCache[Outcome] = TTLCache(cache_ttl_s)
        self.runtime: Runtime | None = None

    def configure(self, config: ProviderConfig | None) -> None:
        """Switch provider; None or kind `local` means the rules alone."""
        if config is None or config.kind == "local":
            self.runtime = None
        elif self.runtime is None or (self.runtime.config.name, self.runtime.config.revision) != (
            config.name, config.revision,
        ):
            self.runtime = Runtime(config)

    @property
    def provider(self) -> str:
        return self.runtime.config.name if self.runtime else local.NAME

    def health(self) -> dict[str, Any]:
        if self.runtime is None:
            return {"provider": local.NAME, "kind": "local", "circuit": "closed", "in_flight": 0}
        config = self.runtime.config
        return {"provider": config.name, "kind": config.kind, "model": config.model,
                "circuit": self.runtime.breaker.state(self.clock()), "in_flight": self.runtime.in_flight,
                "cached": len(self.cache)}

    async def analyze(self, event: IncidentEvent, *, use_cache: bool = True) -> Outcome:
        started = self.clock()
        hint = local.analyze(event)
        runtime = self.runtime
        if runtime is None:
            return Outcome("ok", local.NAME, "", hint, latency_ms=self._ms(started))
        config = runtime.config
        sig = signature(event)
        key = f"{config.name}:{config.revision}:{sig}"
        cached = self.cache.get(key, started) if use_cache else None
        if cached is not None:
            return dataclasses.replace(cached, cache_hit=True, tokens_in=0, tokens_out=0, latency_ms=0,
                                       prompt=b"", response=b"")
        if not runtime.breaker.allow(started):
            return self._fallback(runtime, hint, sig, started, "circuit_open")
        if runtime.in_flight >= config.max_concurrency:
            return self._fallback(runtime, hint, sig, started, "concurrency_limit")
        runtime.in_flight += 1
        try:
            outcome = await self._ask(runtime, event, hint, sig, started)
        except Exception:  # a bug, not a provider failure: loud, but the page still gets the rules
            log.exception("analysis with provider %s failed unexpectedly", config.name)
            outcome = self._fallback(runtime, hint, sig, started, "bug")
        finally:
            runtime.in_flight -= 1
        if outcome.status == "ok":
            self.cache.put(key, outcome, self.clock())
        return outcome

    async def _ask(
        self, runtime: Runtime, event: IncidentEvent, hint: AnalysisOutput, sig: str, started: float
    ) -> Outcome:
        config = runtime.config
        prompt: Prompt = build_prompt(event, hint)
        tokens = [0, 0]
        raw = b""
        try:
            answer, raw = await self._call(runtime, prompt, started, tokens)
            try:
                output = parse_output(answer, hint.category)
            except ContractError as exc:
                log.info("provider %s broke the output contract (%s); asking once more", config.name, exc)
                prompt = repair_prompt(prompt, answer, str(exc))
                answer, raw = await self._call(runtime, prompt, started, tokens)
                output = parse_output(answer, hint.category)
        except ContractError:
            runtime.breaker.record_failure(self.clock())
            return self._fallback(runtime, hint, sig, started, "invalid_output", tokens, prompt, raw)
        except PipelineError as exc:  # Retryable or Permanent from the exchange
            runtime.breaker.record_failure(self.clock())
            log.warning("provider %s failed: %s", config.name, exc)
            return self._fallback(runtime, hint, sig, started, exc.reason, tokens, prompt, raw)
        runtime.breaker.record_success()
        body = prompt.encode()
        return Outcome(
            "ok", config.name, config.model, output, tokens_in=tokens[0], tokens_out=tokens[1],
            latency_ms=self._ms(started), signature=sig, prompt_sha256=sha256(body), response_sha256=sha256(raw),
            prompt=body, response=raw,
        )

    async def _call(self, runtime: Runtime, prompt: Prompt, started: float, tokens: list[int]) -> tuple[str, bytes]:
        """One exchange inside what is left of the provider's timeout; counts its tokens."""
        config = runtime.config
        left = config.timeout_s - (self.clock() - started)
        if left <= 0:
            raise _timeout(config)
        try:
            exchange = await asyncio.wait_for(complete(runtime.protocol, config, prompt, self.client, left), left)
        except TimeoutError:
            raise _timeout(config) from None
        tokens[0] += exchange.completion.tokens_in
        tokens[1] += exchange.completion.tokens_out
        return exchange.completion.text, exchange.raw

    def _fallback(
        self, runtime: Runtime, hint: AnalysisOutput, sig: str, started: float, reason: str,
        tokens: list[int] | None = None, prompt: Prompt | None = None, raw: bytes = b"",
    ) -> Outcome:
        body = prompt.encode() if prompt else b""
        return Outcome(
            "fallback", runtime.config.name, runtime.config.model, hint, fallback_used=True, reason=reason,
            tokens_in=(tokens or [0, 0])[0], tokens_out=(tokens or [0, 0])[1], latency_ms=self._ms(started),
            signature=sig, prompt_sha256=sha256(body), response_sha256=sha256(raw), prompt=body, response=raw,
        )

    def _ms(self, started: float) -> int:
        return max(0, int((self.clock() - started) * 1000))


def _timeout(config: ProviderConfig) -> PipelineError:
    return Retryable("timeout", f"{config.name} did not finish within {config.timeout_s:.1f}s")
