"""One HTTP exchange with a model provider, and how its failures are classified.

Retryable (the provider may answer next time): timeouts, connection errors,
408, 429, 5xx, and 529 (Anthropic's "overloaded"). Permanent: other 4xx (bad
key, bad model, bad request), a blocked URL, a body that is not the documented
shape. Reasons are short codes; no error carries the key, the prompt or the
provider's error text (which may echo either).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from alertstream.errors import Permanent, Retryable

from .base import Completion, ProviderConfig, WireProtocol, bad_response
from .prompt import Prompt

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class Exchange:
    completion: Completion
    raw: bytes  # the response body as received: stored encrypted, hashed for the reference


async def complete(
    protocol: WireProtocol, config: ProviderConfig, prompt: Prompt, client: httpx.AsyncClient, timeout_s: float
) -> Exchange:
    request = protocol.build_request(config, prompt)
    try:
        response = await client.post(request.url, json=request.body, headers=request.headers, timeout=timeout_s)
    except httpx.TimeoutException:
        raise Retryable("timeout", f"{config.name} did not answer within {timeout_s:.1f}s") from None
    except httpx.TransportError as exc:
        raise Retryable("unreachable", f"{config.name}: {type(exc).__name__}") from None
    status = response.status_code
    if status >= 400 or status < 200:
        retry_after = _retry_after(response.headers.get("retry-after"))
        if status in RETRYABLE_STATUS:
            raise Retryable(f"http_{status}", f"{config.name} answered {status}", retry_after=retry_after)
        raise Permanent(f"http_{status}", f"{config.name} answered {status}")
    try:
        body = response.json()
    except ValueError:
        raise bad_response(f"{config.name} answered {status} with a body that is not JSON") from None
    return Exchange(protocol.parse_response(body), response.content)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
