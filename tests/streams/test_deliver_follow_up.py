"""Follow-ups through the notify stage's delivery path (streams/deliver.py), against
PostgreSQL and local vendor receivers, without a broker: the first notification and its
update are two deliveries, each sent once however often they are replayed; a channel
that takes no follow-ups records it skipped; retries, the DLQ and redrive keep the
update's key. And which analyses the notify agent sends at all (pure)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from alertstream.config import Settings
from alertstream.notify.base import ChannelConfig, key_of
from alertstream.schemas.records import Analysis, NotificationResult, NotificationRetry
from alertstream.storage import deliveries
from alertstream.streams.analysis.service import FOLLOW_UP_STAGE
from alertstream.streams.context import StageContext
from alertstream.streams.deliver import FOLLOW_UP_NOT_ASKED, FOLLOW_UP_UNSUPPORTED, Notifier, not_notified
from alertstream.streams.notify_redrive import redrive

from ..notify.factories import analysis
from ..notify.harness import ROUTING_KEY
from ..notify.receivers import Scripted, VendorServer, pagerduty_contract, vendor_server, webhook_contract

FOLLOWING = ("analyze", FOLLOW_UP_STAGE, "notify")


@pytest.mark.parametrize(("stages", "follow_up", "muted", "expected"), [
    (FOLLOWING, False, False, None),
    (FOLLOWING, True, False, None),
    (("analyze", "notify"), False, False, None),
    (("analyze", "notify"), True, False, FOLLOW_UP_NOT_ASKED),  # stored, never sent
    (("analyze",), True, False, ""),
    (FOLLOWING, True, True, ""),
])
def test_which_analyses_are_notified(stages: tuple[str, ...], follow_up: bool, muted: bool,
                                     expected: str | None) -> None:
    a = analysis(stages=stages, follow_up=follow_up)
    if muted:
        a = dataclasses.replace(a, incident=dataclasses.replace(a.incident, silenced_by=["s-1"]))
    assert not_notified(a) == expected


class RecordingContext(StageContext):
    """The notify stage's context with every output recorded instead of sent: through the batch
    outbox's producer (what the stage uses) and through the context's own one-record methods."""

    def __init__(self, settings: Settings, channels: dict[str, ChannelConfig]) -> None:
        super().__init__(settings, {}, channels)
        self.sent: list[tuple[str, Any]] = []
        self.raw: list[tuple[str, bytes, bytes]] = []
        self.refs: list[dict[str, Any]] = []

    def producer(self) -> Any:
        return self

    def topic_name(self, topic: str) -> str:
        return topic

    def produce(self, topic: str, key: bytes, value: bytes, headers: dict[str, bytes] | None, pending: Any) -> None:
        """OutputProducer.produce, acknowledged at once."""
        self.raw.append((topic, key, value))
        record = self.codec.decode(value)
        if topic == "audit.refs":
            self.refs.append({"output_ref": record.output_ref, "status": record.status, "error": record.error})
        else:
            self.sent.append((topic, record))
        pending.add()
        pending.delivered(None, None)

    async def send(self, topic: str, key: str, record: Any) -> bytes:
        self.sent.append((topic, record))
        return self.codec.encode(record)

    async def send_raw(self, topic: str, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> None:
        self.raw.append((topic, key, value))

    async def ref(self, **kwargs: Any) -> None:
        self.refs.append(kwargs)

    def results(self) -> list[NotificationResult]:
        return [r for t, r in self.sent if t == "notifications.results"]

    def retries(self) -> list[NotificationRetry]:
        return [r for t, r in self.sent if t.startswith("notify.retry.")]


@pytest.fixture(scope="module")
def hook() -> Iterator[VendorServer]:
    with vendor_server(webhook_contract(None)) as server:
        yield server


@pytest.fixture(scope="module")
def pd() -> Iterator[VendorServer]:
    with vendor_server(pagerduty_contract(ROUTING_KEY)) as server:
        yield server


@pytest.fixture
async def stage(database_url: str, hook: VendorServer, pd: VendorServer) -> AsyncIterator[RecordingContext]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "ALERTSTREAM_OUTBOUND_ALLOW": "127.0.0.1"})
    ctx = RecordingContext(settings, {
        "hook": ChannelConfig("hook", "webhook", {"url": f"{hook.base}/hook", "timeout_s": 2.0}),
        "pd": ChannelConfig("pd", "pagerduty", {"routing_key": ROUTING_KEY, "base_url": pd.base, "timeout_s": 2.0}),
    })
    yield ctx
    await ctx.close()


def pending_and_update(channels: tuple[str, ...] = ("hook", "pd")) -> tuple[Analysis, Analysis]:
    """The analyze stage's pair: `pending` at the deadline, then the late answer with follow_up."""
    done = analysis(channels=channels, stages=FOLLOWING, incident_id=f"inc-{uuid.uuid4().hex[:10]}")
    pending = dataclasses.replace(done, status="pending", reason="deadline", summary="", probable_cause="",
                                  recommendations=[])
    return pending, dataclasses.replace(done, analysis_id=done.analysis_id + "-update", follow_up=True)


