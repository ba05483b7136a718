"""Hash chains over reference records: each ref names the SHA-256 of the one before it
in the same chain, so an edited, deleted or reordered ref breaks a link (docs/audit.md).

A chain is written by one writer at a time, in order:

- in a worker, one chain per (stage, input topic, input partition): only the worker that
  owns that partition writes it, and its head (seq, hash) lives in a faust table written
  while processing that partition, so it moves with the partition on a rebalance and
  survives restarts;
- at the edge, one chain per process run (many edge processes run at once), and a new one
  after a publish the broker did not acknowledge (alertstream/edge_chain.py).

Every ref of a chain is produced with the chain id as its key, so a chain lives in one
audit.refs partition in order. Pure: no I/O here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from alertstream.schemas.records import AuditRef

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# The canonical form, version 1: these fields of the ref, nothing else. `seq` is left out on
# purpose: it is a position index for finding gaps, while the links are the evidence.
CANONICAL_FIELDS = (
    "ref_id", "trace_id", "run_id", "stage", "input_ref", "output_ref", "content_sha256", "status",
    "started_at", "finished_at", "error", "prev_hash", "chain_id",
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def epoch_ms(value: datetime) -> int:
    """Exact integer milliseconds, as Avro timestamp-millis carries them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MS


def to_millis(value: datetime) -> datetime:
    """Truncate to the precision that survives Avro, so a hash computed before encoding still holds after."""
    return _EPOCH + timedelta(milliseconds=epoch_ms(value))


def canonical_form(fields: dict[str, Any]) -> bytes:
    """Sorted-key compact JSON of the canonical fields; timestamps as epoch milliseconds.

    Takes a mapping so it can be recomputed from a PostgreSQL row as well as from a record."""
    doc: dict[str, Any] = {}
    for name in CANONICAL_FIELDS:
        value = fields.get(name)
        if name in ("started_at", "finished_at"):
            value = epoch_ms(value)  # type: ignore[arg-type]
        elif name in ("prev_hash", "chain_id"):
            value = value or ""
        doc[name] = value
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def ref_hash(ref: AuditRef | dict[str, Any]) -> str:
    fields = ref if isinstance(ref, dict) else {name: getattr(ref, name) for name in CANONICAL_FIELDS}
    return hashlib.sha256(canonical_form(fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last link of a chain: what the next ref points back to."""

    seq: int = 0
    hash: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ChainHead:
        return cls(int(raw["seq"]), str(raw["hash"])) if raw else cls()


def link(ref: AuditRef, chain_id: str, head: ChainHead) -> tuple[AuditRef, ChainHead]:
    """The ref as the next link of the chain, and the chain's new head."""
    linked = dataclasses.replace(ref, chain_id=chain_id, seq=head.seq + 1, prev_hash=head.hash)
    return linked, ChainHead(linked.seq, ref_hash(linked))


def worker_chain_id(stage: str, topic: str, partition: int) -> str:
    return f"{stage}/{topic}/{partition}"


class LocalChain:
    """A chain held in this process's memory: one per process run, never shared.

    Linking is synchronous, so concurrent requests on one event loop each get their own seq."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self.head = ChainHead()

    @classmethod
    def for_run(cls, stage: str, writer: str, run_id: str) -> LocalChain:
        # The nonce keeps two processes apart even when an operator gave them the same run id.
        return cls(f"{stage}/{writer}/{run_id}/{uuid.uuid4().hex[:12]}")

    def link(self, ref: AuditRef) -> AuditRef:
        linked, self.head = link(ref, self.chain_id, self.head)
        return linked


_process_chains: dict[tuple[int, str, str, str], LocalChain] = {}


def process_chain(stage: str, writer: str, run_id: str) -> LocalChain:
    """This process run's chain for (stage, writer); keyed by pid too, so a forked child starts its own."""
    key = (os.getpid(), stage, writer, run_id)
    chain = _process_chains.get(key)
    if chain is None:
        chain = _process_chains[key] = LocalChain.for_run(stage, writer, run_id)
    return chain
