"""A failing, hanging or broken checker reports unknown; the others still report."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from alertstream.agent.host import Host
from alertstream.agent.result import CheckResult
from alertstream.agent.runner import run_checks

RELEASE = threading.Event()


def checker(name: str, collect: Any) -> Any:
    return SimpleNamespace(NAME=name, DEFAULTS={}, collect=collect)


def good(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return [CheckResult("good", "ok", "fine", {"x": 1})]


def raises(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    raise PermissionError(13, "Permission denied")


def hangs(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    RELEASE.wait(30)  # a statvfs on a dead NFS server
    return []


def wrong_type(options: Mapping[str, Any], host: Host) -> Any:
    return {"status": "ok"}


def wrong_name(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    return [CheckResult("someone-else", "ok", "")]


def test_every_failure_is_an_unknown_result_and_the_round_completes() -> None:
    checkers = [checker("good", good), checker("raises", raises), checker("hangs", hangs),
                checker("wrong_type", wrong_type), checker("wrong_name", wrong_name)]
    options = {c.NAME: {"enabled": True} for c in checkers}
    started = time.monotonic()
    try:
        results = run_checks(checkers, options, Host(), timeout_s=0.5)
    finally:
        RELEASE.set()
    assert time.monotonic() - started < 5
    by_check = {r.check: r for r in results}
    assert [r.check for r in results] == ["good", "raises", "hangs", "wrong_type", "wrong_name"]
    assert by_check["good"].status == "ok"
    assert by_check["raises"].status == "unknown"
    assert by_check["raises"].message == "check failed: PermissionError: [Errno 13] Permission denied"
    assert by_check["hangs"].status == "unknown" and "did not finish within" in by_check["hangs"].message
    assert by_check["wrong_type"].message == "check returned an invalid result"
    assert by_check["wrong_name"].status == "unknown"


def test_disabled_checkers_do_not_run() -> None:
    ran = []
    checkers = [checker("a", lambda o, h: ran.append("a") or []), checker("b", lambda o, h: ran.append("b") or [])]
    results = run_checks(checkers, {"a": {"enabled": False}, "b": {"enabled": True}}, Host(), timeout_s=5)
    assert ran == ["b"] and results == []


def test_options_reach_their_checker() -> None:
    seen = {}

    def collect(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
        seen.update(options)
        return []

    run_checks([checker("c", collect)], {"c": {"enabled": True, "limit": 3}}, Host(), timeout_s=5)
    assert seen == {"enabled": True, "limit": 3}
