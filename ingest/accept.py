"""From a decoded payload to the records the edge publishes. Pure: the clock and ids come in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from alertstream.audit import make_ref
from alertstream.chain import LocalChain, process_chain
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import NormalizedAlert
from alertstream.schemas.topics import ALERTS_NORMALIZED, AUDIT_REFS

from . import drivers
from .publisher import OutRecord
from .responses import EdgeError

Redactor = Callable[..., NormalizedAlert]  # (alert, **fields to set in the same copy) -> redacted alert


def choose_driver(payload: dict[str, Any], forced: str | None) -> ModuleType:
    if forced is not None:
        driver = drivers.BY_NAME.get(forced)
        if driver is None:
            raise EdgeError(404, f"unknown driver {forced!r}", drivers=sorted(drivers.BY_NAME))
        return driver
    driver = drivers.detect(payload)
    if driver is None:
        raise EdgeError(
            400,
            "unrecognized payload",
            hint="no driver recognized this payload; POST it to /alerts/webhook/{driver}/ "
            f"with one of: {', '.join(d.NAME for d in drivers.DRIVERS)}",
        )
    return driver


def parse_alerts(
    driver: ModuleType, payload: dict[str, Any], received_at: datetime, max_alerts: int
) -> list[NormalizedAlert]:
    try:
        alerts = driver.parse(payload, received_at)
    except drivers.ParseError as exc:
        raise EdgeError(400, "invalid payload", driver=exc.driver, problem=exc.problem) from None
    # An empty list is a valid vendor message that changes no alert (a ping, a note, a snooze): it is
    # accepted with nothing to publish, so the vendor does not retry it or mark the webhook broken.
    if len(alerts) > max_alerts:
        raise EdgeError(400, "too many alerts", limit=max_alerts, got=len(alerts))
    return alerts


def build_records(
    alerts: list[NormalizedAlert],
    *,
    codec: Codec,
    trace_id: str,
    run_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    redact: Redactor,
    now: Callable[[], datetime],
    chain: LocalChain | None = None,
) -> tuple[list[OutRecord], list[dict[str, str]]]:
    """The alerts (enveloped, redacted) and one `received` ref per alert, linked into `chain`
    (default: this process run's edge chain) and keyed by its chain id."""
    chain = chain or process_chain("received", "edge", run_id)
    out: list[OutRecord] = []
    accepted: list[dict[str, str]] = []
    for alert in alerts:
        enveloped = redact(alert, event_id=new_id(), trace_id=trace_id, received_at=received_at)
        value = codec.encode(enveloped)
        out.append(OutRecord(ALERTS_NORMALIZED.name, enveloped.fingerprint.encode(), value))
        ref = chain.link(make_ref(
            trace_id=trace_id,
            run_id=run_id,
            stage="received",
            input_ref=f"http:{trace_id}",
            output_ref=f"alert:{enveloped.event_id}",
            content=value,
            started_at=received_at,
            finished_at=now(),
        ))
        out.append(OutRecord(AUDIT_REFS.name, chain.chain_id.encode(), codec.encode(ref)))
        accepted.append({"event_id": enveloped.event_id, "fingerprint": enveloped.fingerprint})
    return out, accepted
