"""A slow model provider never delays the page past the analysis deadline, through the
real processes: broker, PostgreSQL, edge, worker, a local webhook receiver, and a
local server speaking the OpenAI protocol. A lane with the follow-up stage then gets
the late analysis as an update of that page; a lane without it gets the page only.

The stack is this module's own (broker, database, consumer group): the active
provider is stored in the database, and the session pipeline's worker must not
pick up a deliberately slow one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from alertstream.embedded import free_port, start_broker

from ..components import (
    Process,
    Receiver,
    key_headers,
    new_api_key,
    pipeline_env,
    receiver,
    spawn,
    wait_ready,
)
from ..components import test_database as fresh_database
from ..streams.analysis.fakes import Answer, FakeModel, fake_model

pytestmark = pytest.mark.integration

DEADLINE_S = 1.0
PROVIDER_DELAY_S = 5.0
FOLLOW_UP_DELAY_S = 4.0  # well past the 1 s deadline (a loaded 2-core machine adds ~1.5 s to a page), still quick
# Alerts choose their lane by the label `analysis`; anything else takes the built-in catch-all.
LANES = {"lanes": [
    {"name": "follow-up", "priority": 10, "match": [{"field": "label:analysis", "op": "is", "value": "follow-up"}],
     "stages": ["analyze", "analyze-follow-up", "notify"], "channels": ["default-webhook"]},
    {"name": "no-follow-up", "priority": 20, "match": [{"field": "label:analysis", "op": "is", "value": "plain"}],
     "stages": ["analyze", "notify"], "channels": ["default-webhook"]},
    {"name": "quick", "priority": 30, "match": [{"field": "label:analysis", "op": "is", "value": "quick"}],
     "stages": ["analyze", "notify"], "channels": ["default-webhook"], "analysis_deadline": "200ms"},
]}


@dataclass
class Stack:
    base_url: str
    headers: dict[str, str]
    sink: Receiver
    model: FakeModel
    database_url: str
    worker: Process
    warm: bool = False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("analysis-e2e")
    broker = start_broker(free_port(), tmp / "broker.log")
    try:
        with fresh_database(tmp) as db, receiver() as sink, fake_model() as model:
            with psycopg.connect(db) as conn:
                conn.execute(
                    "INSERT INTO analysis_providers (name, kind, base_url, model, timeout_s, active)"
                    " VALUES ('slow-openai', 'openai', %s, 'gpt-slow', 15, true)", (model.url + "/v1",),
                )
            port = free_port()
            lanes = tmp / "lanes.json"
            lanes.write_text(json.dumps(LANES))
            env = pipeline_env(
                broker.bootstrap, db, tmp, ALERTSTREAM_PORT=str(port), ALERTSTREAM_WEBHOOK_URL=sink.url,
                ALERTSTREAM_APP_ID="as-analysis-e2e", ALERTSTREAM_ANALYSIS_DEADLINE_S=str(DEADLINE_S),
                ALERTSTREAM_ANALYSIS_ALLOW="127.0.0.1", ALERTSTREAM_ANALYSIS_REFRESH_S="1",
                ALERTSTREAM_LANES_FILE=str(lanes),
            )
            worker = spawn("worker", env, tmp / "worker.log")
            edge = spawn("edge", env, tmp / "edge.log")
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(base)
                yield Stack(base, key_headers(new_api_key(db)), sink, model, db, worker)
            finally:
                edge.stop()
                worker.stop()
    finally:
        broker.stop()


def send(stack: Stack, name: str, **labels: str) -> tuple[str, float]:
    import httpx

    response = httpx.post(stack.base_url + "/alerts/webhook/", headers=stack.headers, timeout=15,
                          json={"name": name, "severity": "critical", "labels": {"instance": "db-1", **labels},
                                "annotations": {"summary": "disk /var 97% full"}})
    assert response.status_code == 202, response.text
    return response.json()["trace_id"], time.monotonic()


def warm_up(stack: Stack) -> None:
    """Once per module, with a prompt provider: the worker has joined and uses the stored provider."""
    if stack.warm:
        return
    stack.model.script(Answer())
    warm_name = f"DiskWarm-{uuid.uuid4().hex[:8]}"
    send(stack, warm_name)
    (warm,) = stack.sink.wait_for(lambda r: warm_name in r.json()["title"], 1, timeout=90)
    assert warm.json()["analysis"]["provider"] == "slow-openai", stack.worker.log()[-3000:]
    assert warm.json()["analysis"]["status"] == "ok"
    stack.warm = True


def analyzed_took(database_url: str, trace_id: str, timeout: float = 20) -> float:
    """How long the analyze stage held the event, from its reference record (not a follow-up's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM finished_at - started_at) FROM audit_refs"
                " WHERE trace_id = %s AND stage = 'analyzed' AND output_ref NOT LIKE '%%follow_up=1%%'",
                (trace_id,),
            ).fetchone()
        if row:
            return float(row[0])
        time.sleep(0.2)
    raise AssertionError(f"no analyzed reference for trace {trace_id}")


