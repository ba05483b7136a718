"""Incidents for operators: the list with filters, one incident with its full timeline
(each event with its alerts, lane and actor; the stage references of its traces; its
deliveries), and the check stage's writer of that timeline (table incident_timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from alertstream.schemas.records import IncidentEvent, to_avro

STATUSES = ("open", "acknowledged", "resolved", "closed")


async def write_timeline(pool: AsyncConnectionPool, events: Sequence[IncidentEvent]) -> None:
    """Idempotent: a replayed event (same incident id and version) is skipped."""
    if not events:
        return
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO incident_timeline (incident_id, version, event_id, trace_id, reason, status, severity, lane,"
            " stages, channels, actor, note, silenced_by, held_until, alerts, updated_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            [
                (e.incident_id, e.version, e.event_id, e.trace_id, e.reason, e.status, e.severity, e.lane.name,
                 e.lane.stages, e.lane.channels, e.actor, e.note, e.silenced_by, e.held_until,
                 orjson.dumps([to_avro(a) for a in e.alerts], default=_iso).decode(), e.updated_at)
                for e in events
            ],
        )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def list_incidents(
    conn: psycopg.AsyncConnection, *, status: str | None = None, severity: str | None = None,
    source: str | None = None, since: datetime | None = None, limit: int = 100,
) -> list[dict[str, Any]]:
    # Only fixed clause strings are joined into the query; every value is a bound parameter.
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if status:
        clauses.append("status = %(status)s")
        params["status"] = status
    if severity:
        clauses.append("severity = %(severity)s")
        params["severity"] = severity
    if source:
        clauses.append("alerts @> %(source)s::jsonb")
        params["source"] = orjson.dumps([{"source": source}]).decode()
    if since:
        clauses.append("updated_at >= %(since)s")
        params["since"] = since
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    params["limit"] = limit
    async with conn.cursor(row_factory=dict_row) as cur:
        columns = "incident_id, version, status, severity, title, correlation_key, lane, opened_at, updated_at"
        query = f"SELECT {columns}, jsonb_array_length(alerts) AS alert_count FROM incidents{where} ORDER BY updated_at DESC LIMIT %(limit)s"  # noqa: S608, E501  (fixed clauses only)
        await cur.execute(query, params)  # type: ignore[arg-type]
        return [_plain(row) for row in await cur.fetchall()]


async def incident_summary(conn: psycopg.AsyncConnection, incident_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT incident_id, version, status, severity, title, correlation_key, lane, opened_at, updated_at,"
            " alerts FROM incidents WHERE incident_id = %s", (incident_id,),
        )
        row = await cur.fetchone()
        return _plain(row) if row else None


async def show_incident(conn: psycopg.AsyncConnection, incident_id: str) -> dict[str, Any] | None:
    incident = await incident_summary(conn, incident_id)
    if incident is None:
        return None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT version, event_id, trace_id, reason, status, severity, lane, stages, channels, actor, note,"
            " silenced_by, held_until, alerts, updated_at FROM incident_timeline WHERE incident_id = %s"
            " ORDER BY version", (incident_id,),
        )
        events = [_plain(row) for row in await cur.fetchall()]
        traces = sorted({e["trace_id"] for e in events if e["trace_id"]})
        await cur.execute(
            "SELECT trace_id, stage, status, input_ref, output_ref, started_at, finished_at, error FROM audit_refs"
            " WHERE trace_id = ANY(%s) AND (output_ref LIKE %s OR input_ref LIKE %s OR output_ref LIKE %s"
            " OR stage = 'received') ORDER BY started_at, finished_at",
            (traces, f"incident:{incident_id}%", f"incident:{incident_id}%", f"delivery:{incident_id}:%"),
        )
        refs = [_plain(row) for row in await cur.fetchall()]
        await cur.execute(
            "SELECT delivery_key, incident_version, channel, channel_type, status, attempts, last_status_code,"
            " last_reason, created_at, updated_at FROM deliveries WHERE incident_id = %s"
            " ORDER BY incident_version, channel", (incident_id,),
        )
        deliveries = [_plain(row) for row in await cur.fetchall()]
    incident["timeline"] = _with_alert_changes(events)
    incident["refs"] = refs
    incident["deliveries"] = deliveries
    return incident


def _with_alert_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event says which member alerts it changed (new, or a new status or severity)."""
    seen: dict[str, tuple[str, str]] = {}
    for event in events:
        changes = []
        for alert in event.get("alerts") or []:
            now = (alert.get("status", ""), alert.get("severity", ""))
            before = seen.get(alert["fingerprint"])
            if before != now:
                changes.append({"fingerprint": alert["fingerprint"], "name": alert.get("name", ""),
                                "from": None if before is None else {"status": before[0], "severity": before[1]},
                                "to": {"status": now[0], "severity": now[1]}})
                seen[alert["fingerprint"]] = now
        event["alert_changes"] = changes
    return events


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
