"""What `alertstream audit verify` decides, without I/O: walk a chain's rows and say
what is wrong with them (docs/audit.md lists every kind of finding)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertstream.schemas.records import AuditRef

from .chain import CANONICAL_FIELDS, EMPTY_SHA256, epoch_ms, ref_hash
from .edge_chain import covered

# Every kind of finding; all but `duplicate` and `unpublished` mean evidence was lost or changed.
# `unpublished`: a gap or missing content the edge declared itself (a publish it answered 503 for:
# alertstream/edge_chain.py), so the refs never reached the broker rather than being removed.
KINDS = ("gap", "deleted", "reordered", "edited", "content_mismatch", "content_missing", "duplicate", "unpublished")
WARNINGS = frozenset({"duplicate", "unpublished"})


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    chain_id: str
    seq: int | None
    ref_id: str | None
    detail: str

    @property
    def severe(self) -> bool:
        return self.kind not in WARNINGS

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "chain_id": self.chain_id, "seq": self.seq, "ref_id": self.ref_id,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class StoredRef:
    """One audit_refs row: the canonical fields plus where it sits and the hash stored with it."""

    fields: dict[str, Any]
    seq: int
    stored_hash: str = ""
    kafka_partition: int | None = None
    kafka_offset: int | None = None
    hash: str = field(default="", compare=False)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredRef:
        fields = {name: row[name] for name in CANONICAL_FIELDS}
        return cls(fields, int(row["seq"]), row.get("ref_hash") or "", row.get("kafka_partition"),
                   row.get("kafka_offset"), ref_hash(fields))

    @property
    def ref_id(self) -> str:
        return str(self.fields["ref_id"])

    @property
    def chain_id(self) -> str:
        return str(self.fields["chain_id"])

    @property
    def prev_hash(self) -> str:
        return str(self.fields["prev_hash"] or "")


@dataclass(frozen=True, slots=True)
class Head:
    chain_id: str
    seq: int
    ref_id: str
    ref_hash: str


def verify_chain(chain_id: str, rows: Sequence[StoredRef], head: Head | None = None,
                 anchored: bool = False, unpublished: Sequence[tuple[int, int]] = ()) -> list[Finding]:
    """rows: every stored ref of one chain (or, anchored, those since a point in time).
    unpublished: seq ranges the edge declared it may never have published (edge_chain.py)."""
    found: list[Finding] = []

    def report(kind: str, row: StoredRef | None, detail: str, seq: int | None = None) -> None:
        found.append(Finding(kind, chain_id, row.seq if row else seq, row.ref_id if row else None, detail))

    def missing(row: StoredRef, first: int, last: int, detail: str) -> None:
        if covered(first, last, list(unpublished)):
            report("unpublished", row, f"refs {first}..{last} were never acknowledged by the broker "
                   "(the edge declared them after answering 503)")
        else:
            report("gap", row, detail)

    ordered = sorted(rows, key=lambda r: (r.seq, r.kafka_offset if r.kafka_offset is not None else -1))
    by_hash: dict[str, StoredRef] = {}
    for row in ordered:
        if row.stored_hash and row.stored_hash != row.hash:
            report("edited", row, "the row no longer matches the hash stored when it was written")
        by_hash.setdefault(row.hash, row)
        if row.stored_hash:
            by_hash.setdefault(row.stored_hash, row)
    linked_to = {r.prev_hash for r in ordered}

    primaries: list[StoredRef] = []
    for row in ordered:
        if primaries and primaries[-1].seq == row.seq:
            # Two refs at one position: a redelivered input after a crash, or an inserted row.
            keep, extra = (row, primaries[-1]) if primaries[-1].hash not in linked_to else (primaries[-1], row)
            primaries[-1] = keep
            report("duplicate", extra, f"a second ref at seq {row.seq} (both follow the same link)"
                   if extra.prev_hash == keep.prev_hash else f"a second ref at seq {row.seq}")
            continue
        primaries.append(row)

    previous: StoredRef | None = None
    for row in primaries:
        if previous is None:
            if not anchored and row.seq > 1:
                missing(row, 1, row.seq - 1, f"refs 1..{row.seq - 1} of the chain are missing")
            elif not anchored and row.prev_hash:
                report("edited", row, "the first ref of the chain points back to another ref")
        elif row.seq > previous.seq + 1:
            missing(row, previous.seq + 1, row.seq - 1,
                    f"refs {previous.seq + 1}..{row.seq - 1} are missing (deleted?)")
        elif row.prev_hash not in (previous.hash, previous.stored_hash):
            other = by_hash.get(row.prev_hash)
            if other is not None and other is not previous:
                report("reordered", row, f"it follows seq {other.seq} ({other.ref_id}), not seq {previous.seq}")
            else:
                report("edited", previous, f"it is not the ref that seq {row.seq} ({row.ref_id}) recorded "
                       "as its predecessor: this row (or that link) was changed")
        elif (previous.kafka_partition == row.kafka_partition and None not in (previous.kafka_offset,
              row.kafka_offset) and row.kafka_offset < previous.kafka_offset):  # type: ignore[operator]
            report("reordered", row, f"offset {row.kafka_offset} comes before seq {previous.seq}'s "
                   f"offset {previous.kafka_offset} on audit.refs")
        previous = row

    if head is not None:
        last = primaries[-1] if primaries else None
        if last is None:
            if not anchored:
                report("deleted", None, f"the chain reached seq {head.seq} but none of its refs is stored",
                       seq=head.seq)
        elif head.seq > last.seq:
            report("deleted", None, f"the chain reached seq {head.seq} ({head.ref_id}); refs after seq "
                   f"{last.seq} are gone", seq=head.seq)
        elif head.seq == last.seq and head.ref_hash not in (last.hash, last.stored_hash):
            report("edited", last, "the last ref does not match the chain head recorded for it")
    return found


def check_content(row: StoredRef, body: bytes | None, unpublished: Sequence[tuple[int, int]] = ()) -> Finding | None:
    """Does the record the ref points at still hash to what the ref says?"""
    expected = str(row.fields["content_sha256"] or "")
    if expected in ("", EMPTY_SHA256):
        return None  # a ref with no output (a skipped delivery)
    if body is None:
        if covered(row.seq, row.seq, list(unpublished)):
            return Finding("unpublished", row.chain_id, row.seq, row.ref_id,
                           "its record never reached the broker (the edge answered 503 and declared it)")
        return Finding("content_missing", row.chain_id, row.seq, row.ref_id,
                       f"no stored content with SHA-256 {expected[:16]}…")
    if hashlib.sha256(body).hexdigest() != expected:
        return Finding("content_mismatch", row.chain_id, row.seq, row.ref_id,
                       f"the stored record no longer hashes to {expected[:16]}…")
    return None


def _ref_fields(ref: AuditRef) -> dict[str, Any]:
    return {name: getattr(ref, name) for name in CANONICAL_FIELDS}


def compare_topic(stored: dict[str, StoredRef], on_topic: Iterable[tuple[AuditRef, int, int]],
                  settled: Callable[[AuditRef], bool],
                  unpublished: Mapping[str, list[tuple[int, int]]] | None = None) -> list[Finding]:
    """The audit.refs topic as a second witness: every ref on it must be stored, unchanged,
    and each chain must run in order on its partition. `settled`: old enough to be stored by now."""
    found: list[Finding] = []
    chains: dict[str, list[tuple[int, AuditRef]]] = defaultdict(list)
    for ref, partition, offset in on_topic:
        if not ref.chain_id:
            continue
        chains[ref.chain_id].append((offset, ref))
        row = stored.get(ref.ref_id)
        if row is None:
            if settled(ref):
                found.append(Finding("deleted", ref.chain_id, ref.seq, ref.ref_id,
                                     f"on audit.refs (partition {partition}, offset {offset}) but not in PostgreSQL"))
        elif row.hash != ref_hash(ref):
            fields = _ref_fields(ref)
            changed = sorted(k for k in CANONICAL_FIELDS if _norm(row.fields[k]) != _norm(fields[k]))
            found.append(Finding("edited", ref.chain_id, ref.seq, ref.ref_id,
                                 f"PostgreSQL differs from audit.refs in: {', '.join(changed) or 'encoding'}"))
    for chain_id, refs in chains.items():
        refs.sort(key=lambda pair: pair[0])
        for (_, before), (offset, ref) in zip(refs, refs[1:], strict=False):
            if ref.seq <= before.seq:
                kind = "duplicate" if ref.seq == before.seq else "reordered"
                found.append(Finding(kind, chain_id, ref.seq, ref.ref_id,
                                     f"on audit.refs at offset {offset}, after seq {before.seq}"))
            elif ref.seq > before.seq + 1:
                declared = covered(before.seq + 1, ref.seq - 1, (unpublished or {}).get(chain_id, []))
                found.append(Finding("unpublished" if declared else "gap", chain_id, ref.seq, ref.ref_id,
                                     f"audit.refs skips seq {before.seq + 1}..{ref.seq - 1}"
                                     + (" (declared unpublished by the edge)" if declared else "")))
            elif ref.prev_hash != ref_hash(before):
                found.append(Finding("edited", chain_id, before.seq, before.ref_id,
                                     f"on audit.refs, seq {ref.seq} does not link to it"))
    return found


def _norm(value: Any) -> Any:
    return epoch_ms(value) if isinstance(value, datetime) else (value or "")
