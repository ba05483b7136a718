"""`channels test`: a real message through a channel's driver, outside the ledger, so
an operator sees a configuration work (or why not) before an incident needs it."""

from __future__ import annotations

import uuid
from datetime import datetime

from alertstream.errors import PipelineError
from alertstream.schemas.records import Analysis, IncidentAlert, IncidentEvent, Lane

from .base import ChannelConfig, Delivery, Outbound
from .registry import CHANNEL_TYPES


def test_delivery(channel: str, now: datetime) -> Delivery:
    incident_id = f"test-{uuid.uuid4().hex[:12]}"
    alert = IncidentAlert(
        fingerprint="test", event_id="test", source="alertstream", name="AlertstreamChannelTest", status="firing",
        severity="info", annotations={"summary": f"A test message for channel {channel}: no action needed."},
    )
    event = IncidentEvent(
        event_id="test", trace_id="test", incident_id=incident_id, version=1, reason="opened", status="open",
        severity="info", title=f"alertstream test message for {channel}", correlation_key="test", opened_at=now,
        updated_at=now, alerts=[alert], lane=Lane("test", ["notify"], [channel]),
    )
    analysis = Analysis(analysis_id="test", incident=event, status="skipped", provider="none", started_at=now,
                        finished_at=now, summary="This is a test of the channel configuration.")
    return Delivery(f"{incident_id}:1:{channel}", 1, analysis)


async def send_test(channel: ChannelConfig, out: Outbound, now: datetime) -> tuple[bool, str]:
    """(ok, what happened) — the reason never carries a secret."""
    try:
        sent = await CHANNEL_TYPES[channel.type].send(channel, test_delivery(channel.name, now), out)
    except PipelineError as exc:
        kind = "retryable" if exc.__class__.__name__ == "Retryable" else "permanent"
        return False, f"{kind}: {exc.reason}" + (f" ({exc.detail})" if exc.detail else "")
    return True, f"sent (status {sent.status_code})"