def to(server: VendorServer, incident_id: str) -> list[str]:
    """The webhook-ids (or PagerDuty dedup keys) the receiver accepted for one incident."""
    with server.lock:
        return [r.headers.get("webhook-id") or r.json()["dedup_key"] for r in server.accepted
                if incident_id in (r.headers.get("webhook-id") or r.json().get("dedup_key", ""))]


def outcomes(results: list[NotificationResult]) -> list[tuple[str, str, str | None]]:
    """(key, status, reason) in key order: a lane's channels are attempted concurrently."""
    return sorted((r.delivery_key, r.status, r.reason) for r in results)


@pytest.mark.integration
async def test_the_first_notification_and_its_update_are_each_sent_once(stage: RecordingContext, hook: VendorServer,
                                                                         pd: VendorServer) -> None:
    pending, update = pending_and_update()
    incident = pending.incident.incident_id
    notifier = Notifier(stage)
    try:
        await notifier.notify(pending)
        await notifier.notify(update)
        assert outcomes(stage.results()) == [
            (f"{incident}:1:hook", "sent", None), (f"{incident}:1:hook:update", "sent", None),
            (f"{incident}:1:pd", "sent", None), (f"{incident}:1:pd:update", "skipped", FOLLOW_UP_UNSUPPORTED),
        ]
        for _ in range(2):  # redelivered or replayed: nothing goes out again
            await notifier.notify(update)
            await notifier.notify(pending)
        assert outcomes(stage.results()[4:]) == sorted([
            (f"{incident}:1:hook", "duplicate", None), (f"{incident}:1:hook:update", "duplicate", None),
            (f"{incident}:1:pd", "duplicate", None), (f"{incident}:1:pd:update", "skipped", FOLLOW_UP_UNSUPPORTED),
        ] * 2)
        assert to(hook, incident) == [f"{incident}:1:hook", f"{incident}:1:hook:update"]
        assert to(pd, incident) == [incident]  # the trigger only: no second event for the follow-up
        bodies = [r.json() for r in hook.accepted if incident in r.headers["webhook-id"]]
        assert [(b["update"], b["analysis"]["label"]) for b in bodies] == [(False, "analysis pending"), (True, "")]
        rows = await deliveries.list_deliveries(await stage.pool(), incident_id=incident, limit=10)
        assert {(r["delivery_key"], r["status"]) for r in rows} == {
            (f"{incident}:1:hook", "sent"), (f"{incident}:1:pd", "sent"), (f"{incident}:1:hook:update", "sent")}
        skipped = [ref for ref in stage.refs if ref["output_ref"] == f"delivery:{incident}:1:pd:update"]
        assert skipped and all(ref["status"] == "skipped" for ref in skipped)
    finally:
        await notifier.close()


@pytest.mark.integration
async def test_a_follow_up_keeps_its_key_through_retry_dlq_and_redrive(stage: RecordingContext,
                                                                       hook: VendorServer) -> None:
    pending, update = pending_and_update(("hook",))
    incident = pending.incident.incident_id
    key = key_of(update, "hook")
    notifier = Notifier(stage)
    pool = await stage.pool()
    try:
        await notifier.notify(pending)
        with hook.lock:
            hook.script.append(Scripted(503, {}, b"unavailable"))
        await notifier.notify(update)
        (retry,) = stage.retries()
        assert retry.delivery_key == key and retry.analysis.follow_up and retry.attempt == 2
        assert stage.results()[-1].delivery_key == key and stage.results()[-1].status == "retrying"

        # The retry agent's attempt (streams/notify_retry.py) fails for good: dead-lettered under the same key.
        with hook.lock:
            hook.script.append(Scripted(400, {}, b"bad request"))
        status = await notifier.attempt(retry.analysis, retry.channel, retry.attempt, retry.first_attempt_at)
        assert status == "failed"
        (dead,) = [stage.codec.decode(v) for t, _, v in stage.raw if t == "notify.dlq"]
        assert dead.delivery_key == key and dead.analysis.follow_up

        published: list[tuple[str, bytes, bytes]] = []

        async def publish(topic: str, k: bytes, value: bytes) -> None:
            published.append((topic, k, value))

        assert await redrive(pool, stage.codec, publish, datetime.now(UTC), keys=[key]) == [key]
        (topic, _, value) = published[0]
        again: NotificationRetry = stage.codec.decode(value)
        assert topic == "notify.retry.30s" and again.delivery_key == key
        assert await notifier.attempt(again.analysis, again.channel, again.attempt, again.first_attempt_at) == "sent"
        assert await notifier.attempt(again.analysis, again.channel, again.attempt, again.first_attempt_at) \
            == "duplicate"
        assert to(hook, incident) == [f"{incident}:1:hook", key]
        rows = await deliveries.list_deliveries(pool, incident_id=incident, limit=10)
        assert {(r["delivery_key"], r["status"]) for r in rows} == {(f"{incident}:1:hook", "sent"), (key, "sent")}
    finally:
        await notifier.close()
