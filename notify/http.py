"""The one HTTP helper every HTTP channel uses: it classifies outcomes into the
error taxonomy (retryable: timeouts, connection errors, 408, 429, 5xx;
permanent: other 4xx). Drivers pass extra retryable codes with a comment citing
their vendor's documentation. Errors never include the URL: it may carry a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from alertstream.errors import Permanent, Retryable

RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER_S = 24 * 3600.0


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: take our own backoff rather than parse clocks we do not trust


def classify(response: httpx.Response, extra_retryable: Iterable[int] = ()) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    if code in RETRYABLE_STATUS or code >= 500 or code in set(extra_retryable):
        raise Retryable(f"http_{code}", retry_after=retry_after_seconds(response))
    raise Permanent(f"http_{code}")


async def post_json(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    extra_retryable: Iterable[int] = (),
    content_type: str = "application/json",
) -> httpx.Response:
    all_headers: dict[str, Any] = {"content-type": content_type, **(headers or {})}
    try:
        response = await http.post(url, content=body, headers=all_headers, timeout=timeout)
    except httpx.TimeoutException:
        raise Retryable("timeout") from None
    except httpx.TransportError as exc:
        raise Retryable("connection_error", type(exc).__name__) from None
    except httpx.InvalidURL:
        raise Permanent("invalid_config", "the channel URL is not valid") from None
    except httpx.HTTPError as exc:  # e.g. too many redirects, decoding: not worth a retry
        raise Permanent("http_error", type(exc).__name__) from None
    classify(response, extra_retryable)
    return response
