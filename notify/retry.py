"""When to try a failed delivery again, and when to give up. Pure: the clock and
the random source are parameters.

Backoff is exponential from the first delay-topic delay, capped at the last,
with "equal jitter" (a uniform draw in the upper half of the step) so a burst of
failures does not come back as a burst. A Retry-After from the vendor is a
floor. The delay picks the delay topic: the smallest tier at least that long
(else the longest); the record carries its exact due time, so waiting on a tier
never retries early.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RETRY_TOPICS = ("notify.retry.30s", "notify.retry.5m", "notify.retry.1h")


@dataclass(frozen=True)
class RetryPolicy:
    delays_s: tuple[float, float, float] = (30.0, 300.0, 3600.0)
    max_attempts: int = 8
    max_age_s: float = 24 * 3600.0


@dataclass(frozen=True)
class RetryAt:
    topic: str
    due_at: datetime
    delay_s: float


@dataclass(frozen=True)
class GiveUp:
    reason: str  # "max_attempts: http_503", "max_age: timeout"


def backoff_s(attempt: int, delays: Sequence[float], rand: Callable[[], float]) -> float:
    """Delay after failed attempt `attempt` (1-based)."""
    step = min(delays[0] * 2 ** (attempt - 1), delays[-1])
    return step / 2 + rand() * step / 2


def tier_for(delay_s: float, delays: Sequence[float]) -> str:
    for topic, tier in zip(RETRY_TOPICS, delays, strict=True):
        if delay_s <= tier:
            return topic
    return RETRY_TOPICS[-1]


def plan_retry(
    policy: RetryPolicy,
    *,
    attempt: int,
    first_attempt_at: datetime,
    now: datetime,
    reason: str,
    retry_after_s: float | None,
    rand: Callable[[], float],
) -> RetryAt | GiveUp:
    """After failed attempt `attempt`: where and when to try again, or why not."""
    if attempt >= policy.max_attempts:
        return GiveUp(f"max_attempts: {reason}")
    delay = max(backoff_s(attempt, policy.delays_s, rand), retry_after_s or 0.0)
    due = now + timedelta(seconds=delay)
    if (due - first_attempt_at).total_seconds() > policy.max_age_s:
        return GiveUp(f"max_age: {reason}")
    return RetryAt(tier_for(delay, policy.delays_s), due, delay)
