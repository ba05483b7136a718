"""The one HTTP helper every HTTP channel uses: it classifies outcomes into the
error taxonomy (retryable: timeouts, connection errors, 408, 429, 5xx;
permanent: other 4xx). Drivers pass extra retryable codes with a comment citing
their vendor's documentation. Errors never include the URL: it may carry a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aiohttp

from alertstream.errors import Permanent, Retryable

from .client import ChannelHTTP, Response

RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER_S = 24 * 3600.0


def retry_after_seconds(response: Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: take our own backoff rather than parse clocks we do not trust


def classify(response: Response, extra_retryable: Iterable[int] = ()) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    if code in RETRYABLE_STATUS or code >= 500 or code in set(extra_retryable):
        raise Retryable(f"http_{code}", retry_after=retry_after_seconds(response))
    raise Permanent(f"http_{code}")


async def post_json(
    http: ChannelHTTP,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    extra_retryable: Iterable[int] = (),
    content_type: str = "application/json",
) -> Response:
    all_headers = {"content-type": content_type, **(headers or {})}
    try:
        response = await http.post(url, body, all_headers, timeout)
    except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
        raise Retryable("timeout") from None
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        raise Retryable("connection_error", type(exc).__name__) from None
    except aiohttp.InvalidURL:
        raise Permanent("invalid_config", "the channel URL is not valid") from None
    except ValueError as exc:  # aiohttp refuses to send, e.g. a header value with a line break
        raise Permanent("invalid_config", f"the request cannot be sent ({type(exc).__name__})") from None
    except aiohttp.ClientError as exc:  # e.g. a malformed answer: not worth a retry
        raise Permanent("http_error", type(exc).__name__) from None
    classify(response, extra_retryable)
    return response
