"""The agent itself: one round (check, then push), and the loop of rounds.

A round reads the hub's overrides for this host (keeping the last good ones when the hub
cannot answer or sends options that do not validate), runs every enabled checker and pushes
the results as one message. In the loop, a push is retried with backoff until the next round
is due; then the round's results are dropped, since the next round's results supersede them.
No exception leaves a round: the loop logs it and carries on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alertstream.errors import PipelineError

from .checks import CHECKERS, Checker
from .host import Host
from .hub import HubClient, PushOutcome
from .options import AgentOptions, OptionsError
from .payload import agent_version, build_payload, encode
from .result import CheckResult
from .runner import run_checks

log = logging.getLogger(__name__)


@dataclass
class Agent:
    instance_id: str
    hostname: str
    local_options: Mapping[str, Any]
    hub: HubClient | None = None  # None: --no-push, and no overrides either
    host: Host = field(default_factory=Host)
    checkers: Sequence[Checker] = CHECKERS
    stop: threading.Event = field(default_factory=threading.Event)
    monotonic: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    version: str = field(default_factory=agent_version)
    overrides: dict[str, Any] | None = None  # the last good document from the hub
    _last_problem: str = ""

    def options(self) -> AgentOptions:
        return AgentOptions.resolve(self.local_options, self.overrides)

    def refresh_overrides(self) -> None:
        if self.hub is None:
            return
        try:
            fetched = self.hub.fetch_overrides(self.instance_id)
            AgentOptions.resolve(self.local_options, fetched)  # validate before adopting
        except PipelineError as exc:
            self._problem(f"hub overrides unavailable ({exc.reason})")
            return
        except OptionsError as exc:
            self._problem(f"hub overrides rejected ({exc})")
            return
        self._last_problem = ""
        if fetched != self.overrides:
            log.info("hub overrides %s", "applied" if fetched else "cleared: local options only")
        self.overrides = fetched

    def _problem(self, problem: str) -> None:
        """Logged once while it lasts: a hub without overrides for every host is normal."""
        if problem != self._last_problem:
            log.warning("%s; keeping %s", problem, self._which())
        self._last_problem = problem

    def _which(self) -> str:
        return "the previous overrides" if self.overrides else "the local options"

    def check(self, options: AgentOptions) -> list[CheckResult]:
        return run_checks(self.checkers, options.checks, self.host, timeout_s=options.check_timeout_s)

    def payload(self, results: Sequence[CheckResult]) -> dict[str, Any]:
        return build_payload(self.instance_id, self.hostname, results, self.version)

    def push(self, payload: dict[str, Any], *, attempts: int, deadline: float | None) -> PushOutcome:
        assert self.hub is not None

        def wait(seconds: float) -> bool:
            if deadline is not None and self.monotonic() + seconds > deadline:
                return True  # the next round is due before the retry would be
            return self.stop.wait(seconds)

        return self.hub.push(encode(payload), attempts=attempts, wait=wait, rand=self.rand)

    def run_once(self, *, push: bool, attempts: int = 4) -> tuple[dict[str, Any], PushOutcome | None]:
        """One round; the push outcome is None when not pushing."""
        self.refresh_overrides()
        payload = self.payload(self.check(self.options()))
        if not push or self.hub is None:
            return payload, None
        return payload, self.push(payload, attempts=attempts, deadline=None)

    def run_forever(
        self,
        *,
        interval_s: float | None = None,
        push: bool = True,
        on_round: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Rounds every interval (the options' interval_s unless given) until stop is set."""
        while not self.stop.is_set():
            started = self.monotonic()
            interval = interval_s or 60.0
            try:
                self.refresh_overrides()
                options = self.options()
                interval = interval_s or options.interval_s
                payload = self.payload(self.check(options))
                if on_round is not None:
                    on_round(payload)
                if push and self.hub is not None:
                    outcome = self.push(payload, attempts=1_000, deadline=started + interval)
                    _log_outcome(outcome, payload)
            except Exception:  # a bug in a round must not end the agent; say so loudly
                log.exception("agent round failed")
            self.stop.wait(max(0.0, started + interval - self.monotonic()))


def _log_outcome(outcome: PushOutcome, payload: Mapping[str, Any]) -> None:
    alerts = payload.get("alerts", [])
    bad = sum(1 for a in alerts if a.get("status") != "ok")
    if outcome.delivered:
        log.info("pushed %d results (%d not ok) trace_id=%s", len(alerts), bad, outcome.trace_id)
    else:
        log.warning("results not delivered (%s) after %d attempt(s)", outcome.reason, outcome.attempts)