def test_slow_provider_never_delays_the_page_past_the_deadline(stack: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    warm_up(stack)
    stack.model.script(Answer(delay_s=PROVIDER_DELAY_S))
    name = f"DiskSlow-{run}"
    trace_id, sent_at = send(stack, name)
    (page,) = stack.sink.wait_for(lambda r: name in r.json()["title"], 1, timeout=30)
    paged_after = time.monotonic() - sent_at
    analysis = page.json()["analysis"]
    assert analysis["status"] == "unavailable" and analysis["provider"] == "slow-openai"
    assert paged_after < PROVIDER_DELAY_S, f"the page waited {paged_after:.1f}s for a slow provider"
    held = analyzed_took(stack.database_url, trace_id)
    assert held <= DEADLINE_S + 0.5, f"analyze held the event {held:.2f}s (deadline {DEADLINE_S}s)"

    # The late answer is stored (and not sent: the lane did not ask for a follow-up).
    late = None
    until = time.monotonic() + PROVIDER_DELAY_S + 10
    while time.monotonic() < until and late is None:
        with psycopg.connect(stack.database_url) as conn:
            late = conn.execute(
                "SELECT status, tokens_in, follow_up FROM analyses a WHERE a.trace_id = %s AND status = 'ok'",
                (trace_id,),
            ).fetchone()
        time.sleep(0.3)
    assert late == ("ok", 120, False)
    assert len(stack.sink.matching(lambda r: name in r.json()["title"])) == 1


def titled(name: str) -> Callable[[Any], bool]:
    return lambda r: name in r.json()["title"]


def header(received: object, name: str) -> str:
    return next(v for k, v in received.headers.items() if k.lower() == name)  # type: ignore[attr-defined]


def late_analysis(database_url: str, trace_id: str, timeout: float) -> tuple | None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT status, follow_up FROM analyses WHERE trace_id = %s AND status = 'ok'",
                               (trace_id,)).fetchone()
        if row:
            return tuple(row)
        time.sleep(0.2)
    return None


@dataclass
class Paged:
    name: str
    trace_id: str
    sent_at: float
    page: Any


def first_page(stack: Stack, prefix: str, lane_label: str) -> Paged:
    """An alert for the lane picked by `lane_label`, answered by the provider FOLLOW_UP_DELAY_S late: its page."""
    warm_up(stack)
    stack.model.script(Answer(delay_s=FOLLOW_UP_DELAY_S))
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    trace_id, sent_at = send(stack, name, analysis=lane_label)
    (page,) = stack.sink.wait_for(titled(name), 1, timeout=30)
    return Paged(name, trace_id, sent_at, page)


def test_a_lane_with_the_follow_up_stage_gets_the_page_pending_then_the_update(stack: Stack) -> None:
    paged = first_page(stack, "DiskFollow", "follow-up")
    page, trace_id, ours = paged.page, paged.trace_id, titled(paged.name)
    paged_after = time.monotonic() - paged.sent_at
    first = page.json()
    assert (first["lane"], first["update"]) == ("follow-up", False)
    assert first["analysis"]["status"] == "pending" and first["analysis"]["label"] == "analysis pending"
    assert paged_after < FOLLOW_UP_DELAY_S, f"the page waited {paged_after:.1f}s for a slow provider"
    held = analyzed_took(stack.database_url, trace_id)
    assert held <= DEADLINE_S + 0.5, f"analyze held the event {held:.2f}s (deadline {DEADLINE_S}s)"

    got = stack.sink.wait_for(ours, 2, timeout=FOLLOW_UP_DELAY_S + 20)
    assert len(got) == 2, f"no update arrived: {stack.worker.log()[-3000:]}"
    update = got[1].json()
    assert update["update"] is True and update["update_of"] == header(page, "webhook-id") == first["delivery_key"]
    assert header(got[1], "webhook-id") == first["delivery_key"] + ":update" == update["delivery_key"]
    analysis = update["analysis"]
    assert (analysis["status"], analysis["follow_up"], analysis["label"]) == ("ok", True, "")
    assert analysis["provider"] == "slow-openai" and analysis["confidence"] == 0.83
    assert analysis["probable_cause"] == "Application logs under /var/log/app are not rotated."
    assert late_analysis(stack.database_url, trace_id, 10) == ("ok", True)
    time.sleep(1.0)  # nothing more follows: each of the two is sent once
    assert len(stack.sink.matching(ours)) == 2


def test_a_lane_deadline_shorter_than_the_workers_is_kept(stack: Stack) -> None:
    paged = first_page(stack, "DiskQuick", "quick")
    assert paged.page.json()["lane"] == "quick" and paged.page.json()["analysis"]["status"] == "unavailable"
    held = analyzed_took(stack.database_url, paged.trace_id)
    assert held < DEADLINE_S - 0.3, f"analyze held the event {held:.2f}s; the lane allows 0.2s"


def test_a_lane_without_the_follow_up_stage_gets_the_page_only(stack: Stack) -> None:
    paged = first_page(stack, "DiskPlain", "plain")
    trace_id, ours = paged.trace_id, titled(paged.name)
    doc = paged.page.json()
    assert doc["lane"] == "no-follow-up" and not doc["update"]
    assert (doc["analysis"]["status"], doc["analysis"]["label"]) == ("unavailable", "analysis unavailable")
    assert late_analysis(stack.database_url, trace_id, FOLLOW_UP_DELAY_S + 10) == ("ok", False)  # stored
    time.sleep(1.0)
    assert len(stack.sink.matching(ours)) == 1
