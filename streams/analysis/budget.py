"""Budgets around a model provider: a circuit breaker, a TTL cache and the incident
signature it is keyed by. Pure: the clock is always a parameter."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from alertstream.schemas.records import IncidentEvent

V = TypeVar("V")


@dataclass
class CircuitBreaker:
    """closed -> (N failures in a row) -> open -> (cooldown) -> half-open: one trial call.
    The trial's success closes it; its failure opens it for another cooldown."""

    failures_to_open: int = 5
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if now - self.opened_at < self.cooldown_s or self.trial_in_flight else "half-open"

    def allow(self, now: float) -> bool:
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half-open":
            self.trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self.failures, self.opened_at, self.trial_in_flight = 0, None, False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.failures_to_open:
            self.opened_at, self.trial_in_flight = now, False


class TTLCache(Generic[V]):
    """At most `max_entries`, each valid for `ttl_s` after it was put; least recently put goes first."""

    def __init__(self, ttl_s: float, max_entries: int = 2048) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str, now: float) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if now - item[0] >= self.ttl_s:
            del self._items[key]
            return None
        return item[1]

    def put(self, key: str, value: V, now: float) -> None:
        if self.ttl_s <= 0:
            return
        self._items.pop(key, None)
        self._items[key] = (now, value)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def signature(event: IncidentEvent) -> str:
    """What makes two incidents the same question for a model: their alerts' names, labels and
    severities, and the incident's severity. Order, timestamps, annotation values (`91.5%` vs
    `91.7%`) and ids do not count."""
    members = sorted(
        (a.name, a.severity, sorted(a.labels.items())) for a in event.alerts
    )
    return hashlib.sha256(orjson.dumps([event.severity, members])).hexdigest()
