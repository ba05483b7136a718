"""Analyses and their encrypted prompt/response blobs (tables analyses, analysis_blobs).

A blob is addressed by the SHA-256 of its plaintext and sealed with that address
as associated data, so a ciphertext moved to another row does not open. Only
the hashes travel on topics and in references; the text stays here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool

from alertstream.schemas.records import Analysis, IncidentAlert, IncidentEvent, Lane, from_avro, to_avro
from alertstream.secrets import DecryptError, Keyring

from .sealed import SealedColumn
from .writer import columns

# Registered in storage/sealed.py SEALED_COLUMNS, so `alertstream secrets rotate` re-seals it.
BLOB_COLUMN = SealedColumn("analysis_blobs", "sealed", ("sha256",), "analysis-blob:{sha256}")


def _aad(sha256: str) -> bytes:
    return BLOB_COLUMN.aad({"sha256": sha256})


@dataclass(frozen=True)
class Blob:
    sha256: str
    kind: str  # prompt | response
    plaintext: bytes

    @classmethod
    def of(cls, kind: str, plaintext: bytes) -> Blob:
        return cls(hashlib.sha256(plaintext).hexdigest(), kind, plaintext)


async def save(pool: AsyncConnectionPool, analysis: Analysis, signature: str, blobs: list[Blob],
               keyring: Keyring | None) -> None:
    """One analysis row and its blobs (sealed; skipped without a keyring). Idempotent."""
    await save_many(pool, [(analysis, signature, blobs)], keyring)


async def save_many(pool: AsyncConnectionPool, items: Sequence[tuple[Analysis, str, list[Blob]]],
                    keyring: Keyring | None) -> None:
    """save() for many analyses in one transaction (the analyze agent's stored copies)."""
    if not items:
        return
    rows = []
    for analysis, signature, _ in items:
        incident = analysis.incident
        rows.append(
            (analysis.analysis_id, incident.incident_id, incident.version, incident.trace_id, analysis.status,
             analysis.provider, analysis.model, analysis.category, analysis.summary, analysis.probable_cause,
             float(analysis.confidence), orjson.dumps(to_avro(analysis.recommendations)).decode(),
             analysis.fallback_used, analysis.reason, analysis.cache_hit, analysis.follow_up, analysis.tokens_in,
             analysis.tokens_out, analysis.latency_ms, signature, analysis.prompt_sha256, analysis.response_sha256,
             analysis.started_at, analysis.finished_at))
    blobs = [blob for _, _, item_blobs in items for blob in item_blobs] if keyring is not None else []
    async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        # One statement for the batch, with binary arrays (storage/writer.py's columns() says why).
        await cur.execute(
            "INSERT INTO analyses (analysis_id, incident_id, incident_version, trace_id, status, provider, model,"
            " category, summary, probable_cause, confidence, recommendations, fallback_used, reason, cache_hit,"
            " follow_up, tokens_in, tokens_out, latency_ms, signature, prompt_sha256, response_sha256, started_at,"
            " finished_at) SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[],"
            " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[], %b::jsonb[], %b::bool[],"
            " %b::text[], %b::bool[], %b::bool[], %b::bigint[], %b::bigint[], %b::bigint[], %b::text[], %b::text[],"
            " %b::text[], %b::timestamptz[], %b::timestamptz[]) ON CONFLICT (analysis_id) DO NOTHING",
            columns(rows),
        )
        if blobs:
            assert keyring is not None
            await cur.executemany(
                "INSERT INTO analysis_blobs (sha256, kind, sealed) VALUES (%s,%s,%s) ON CONFLICT (sha256) DO NOTHING",
                [(blob.sha256, blob.kind, keyring.encrypt(blob.plaintext, _aad(blob.sha256))) for blob in blobs],
            )


async def open_blob(pool: AsyncConnectionPool, keyring: Keyring, sha256: str) -> bytes | None:
    """The plaintext behind a hash, verified against it; None when not stored."""
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT sealed FROM analysis_blobs WHERE sha256 = %s", (sha256,))).fetchone()
    if row is None:
        return None
    plaintext = keyring.decrypt(bytes(row[0]), _aad(sha256))
    if hashlib.sha256(plaintext).hexdigest() != sha256:
        raise DecryptError("blob does not match its address")
    return plaintext


_PUBLIC = ("analysis_id, incident_id, incident_version, trace_id, status, provider, model, category, summary,"
           " probable_cause, confidence, recommendations, fallback_used, reason, cache_hit, follow_up, tokens_in,"
           " tokens_out, latency_ms, prompt_sha256, response_sha256, started_at, finished_at")


async def for_incident(pool: AsyncConnectionPool, incident_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The incident's analyses, newest first, as JSON-ready dicts (hashes, never text)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_PUBLIC} FROM analyses WHERE incident_id = %s"  # noqa: S608  (fixed columns)
            " ORDER BY finished_at DESC LIMIT %s",
            (incident_id, limit),
        )
        names = [d.name for d in cur.description or []]
        rows = await cur.fetchall()
    return [_json(dict(zip(names, row, strict=True))) for row in rows]


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def health(pool: AsyncConnectionPool, since: datetime) -> list[dict[str, Any]]:
    """Per provider and model since `since`: counts by outcome, latency percentiles, tokens, last reason."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT provider, model, count(*) AS analyses,"
            " count(*) FILTER (WHERE status = 'ok') AS ok,"
            " count(*) FILTER (WHERE fallback_used) AS fallback,"
            " count(*) FILTER (WHERE status IN ('unavailable', 'pending')) AS past_deadline,"
            " count(*) FILTER (WHERE cache_hit) AS cache_hits,"
            " coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms), 0) AS p50_latency_ms,"
            " coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms), 0) AS p95_latency_ms,"
            " coalesce(sum(tokens_in), 0)::bigint AS tokens_in, coalesce(sum(tokens_out), 0)::bigint AS tokens_out,"
            " (array_agg(reason ORDER BY finished_at DESC) FILTER (WHERE reason <> ''))[1] AS last_reason,"
            " max(finished_at) AS last_at"
            " FROM analyses WHERE finished_at >= %s GROUP BY provider, model ORDER BY provider, model",
            (since,),
        )
        names = [d.name for d in cur.description or []]
        rows = await cur.fetchall()
    return [_json(dict(zip(names, row, strict=True))) for row in rows]


async def load_incident(pool: AsyncConnectionPool, incident_id: str) -> IncidentEvent | None:
    """The incident as of its latest stored event (incidents + incident_timeline), for a re-analysis."""
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT i.title, i.correlation_key, i.opened_at, t.version, t.event_id, t.trace_id, t.reason, t.status,"
            " t.severity, t.lane, t.stages, t.channels, t.alerts, t.updated_at"
            " FROM incidents i JOIN incident_timeline t USING (incident_id)"
            " WHERE i.incident_id = %s ORDER BY t.version DESC LIMIT 1", (incident_id,),
        )).fetchone()
    if row is None:
        return None
    title, key, opened, version, event_id, trace_id, reason, status, severity, lane, stages, channels, alerts, \
        updated = row
    return IncidentEvent(
        event_id=event_id, trace_id=trace_id, incident_id=incident_id, version=version, reason=reason,
        status=status, severity=severity, title=title, correlation_key=key, opened_at=opened, updated_at=updated,
        alerts=[_alert(a) for a in alerts], lane=Lane(lane, list(stages), list(channels)),
    )


def _alert(data: dict[str, Any]) -> IncidentAlert:
    for key in ("starts_at", "ends_at"):
        if isinstance(data.get(key), str):
            data[key] = datetime.fromisoformat(data[key])
    return from_avro(IncidentAlert, data)
