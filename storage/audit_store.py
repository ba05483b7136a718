"""Reading the audit chains back out of PostgreSQL for `alertstream audit verify`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from alertstream.chain_verify import Head, StoredRef
from alertstream.edge_chain import PREFIX as UNPUBLISHED_PREFIX
from alertstream.edge_chain import Ranges, declared_ranges

_COLUMNS = (
    "ref_id, trace_id, run_id, stage, input_ref, output_ref, content_sha256, status, started_at, finished_at,"
    " error, prev_hash, chain_id, seq, ref_hash, kafka_partition, kafka_offset"
)


def chains(conn: psycopg.Connection, since: datetime | None = None, chain_prefix: str = "") -> Iterator[
        tuple[str, list[StoredRef]]]:
    """Every chain's rows in seq order, one chain at a time (a server-side cursor: any table size)."""
    where = ["chain_id <> ''"]
    params: list[object] = []
    if since is not None:
        where.append("finished_at >= %s")
        params.append(since)
    if chain_prefix:
        where.append("starts_with(chain_id, %s)")
        params.append(chain_prefix)
    query = f"SELECT {_COLUMNS} FROM audit_refs WHERE {' AND '.join(where)} ORDER BY chain_id, seq, kafka_offset"  # noqa: S608
    current: str | None = None
    rows: list[StoredRef] = []
    with conn.cursor(name="audit_chains", row_factory=dict_row) as cur:
        cur.itersize = 2000
        cur.execute(query.encode(), params)
        for row in cur:
            if row["chain_id"] != current:
                if current is not None:
                    yield current, rows
                current, rows = row["chain_id"], []
            rows.append(StoredRef.from_row(row))
    if current is not None:
        yield current, rows


def heads(conn: psycopg.Connection, chain_prefix: str = "") -> dict[str, Head]:
    rows = conn.execute(
        "SELECT chain_id, seq, ref_id, ref_hash FROM audit_chain_heads WHERE starts_with(chain_id, %s)",
        (chain_prefix,),
    ).fetchall()
    return {r[0]: Head(r[0], int(r[1]), r[2], r[3]) for r in rows}


def unchained_count(conn: psycopg.Connection, since: datetime | None = None) -> int:
    row = conn.execute(
        "SELECT count(*) FROM audit_refs WHERE chain_id = '' AND (%s::timestamptz IS NULL OR finished_at >= %s)",
        (since, since),
    ).fetchone()
    return int(row[0]) if row else 0


def contents(conn: psycopg.Connection, digests: Sequence[str]) -> dict[str, bytes]:
    if not digests:
        return {}
    rows = conn.execute("SELECT sha256, body FROM audit_content WHERE sha256 = ANY(%s)", (list(digests),)).fetchall()
    return {r[0]: bytes(r[1]) for r in rows}


def refs_by_id(conn: psycopg.Connection, ref_ids: Sequence[str]) -> dict[str, StoredRef]:
    if not ref_ids:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM audit_refs WHERE ref_id = ANY(%s)".encode(), (list(ref_ids),))  # noqa: S608
        return {row["ref_id"]: StoredRef.from_row(row) for row in cur.fetchall()}


def declarations(conn: psycopg.Connection) -> Ranges:
    """What the edge declared it may never have published (alertstream/edge_chain.py), every chain."""
    rows = conn.execute(
        "SELECT chain_id, output_ref FROM audit_refs WHERE stage = 'received' AND starts_with(output_ref, %s)",
        (UNPUBLISHED_PREFIX,),
    ).fetchall()
    return declared_ranges([(r[0], r[1]) for r in rows])
