"""HTTP to the hub (the edge): push results to the cluster driver, fetch this host's overrides.

Every request carries the API key (`Authorization: Bearer`) when one is set and a Standard
Webhooks signature when a secret is set (the GET of the overrides signs an empty body).
Outcomes follow alertstream.errors: timeouts, connection errors, 408, 429 and 5xx are
Retryable (429/503 with the edge's Retry-After); any other 4xx is Permanent: the same request
would be refused again, so it is reported, not repeated. Nothing here logs a key, a secret or
a signature.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from alertstream.errors import Permanent, Retryable
from alertstream.secrets import Secret

from .signing import new_message_id, signature_headers

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class HubConfig:
    url: str  # the edge's base URL, e.g. https://alerts.example.com
    key: Secret[str] | None = None
    secret: Secret[bytes] | None = None
    timeout_s: float = 10.0

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True)
class PushOutcome:
    delivered: bool
    attempts: int
    reason: str = ""  # why it was not delivered: a short code, safe to log
    trace_id: str = ""


def classify(status: int, error: str, retry_after: str | None) -> None:
    """Raise Retryable or Permanent for a non-2xx answer; return for a 2xx one. Pure."""
    if 200 <= status < 300:
        return
    reason = f"http_{status}" + (f"_{error}" if error else "")
    if status in RETRYABLE_STATUS or status >= 500:
        raise Retryable(reason, retry_after=_seconds(retry_after))
    raise Permanent(reason)


def backoff_s(attempt: int, *, rand: float, base_s: float = 1.0, cap_s: float = 60.0,
              retry_after: float | None = None) -> float:
    """Delay before the next attempt (attempt = the number of the one that just failed):
    exponential with "equal jitter" (half fixed, half random), never below the server's
    Retry-After, never above cap_s. rand in [0, 1) is passed in so this stays pure."""
    exponential = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    delay = exponential / 2 + exponential / 2 * rand
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap_s)


class HubClient:
    def __init__(self, config: HubConfig, http: httpx.Client, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.http = http
        self.clock = clock

    def _headers(self, body: bytes, message_id: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "alertstream-agent"}
        if self.config.key is not None:
            headers["Authorization"] = f"Bearer {self.config.key.reveal()}"
        if self.config.secret is not None:
            headers.update(
                signature_headers(body, self.config.secret, message_id=message_id, timestamp=int(self.clock()))
            )
        return headers

    def _send(self, method: str, path: str, body: bytes, message_id: str) -> httpx.Response:
        try:
            return self.http.request(method, self.config.endpoint(path), content=body or None,
                                     headers=self._headers(body, message_id), timeout=self.config.timeout_s)
        except httpx.TimeoutException as exc:
            raise Retryable("timeout", type(exc).__name__) from None
        except httpx.TransportError as exc:  # connection refused, DNS, TLS, reset
            raise Retryable("unreachable", type(exc).__name__) from None

    def push_once(self, body: bytes, message_id: str) -> str:
        """One attempt; the edge's trace id when accepted."""
        response = self._send("POST", "/alerts/webhook/cluster/", body, message_id)
        doc = _json(response)
        classify(response.status_code, str(doc.get("error", ""))[:64], response.headers.get("retry-after"))
        return str(doc.get("trace_id", ""))

    def push(
        self,
        body: bytes,
        *,
        attempts: int,
        wait: Callable[[float], bool],
        rand: Callable[[], float],
        message_id: str | None = None,
    ) -> PushOutcome:
        """Up to `attempts` tries of one message (one webhook-id, re-signed each time). wait(s)
        sleeps and returns True when the agent is stopping, which ends the retries."""
        message_id = message_id or new_message_id()
        for attempt in range(1, attempts + 1):
            try:
                return PushOutcome(True, attempt, trace_id=self.push_once(body, message_id))
            except Permanent as exc:
                # A retry refused as a replay means an earlier attempt got through after all.
                if attempt > 1 and exc.reason == "http_403_replayed":
                    return PushOutcome(True, attempt, reason="replayed")
                log.error("push refused by the hub (%s); not retrying", exc.reason)
                return PushOutcome(False, attempt, exc.reason)
            except Retryable as exc:
                if attempt == attempts:
                    log.warning("push failed (%s) after %d attempts", exc.reason, attempt)
                    return PushOutcome(False, attempt, exc.reason)
                delay = backoff_s(attempt, rand=rand(), retry_after=exc.retry_after)
                log.warning("push failed (%s); retry %d in %.1fs", exc.reason, attempt + 1, delay)
                if wait(delay):
                    return PushOutcome(False, attempt, "interrupted")
        return PushOutcome(False, 0, "no_attempts")

    def fetch_overrides(self, instance_id: str) -> dict[str, Any] | None:
        """GET /agents/{instance_id}/config: the hub's options for this host, None when it has
        none (404). Raises Retryable or Permanent otherwise."""
        response = self._send("GET", f"/agents/{quote(instance_id, safe='')}/config", b"", new_message_id())
        if response.status_code == 404:
            return None
        doc = _json(response)
        classify(response.status_code, str(doc.get("error", ""))[:64], response.headers.get("retry-after"))
        if not isinstance(doc.get("options"), dict):
            raise Permanent("bad_overrides", "the answer has no 'options' object")
        return doc["options"]


def _json(response: httpx.Response) -> Mapping[str, Any]:
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the edge sends seconds; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
