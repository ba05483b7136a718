"""`alertstream audit export --incident ID`: one self-contained JSON bundle of what an
auditor asks for: the incident, its alerts (redacted), its timeline, every ref that
touched it with its hash and chain link, and the deliveries."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alertstream.chain import CANONICAL_FIELDS, EMPTY_SHA256, ref_hash
from alertstream.redaction import redact_value

FORMAT = "alertstream.audit-bundle/1"
_REF_COLUMNS = (
    "ref_id, trace_id, run_id, stage, input_ref, output_ref, content_sha256, status, started_at, finished_at,"
    " error, prev_hash, chain_id, seq, ref_hash, kafka_partition, kafka_offset"
)


def _rows(conn: psycopg.Connection, query: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query.encode(), params).fetchall()


def related_refs(conn: psycopg.Connection, seeds: set[str], rounds: int = 5) -> list[dict[str, Any]]:
    """Refs reachable from the incident's versions and alerts, following each ref from its input
    to its output (alert -> incident -> analysis -> delivery), never back to a whole request."""
    known: set[str] = set(seeds)
    found: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        rows = _rows(conn, f"SELECT {_REF_COLUMNS} FROM audit_refs WHERE input_ref = ANY(%s)"  # noqa: S608
                     " OR output_ref = ANY(%s)", list(known), list(known))
        # An output ref may carry qualifiers (`analysis:ID?status=ok`); the next stage names it by id.
        new = {r["output_ref"].split("?", 1)[0] for r in rows if r["input_ref"] in known} - known
        found.update({r["ref_id"]: r for r in rows})
        if not new:
            break
        known |= new
    return sorted(found.values(), key=lambda r: (r["started_at"], r["stage"], r["seq"]))


def _with_evidence(conn: psycopg.Connection, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    digests = sorted({r["content_sha256"] for r in refs})
    bodies = {row["sha256"]: bytes(row["body"]) for row in _rows(
        conn, "SELECT sha256, body FROM audit_content WHERE sha256 = ANY(%s)", digests)}
    out = []
    for ref in refs:
        recomputed = ref_hash({name: ref[name] for name in CANONICAL_FIELDS})
        body = bodies.get(ref["content_sha256"])
        content_ok = None if body is None or ref["content_sha256"] == EMPTY_SHA256 else (
            hashlib.sha256(body).hexdigest() == ref["content_sha256"])
        out.append({**ref, "hash": recomputed, "hash_ok": recomputed == ref["ref_hash"], "content_ok": content_ok})
    return out


def export_incident(url: str, incident_id: str, now: datetime) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn:
        incidents = _rows(conn, "SELECT * FROM incidents WHERE incident_id = %s", incident_id)
        if not incidents:
            return None
        incident = dict(incidents[0])
        alerts = [redact_value(a) for a in incident.pop("alerts") or []]
        timeline = _rows(conn, "SELECT * FROM incident_events WHERE incident_id = %s ORDER BY version", incident_id)
        seeds = {f"incident:{incident_id}@{e['version']}" for e in timeline}
        seeds |= {f"alert:{a['event_id']}" for a in alerts if a.get("event_id")}
        refs = _with_evidence(conn, related_refs(conn, seeds))
        deliveries = _rows(
            conn, "SELECT delivery_key, incident_id, incident_version, channel, channel_type, trace_id, status,"
            " attempts, last_status_code, last_reason, created_at, updated_at FROM deliveries"
            " WHERE incident_id = %s ORDER BY created_at", incident_id)
        attempts = _rows(conn, "SELECT * FROM delivery_results WHERE incident_id = %s ORDER BY started_at, id",
                         incident_id)
    return {
        "format": FORMAT,
        "exported_at": now,
        "incident": incident,
        "alerts": alerts,
        "timeline": [redact_value(dict(e)) for e in timeline],
        "refs": refs,
        "deliveries": deliveries,
        "delivery_attempts": attempts,
        "hashing": {
            "ref_hash": "SHA-256 (hex) of the ref's canonical form: compact JSON, keys sorted, of "
                        + ", ".join(CANONICAL_FIELDS) + "; times as integer epoch milliseconds",
            "prev_hash": "the hash of the previous ref of the same chain_id (seq - 1); empty for seq 1",
            "content_sha256": "SHA-256 of the encoded (Avro, already redacted) record the ref names",
        },
    }
