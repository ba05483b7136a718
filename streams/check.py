"""The check stage: dedup by fingerprint, then incidents by correlation key.

Two hops so each table is co-partitioned with the key it is grouped on:
alerts.normalized (key fingerprint) -> dedup -> alerts.changes (key correlation key)
-> incidents -> incidents.events (key incident id). Operator actions arrive on
incidents.actions (key incident id) and are re-keyed onto alerts.changes too, where the
stage's timer also sends its ticks: the incident agent reads one topic, so every change
of an incident's state happens in one place, in one order that a restarted or newly
assigned worker sees again exactly, with the clock carried by the input. (Reading two
topics, the interleaving of alerts and commands differed between the first run and a
redelivery, and a recovered incident took a different history.)

Crash safety (at-least-once delivery, exactly-once effect): each agent publishes its
outputs and waits for the broker *before* it writes its table, and the table row
remembers the offset of the last input it took in. A redelivered input that the row
has already seen is skipped; one it has not seen is applied again to the same state
and, the rules being deterministic, produces byte-identical events (same incident id
and version), which consumers dedupe by (incident_id, version).

Batches: the agents take their input in batches. A batch is worked out record by record,
in order, against the tables overlaid with the rows the batch has changed so far (a later
record of a key sees the earlier one's new state); every output goes to the producer as
it is made, and the broker acknowledges them together (`Outbox.flush`). Then the rows
are written, then the GapGuard's marks move. Per partition the order of inputs and of
outputs is the order of the log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from alertstream.schemas.codec import SchemaError
from alertstream.schemas.records import IncidentCommand, NormalizedAlert

from .announce import Routing, take_input
from .check_runtime import CheckRuntime
from .context import Outbox, StageContext, processing, utcnow
from .gaps import GapGuard, InputRecord
from .incident_state import IncidentState
from .incidents import ACTIONS, correlation_key, is_material

log = logging.getLogger(__name__)

Agent = Callable[[faust.StreamT], Awaitable[None]]

LEGACY_COMMANDS_TOPIC = "incidents.commands"


def make_dedup_agent(ctx: StageContext, alert_state: faust.Table, runtime: CheckRuntime, guard: GapGuard) -> Agent:
    policy = runtime.policy

    async def dedup(record: InputRecord, rows: dict[str, tuple[Any, dict[str, Any]]], out: Outbox) -> None:
        """One alert: its change (or its duplicate ref) into the outbox, its new row into `rows`."""
        started = utcnow()
        alert: NormalizedAlert | None = await out.decoded("alerts.normalized", record.key, record.value)
        if alert is None:
            return
        try:
            offset, fingerprint = record.offset, alert.fingerprint
            known = rows.get(fingerprint)
            previous: dict[str, Any] | None = known[1] if known is not None else alert_state.get(fingerprint)
            if previous is not None and previous.get("offset", -1) >= offset:
                return  # redelivered after a crash; its output went out before its row was saved
            if is_material(previous, alert):
                await out.send_raw("alerts.changes", correlation_key(alert, policy).encode(), record.value)
                rows[fingerprint] = (record.event, {
                    "status": alert.status, "severity": alert.severity, "repeats": 0,
                    "event_id": alert.event_id, "offset": offset,
                })
            else:
                assert previous is not None
                rows[fingerprint] = (record.event, {
                    **previous, "repeats": previous.get("repeats", 0) + 1, "offset": offset,
                })
                runtime.repeats += 1
                await out.ref(
                    trace_id=alert.trace_id, stage="checked", input_ref=f"alert:{alert.event_id}",
                    output_ref=f"duplicate-of:{previous.get('event_id', '')}", content=record.value,
                    started_at=started, status="skipped",
                )
        except Exception as exc:  # a bug: keep the record and the agent, say so loudly
            log.exception("check_dedup failed on event %s", alert.event_id)
            await out.dead_letter("alerts.normalized", record.key, record.value, f"bug: {type(exc).__name__}")

    async def check_dedup(stream: faust.StreamT) -> None:
        async for events in ctx.batches(stream):
            admitted = await guard.admit(events)
            out = ctx.outbox()
            rows: dict[str, tuple[Any, dict[str, Any]]] = {}
            for record in admitted.records:
                with processing(record.event):
                    await dedup(record, rows, out)
            await out.flush()  # raises when the broker refused: nothing below happens, the inputs come again
            for fingerprint, (event, row) in rows.items():
                with processing(event):
                    alert_state[fingerprint] = row
            guard.commit(admitted.marks)

    return check_dedup


def make_actions_agent(ctx: StageContext) -> Agent:
    """incidents.actions (key incident id, written by the edge and CLI) -> alerts.changes (key
    correlation key): the re-key puts an action on the partition, and in the sequence, of its
    incident. Also drains incidents.commands, where earlier versions sent actions and ticks."""

    async def check_actions(stream: faust.StreamT) -> None:
        async for events in ctx.batches(stream):
            out = ctx.outbox()
            for event in events:
                topic = event.message.topic
                try:
                    command: IncidentCommand = ctx.codec.decode(event.value)
                    legacy = topic == LEGACY_COMMANDS_TOPIC
                    if not isinstance(command, IncidentCommand) or not (legacy or command.kind in ACTIONS):
                        raise SchemaError(f"not an operator action: {type(command).__name__}")
                except SchemaError as exc:
                    await out.dead_letter(topic, event.key, event.value, f"schema: {exc}")
                    continue
                try:
                    await out.send_raw("alerts.changes", command.correlation_key.encode(), event.value)
                except Exception as exc:
                    log.exception("check_actions failed on command %s", command.command_id)
                    await out.dead_letter(topic, event.key, event.value, f"bug: {type(exc).__name__}")
            await out.flush()

    return check_actions


def load(raw: dict[str, Any] | None) -> tuple[IncidentState | None, dict[str, int]]:
    """A table row: an incident, or the tombstone of a closed one (its offsets only), or nothing."""
    if not raw:
        return None, {}
    if "incident_id" not in raw:
        return None, dict(raw.get("offsets", {}))
    state = IncidentState.from_json(raw)
    return state, state.offsets


Row = tuple[Any, dict[str, Any] | None, IncidentState | None]  # (event, raw row, the incident kept)


def make_incident_agent(
    ctx: StageContext, incidents: faust.Table, runtime: CheckRuntime, guard: GapGuard
) -> Agent:
    policy = runtime.policy

    async def take(record: InputRecord, rows: dict[str, Row], out: Outbox) -> None:
        """One record of alerts.changes: its events and refs into the outbox, its new row into `rows`."""
        started = utcnow()
        topic, offset, partition = record.topic, record.offset, record.partition
        decoded = await out.decoded(topic, record.key, record.value)
        if decoded is None:
            return
        try:
            if isinstance(decoded, NormalizedAlert):
                key, input_ref = correlation_key(decoded, policy), f"alert:{decoded.event_id}"
            elif isinstance(decoded, IncidentCommand):
                key, input_ref = decoded.correlation_key, f"command:{decoded.command_id}"
            else:
                await out.dead_letter(topic, record.key, record.value, f"schema: unexpected {type(decoded).__name__}")
                return
            known = rows.get(key)
            raw = known[1] if known is not None else incidents.get(key)
            state, offsets = load(raw)
            if 0 <= offset <= offsets.get(topic, -1):
                return  # redelivered after a crash: already in the state, its events already out
            outcome = take_input(state, decoded, Routing(runtime.lanes.lanes, runtime.silences), policy)
            trace = decoded.trace_id if isinstance(decoded, NormalizedAlert) else decoded.command_id
            for incident_event in outcome.events:
                value = await out.send("incidents.events", incident_event.incident_id, incident_event)
                await out.ref(
                    trace_id=incident_event.trace_id or trace, stage="checked", input_ref=input_ref,
                    output_ref=f"incident:{incident_event.incident_id}@{incident_event.version}",
                    content=value, started_at=started,
                )
            if outcome.rejected:
                log.warning("operator action %s on incident %s refused: %s", decoded.command_id,  # type: ignore[union-attr]
                            decoded.incident_id, outcome.rejected)  # type: ignore[union-attr]
            if not outcome.events and not (isinstance(decoded, IncidentCommand) and decoded.kind == "tick"):
                await out.ref(
                    trace_id=trace, stage="checked", input_ref=input_ref,
                    output_ref=f"incident:{state.incident_id if state else 'none'}:unchanged",
                    content=record.value, started_at=started, status="skipped", error=outcome.rejected or None,
                )
            offsets = {**offsets, topic: offset}
            if outcome.state is None and raw is None and not outcome.events:
                return  # nothing was here and nothing happened: no row to keep
            if outcome.state is None:
                rows[key] = (record.event, {"offsets": offsets, "partition": partition}, None)  # tombstone
            else:
                kept = dataclasses.replace(outcome.state, partition=partition, offsets=offsets)
                rows[key] = (record.event, kept.to_json(), kept)
        except Exception as exc:
            log.exception("check_incidents failed on a record from %s at offset %s", topic, offset)
            await out.dead_letter(topic, record.key, record.value, f"bug: {type(exc).__name__}")

    async def check_incidents(stream: faust.StreamT) -> None:
        await runtime.silences_loaded(timeout=15)
        async for events in ctx.batches(stream):
            admitted = await guard.admit(events)
            out = ctx.outbox()
            rows: dict[str, Row] = {}
            for record in admitted.records:
                with processing(record.event):
                    await take(record, rows, out)
            await out.flush()  # raises when the broker refused: nothing below happens, the inputs come again
            for key, (event, raw, kept) in rows.items():
                with processing(event):
                    incidents[key] = raw
                if kept is None:
                    runtime.unwatch(key)  # a tombstone: no live incident
                else:
                    runtime.watch_if_needed(key, kept)
            guard.commit(admitted.marks)

    return check_incidents
