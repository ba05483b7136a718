"""Batched writes of what the topics carry into PostgreSQL (the storage consumer's I/O, streams/storage_consumer.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool

from alertstream.chain import ref_hash
from alertstream.schemas.records import AuditRef, IncidentEvent, NotificationResult, to_avro


def columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows -> one list per column: the arrays of an `INSERT ... SELECT * FROM unnest(...)`.

    A batch is one statement that way, instead of a parse-bind-execute and a result per row
    (executemany, even pipelined). The arrays go as binary parameters (%b): psycopg writes a
    text array element by element through a regex that quotes each one, which cost the storage
    consumer more than the per-row statements saved. (unnest flattens nested arrays, so a table
    with array columns cannot use it.)"""
    return [list(column) for column in zip(*rows, strict=True)]


async def write_refs(pool: AsyncConnectionPool, refs: Sequence[tuple[AuditRef, int, int]]) -> None:
    """refs: (ref, partition, offset). Idempotent: a replayed ref is skipped by its id.

    Each row keeps its chain position and hash, and each chain's head (highest seq) is kept
    beside them, so `audit verify` notices rows deleted from the end of a chain too."""
    if not refs:
        return
    rows = [(r, partition, offset, ref_hash(r)) for r, partition, offset in refs]
    heads: dict[str, tuple[AuditRef, str]] = {}
    for r, _, _, digest in rows:
        if r.chain_id and (r.chain_id not in heads or heads[r.chain_id][0].seq < r.seq):
            heads[r.chain_id] = (r, digest)
    async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO audit_refs (ref_id, trace_id, run_id, stage, input_ref, output_ref, content_sha256,"
            " status, started_at, finished_at, error, prev_hash, kafka_partition, kafka_offset, chain_id, seq,"
            " ref_hash) SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[], %b::text[],"
            " %b::integer[], %b::bigint[], %b::text[], %b::bigint[], %b::text[]) ON CONFLICT (ref_id) DO NOTHING",
            columns([
                (r.ref_id, r.trace_id, r.run_id, r.stage, r.input_ref, r.output_ref, r.content_sha256, r.status,
                 r.started_at, r.finished_at, r.error, r.prev_hash, partition, offset, r.chain_id, r.seq, digest)
                for r, partition, offset, digest in rows
            ]),
        )
        if heads:
            # One row per chain here, so DO UPDATE never meets its own key twice in the statement.
            await cur.execute(
                "INSERT INTO audit_chain_heads (chain_id, seq, ref_id, ref_hash)"
                " SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[])"
                " ON CONFLICT (chain_id) DO UPDATE SET seq = EXCLUDED.seq, ref_id = EXCLUDED.ref_id,"
                " ref_hash = EXCLUDED.ref_hash, updated_at = now() WHERE audit_chain_heads.seq < EXCLUDED.seq",
                columns([(chain_id, r.seq, r.ref_id, digest) for chain_id, (r, digest) in heads.items()]),
            )


async def write_content(pool: AsyncConnectionPool, topic: str, contents: Sequence[tuple[str, bytes]]) -> None:
    """Content-addressed copies of the (already redacted) records refs point at: (sha256 hex, encoded bytes)."""
    if not contents:
        return
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO audit_content (sha256, topic, body) SELECT digest, %s, body"
            " FROM unnest(%b::text[], %b::bytea[]) AS c (digest, body) ON CONFLICT (sha256) DO NOTHING",
            [topic, *columns(contents)],
        )


async def write_incident_events(pool: AsyncConnectionPool, events: Sequence[IncidentEvent]) -> None:
    if not events:
        return
    latest: dict[str, IncidentEvent] = {}
    for event in events:
        if event.incident_id not in latest or latest[event.incident_id].version < event.version:
            latest[event.incident_id] = event
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO incident_events (incident_id, version, event_id, trace_id, reason, status, severity,"
            " updated_at) SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[], %b::timestamptz[]) ON CONFLICT DO NOTHING",
            columns([(e.incident_id, e.version, e.event_id, e.trace_id, e.reason, e.status, e.severity,
                      e.updated_at) for e in events]),
        )
        # One row per incident (`latest`), so DO UPDATE never meets its own key twice in the statement.
        await cur.execute(
            "INSERT INTO incidents (incident_id, version, status, severity, title, correlation_key, lane,"
            " opened_at, updated_at, alerts) SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[],"
            " %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::jsonb[])"
            " ON CONFLICT (incident_id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,"
            " severity = EXCLUDED.severity, title = EXCLUDED.title, lane = EXCLUDED.lane,"
            " updated_at = EXCLUDED.updated_at, alerts = EXCLUDED.alerts"
            " WHERE incidents.version < EXCLUDED.version",
            columns([
                (e.incident_id, e.version, e.status, e.severity, e.title, e.correlation_key, e.lane.name,
                 e.opened_at, e.updated_at, orjson.dumps([to_avro(a) for a in e.alerts]).decode())
                for e in latest.values()
            ]),
        )


async def write_results(pool: AsyncConnectionPool, results: Sequence[NotificationResult]) -> None:
    if not results:
        return
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO delivery_results (delivery_key, incident_id, incident_version, channel, status, attempt,"
            " status_code, reason, started_at, finished_at) SELECT * FROM unnest(%b::text[], %b::text[],"
            " %b::bigint[], %b::text[], %b::text[], %b::integer[], %b::integer[], %b::text[], %b::timestamptz[],"
            " %b::timestamptz[]) ON CONFLICT DO NOTHING",
            columns([(r.delivery_key, r.incident_id, r.incident_version, r.channel, r.status, r.attempt,
                      r.status_code, r.reason, r.started_at, r.finished_at) for r in results]),
        )
