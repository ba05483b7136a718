"""`alertstream trace <trace_id>`: received -> checked -> analyzed -> notified, from PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from alertstream.audit import STAGES


@dataclass(frozen=True)
class TraceRow:
    stage: str
    status: str
    input_ref: str
    output_ref: str
    started_at: datetime
    finished_at: datetime
    error: str | None


def load_trace(url: str, trace_id: str) -> list[TraceRow]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT stage, status, input_ref, output_ref, started_at, finished_at, error FROM audit_refs"
            " WHERE trace_id = %s ORDER BY started_at, finished_at",
            (trace_id,),
        ).fetchall()
    order = {stage: i for i, stage in enumerate(STAGES)}
    found = [TraceRow(*row) for row in rows]
    return sorted(found, key=lambda r: (order.get(r.stage, len(order)), r.started_at))


def format_trace(trace_id: str, rows: list[TraceRow]) -> str:
    if not rows:
        return f"trace {trace_id}: no references found"
    origin = rows[0].started_at
    lines = [f"trace {trace_id}"]
    for row in rows:
        took = (row.finished_at - row.started_at).total_seconds() * 1000
        since = (row.finished_at - origin).total_seconds() * 1000
        line = (
            f"  {row.stage:<9} {row.status:<8} {took:8.1f} ms  (+{since:8.1f} ms)  "
            f"{row.input_ref} -> {row.output_ref}"
        )
        if row.error:
            line += f"  error: {row.error}"
        lines.append(line)
    seen = {r.stage for r in rows}
    missing = [s for s in STAGES if s not in seen]
    if missing:
        lines.append(f"  not reached: {', '.join(missing)}")
    return "\n".join(lines)
