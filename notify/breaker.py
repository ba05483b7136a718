"""A per-channel circuit breaker: after N consecutive failures stop calling the
channel for a cool-down, then let one probe through; its outcome closes the
breaker or opens it again. Pure: the clock is a parameter; one instance per worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _State:
    failures: int = 0  # consecutive
    open_until: float = 0.0


@dataclass
class Breakers:
    threshold: int = 5
    cooldown_s: float = 60.0
    _channels: dict[str, _State] = field(default_factory=dict)

    def wait_s(self, channel: str, now: float) -> float:
        """0 when a call may go out now (closed, or this is the one probe); otherwise
        how long until the next probe may. Claims the probe slot when it grants one."""
        state = self._channels.get(channel)
        if state is None or state.failures < self.threshold:
            return 0.0
        if now < state.open_until:
            return state.open_until - now
        # This caller is the probe; everyone else waits another cool-down for its verdict
        # (and if the probe never reports, the next one goes out after that).
        state.open_until = now + self.cooldown_s
        return 0.0

    def record(self, channel: str, ok: bool, now: float) -> None:
        state = self._channels.setdefault(channel, _State())
        if ok:
            state.failures, state.open_until = 0, 0.0
            return
        state.failures += 1
        if state.failures >= self.threshold:
            state.open_until = now + self.cooldown_s

    def is_open(self, channel: str, now: float) -> bool:
        state = self._channels.get(channel)
        return state is not None and state.failures >= self.threshold and now < state.open_until
