"""The agent: overrides from the hub, one round, the loop that never dies."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import orjson

from alertstream.agent.host import Host
from alertstream.agent.hub import HubClient, HubConfig
from alertstream.agent.result import CheckResult, grade
from alertstream.agent.service import Agent
from alertstream.ingest.drivers import cluster


def level_check(options: Mapping[str, Any], host: Host) -> list[CheckResult]:
    value = 50.0
    return [CheckResult("level", grade(value, options["pct"]), f"level {value}", {"pct": value}, {"tank": "a"})]


LEVEL = SimpleNamespace(NAME="level", DEFAULTS={"pct": {"warning": 80, "critical": 90}}, collect=level_check)


class FakeHub:
    """The edge's two agent endpoints, in memory."""

    def __init__(self, overrides: Any = None, push_status: int = 202) -> None:
        self.overrides = overrides
        self.push_status = push_status
        self.pushed: list[dict[str, Any]] = []
        self.config_requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.config_requests += 1
            if isinstance(self.overrides, Exception):
                raise self.overrides
            if self.overrides is None:
                return httpx.Response(404, json={"error": "no overrides for this host"})
            return httpx.Response(200, json={"instance_id": "i-1", "options": self.overrides})
        self.pushed.append(orjson.loads(request.content))
        return httpx.Response(self.push_status, json={"trace_id": "t"})

    def client(self) -> HubClient:
        return HubClient(HubConfig("http://hub.test"), httpx.Client(transport=httpx.MockTransport(self.handler)))


def agent(hub: FakeHub | None, local: Mapping[str, Any] | None = None) -> Agent:
    return Agent("i-1", "web-1", local or {}, hub=hub.client() if hub else None, checkers=[LEVEL],  # type: ignore[list-item]
                 version="test", rand=lambda: 0.0)


def patch_defaults(monkeypatch: Any) -> None:
    import alertstream.agent.options as options

    monkeypatch.setattr(options, "CHECKERS", (LEVEL,))


def test_one_round_pushes_what_the_cluster_driver_takes(monkeypatch: Any) -> None:
    patch_defaults(monkeypatch)
    hub = FakeHub()
    payload, outcome = agent(hub).run_once(push=True)
    assert outcome is not None and outcome.delivered
    assert hub.pushed == [payload]
    assert payload == {"instance_id": "i-1", "hostname": "web-1", "agent_version": "test", "alerts": [
        {"check": "level", "status": "ok", "message": "level 50.0", "metrics": {"pct": 50.0}, "labels": {"tank": "a"}},
    ]}
    [alert] = cluster.parse(payload, datetime(2026, 1, 1, tzinfo=UTC))
    assert (alert.name, alert.status, alert.labels["tank"], alert.labels["instance_id"]) == ("level", "resolved",
                                                                                             "a", "i-1")


def test_hub_overrides_win_over_local_options(monkeypatch: Any) -> None:
    patch_defaults(monkeypatch)
    hub = FakeHub(overrides={"checks": {"level": {"pct": {"critical": 40}}}})
    payload, _ = agent(hub, {"checks": {"level": {"pct": {"warning": 30}}}}).run_once(push=False)
    assert payload["alerts"][0]["status"] == "critical"
    assert hub.pushed == []


def test_local_options_apply_when_the_hub_has_none_or_is_down(monkeypatch: Any) -> None:
    patch_defaults(monkeypatch)
    local = {"checks": {"level": {"pct": {"warning": 30}}}}
    assert agent(FakeHub(), local).run_once(push=False)[0]["alerts"][0]["status"] == "warning"
    down = FakeHub(overrides=httpx.ConnectError("refused"))
    assert agent(down, local).run_once(push=False)[0]["alerts"][0]["status"] == "warning"


def test_bad_overrides_are_refused_and_the_last_good_ones_kept(monkeypatch: Any) -> None:
    patch_defaults(monkeypatch)
    hub = FakeHub(overrides={"checks": {"level": {"pct": {"critical": 40}}}})
    subject = agent(hub)
    subject.refresh_overrides()
    hub.overrides = {"checks": {"level": {"pct": "high"}}}
    subject.refresh_overrides()
    assert subject.options().checks["level"]["pct"] == {"warning": 80, "critical": 40}
    hub.overrides = None  # the operator removed them: back to local
    subject.refresh_overrides()
    assert subject.options().checks["level"]["pct"] == {"warning": 80, "critical": 90}


def test_the_loop_survives_a_failing_round_and_stops_when_asked(monkeypatch: Any) -> None:
    patch_defaults(monkeypatch)
    hub = FakeHub(push_status=503)
    subject = agent(hub)
    rounds: list[int] = []
    calls = {"n": 0}
    real_check = subject.check

    def flaky_check(options: Any) -> list[CheckResult]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in round one")
        return real_check(options)

    subject.check = flaky_check  # type: ignore[method-assign]

    def on_round(payload: dict[str, Any]) -> None:
        rounds.append(len(payload["alerts"]))
        if len(rounds) == 2:
            subject.stop.set()

    thread = threading.Thread(target=subject.run_forever, kwargs={"interval_s": 0.05, "on_round": on_round})
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert rounds == [1, 1]  # round one failed, two more ran
    assert calls["n"] == 3
    assert len(hub.pushed) >= 2  # each round tried to push; 503s never ended the loop
