"""Follow-ups and missing analyses, without I/O: the delivery key of a follow-up, which
channels take one, and how every notification says what became of its analysis."""

from __future__ import annotations

import orjson
import pytest

from alertstream.notify import email, opsgenie, pagerduty
from alertstream.notify.base import Delivery, delivery_key, key_of
from alertstream.notify.message import analysis_label, analysis_note, message_context, notification_document
from alertstream.notify.registry import CHANNEL_TYPES, takes_follow_ups

from .factories import analysis, delivery


@pytest.mark.parametrize(("incident", "version", "channel", "follow_up", "key"), [
    ("inc-1", 1, "slack-ops", False, "inc-1:1:slack-ops"),
    ("inc-1", 1, "slack-ops", True, "inc-1:1:slack-ops:update"),
    ("inc-1", 7, "pd", True, "inc-1:7:pd:update"),
    ("inc-1", 1, "update", False, "inc-1:1:update"),  # a channel may be called "update"
    ("inc-1", 1, "update", True, "inc-1:1:update:update"),
])
def test_delivery_key(incident: str, version: int, channel: str, follow_up: bool, key: str) -> None:
    assert delivery_key(incident, version, channel, follow_up) == key


@pytest.mark.parametrize("channel", ["ops", "update"])
def test_a_follow_up_has_its_own_key_and_knows_the_first(channel: str) -> None:
    first = analysis(incident_id="inc-9", version=3, analysis_status="pending", reason="deadline")
    update = analysis(incident_id="inc-9", version=3, follow_up=True)
    assert key_of(first, channel) == f"inc-9:3:{channel}"
    assert key_of(update, channel) == f"inc-9:3:{channel}:update"
    assert Delivery(key_of(update, channel), 1, update).first_key == key_of(first, channel)
    assert Delivery(key_of(first, channel), 1, first).first_key == key_of(first, channel)


@pytest.mark.parametrize(("kw", "label", "note"), [
    ({}, "", ""),
    ({"analysis_status": "skipped"}, "", ""),
    ({"analysis_status": "pending", "reason": "deadline"}, "analysis pending",
     "Analysis pending: it was not ready in time and follows as an update."),
    ({"analysis_status": "unavailable", "reason": "deadline"}, "analysis unavailable",
     "Analysis unavailable: it was not ready in time."),
    ({"analysis_status": "unavailable", "reason": "bug"}, "analysis unavailable", "Analysis unavailable."),
    ({"analysis_status": "fallback", "fallback_used": True, "reason": "http_429", "provider": "gpt"},
     "fallback used", "Fallback used: gpt gave no usable answer (http_429); the probable cause and next steps"
     " come from the local rules."),
    ({"analysis_status": "fallback", "fallback_used": True, "follow_up": True, "provider": "gpt"},
     "fallback used", "Fallback used: gpt gave no usable answer; the probable cause and next steps come from"
     " the local rules."),
])
def test_what_a_notification_says_about_its_analysis(kw: dict, label: str, note: str) -> None:
    a = analysis(**kw)
    assert analysis_label(a) == label
    assert analysis_note(a) == note
    ctx = message_context(a, "k")
    assert (ctx["analysis"]["label"], ctx["analysis_note"]) == (label, note)
    doc = notification_document(a, "k")
    assert (doc["analysis"]["label"], doc["analysis"]["note"]) == (label, note)


def test_the_webhook_document_of_a_follow_up_names_what_it_updates() -> None:
    d = delivery(channel="hook", follow_up=True)
    doc = notification_document(d.analysis, d.key)
    assert doc["update"] is True and doc["update_of"] == d.key.removesuffix(":update")
    assert doc["analysis"]["follow_up"] is True and doc["delivery_key"] == d.key
    first = delivery(channel="hook", analysis_status="pending")
    assert notification_document(first.analysis, first.key)["update_of"] is None


@pytest.mark.parametrize(("channel_type", "takes"), [
    ("webhook", True), ("slack", True), ("teams", True), ("email", True), ("opsgenie", True),
    ("pagerduty", False), ("no-such-type", True),
])
def test_which_channels_take_follow_ups(channel_type: str, takes: bool) -> None:
    assert takes_follow_ups(channel_type) is takes


def test_every_driver_says_whether_it_takes_follow_ups() -> None:
    for driver in CHANNEL_TYPES.values():
        assert isinstance(driver.FOLLOW_UPS, bool), driver.TYPE


@pytest.mark.parametrize("status", ["open", "acknowledged", "resolved"])
def test_an_opsgenie_follow_up_is_a_note_on_the_alert_whatever_its_state(status: str) -> None:
    d = delivery(status=status, channel="genie", follow_up=True, incident_id="inc/42")
    path, body = opsgenie.build(opsgenie.validate({"api_key": "k"}), d)
    assert path == "/v2/alerts/inc%2F42/notes?identifierType=alias"
    note = orjson.loads(body)["note"]
    assert note.startswith("Update: analysis for") and "Probable cause: log rotation stopped" in note


@pytest.mark.parametrize(("kw", "details"), [
    ({"analysis_status": "pending", "reason": "deadline"}, "Analysis pending"),
    ({"analysis_status": "unavailable", "reason": "deadline"}, "Analysis unavailable"),
    ({"analysis_status": "fallback", "fallback_used": True, "reason": "timeout"}, "Fallback used"),
    ({}, None),
])
def test_the_pagerduty_trigger_says_what_became_of_the_analysis(kw: dict, details: str | None) -> None:
    event = orjson.loads(pagerduty.build(pagerduty.validate({"routing_key": "r"}), delivery(channel="pd", **kw)))
    said = event["payload"]["custom_details"].get("analysis")
    assert (said.split(":")[0] if said else None) == details
    assert "update" not in (said or "")  # PagerDuty takes no follow-up: none is promised


def test_an_email_follow_up_replies_to_the_page_it_updates() -> None:
    settings = email.validate({"host": "smtp.example", "from": "a@example.test", "to": ["b@example.test"]})
    update = delivery(channel="mail", follow_up=True, incident_id="inc-7")
    first = delivery(channel="mail", analysis_status="pending", incident_id="inc-7")
    first_msg, update_msg = email.build(settings, first, 0), email.build(settings, update, 0)
    assert update_msg["In-Reply-To"] == update_msg["References"] == first_msg["Message-ID"]
    assert update_msg["Message-ID"] != first_msg["Message-ID"] and first_msg["In-Reply-To"] is None
    assert update_msg["Subject"].startswith("Update: analysis for [CRITICAL]")
    assert "Analysis pending: it was not ready in time" in first_msg.get_body(("plain",)).get_content()
