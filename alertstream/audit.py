"""Reference records: what every stage emits to audit.refs. They name their
input and output by id and carry the SHA-256 of the output, never its content.
Each is then linked into a hash chain (alertstream/chain.py) before it is sent."""

from __future__ import annotations

import hashlib
from datetime import datetime

from alertstream.chain import to_millis
from alertstream.ids import new_id
from alertstream.schemas.records import AuditRef

STAGES = ("received", "checked", "analyzed", "notified")


def make_ref(
    *,
    trace_id: str,
    run_id: str,
    stage: str,
    input_ref: str,
    output_ref: str,
    content: bytes,
    started_at: datetime,
    finished_at: datetime,
    status: str = "ok",
    error: str | None = None,
) -> AuditRef:
    return AuditRef(
        ref_id=new_id(),
        trace_id=trace_id,
        run_id=run_id,
        stage=stage,
        input_ref=input_ref,
        output_ref=output_ref,
        content_sha256=hashlib.sha256(content).hexdigest(),
        status=status,
        # Millisecond precision, as Avro carries it: the chain hash must survive encoding.
        started_at=to_millis(started_at),
        finished_at=to_millis(finished_at),
        error=error,
    )
