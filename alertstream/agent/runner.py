"""One round of checks. Every enabled checker runs in its own daemon thread so that a slow one
(a hung NFS mount in statvfs, a target that never answers) costs only its own result: past the
deadline it reports `unknown` and the round goes on. A checker that raises, or returns something
that is not a list of results, reports `unknown` with the error. Nothing a checker does ends the
round or the agent."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .checks import Checker
from .host import Host
from .result import CheckResult, unknown

log = logging.getLogger(__name__)


class _Run:
    def __init__(self, checker: Checker, options: Mapping[str, Any], host: Host) -> None:
        self.checker = checker
        self.results: list[CheckResult] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(options, host), name=f"check-{checker.NAME}", daemon=True
        )

    def _run(self, options: Mapping[str, Any], host: Host) -> None:
        try:
            self.results = self.checker.collect(options, host)
        except Exception as exc:  # anything a checker raises becomes its own unknown result
            self.error = exc


def run_checks(
    checkers: Sequence[Checker],
    options: Mapping[str, Mapping[str, Any]],
    host: Host,
    *,
    timeout_s: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    runs = [_Run(c, options[c.NAME], host) for c in checkers if options.get(c.NAME, {}).get("enabled", True)]
    for run in runs:
        run.thread.start()
    deadline = monotonic() + timeout_s
    results: list[CheckResult] = []
    for run in runs:
        run.thread.join(max(0.0, deadline - monotonic()))
        results.extend(_outcome(run, timeout_s))
    return results


def _outcome(run: _Run, timeout_s: float) -> list[CheckResult]:
    name = run.checker.NAME
    if run.thread.is_alive():
        log.warning("check %s did not finish within %.0fs", name, timeout_s)
        return [unknown(name, f"check did not finish within {timeout_s:.0f}s")]
    if run.error is not None:
        log.warning("check %s failed: %s: %s", name, type(run.error).__name__, run.error)
        return [unknown(name, f"check failed: {type(run.error).__name__}: {run.error}")]
    results = run.results
    if not isinstance(results, list) or not all(isinstance(r, CheckResult) and r.check == name for r in results):
        log.error("check %s returned something other than its results", name)
        return [unknown(name, "check returned an invalid result")]
    return results
