"""`alertstream audit verify`: walk every hash chain in PostgreSQL, check each ref's content
against the content store, and optionally hold the audit.refs topic up against the rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg

from alertstream.chain_verify import Finding, check_content, compare_topic, verify_chain
from alertstream.edge_chain import Ranges
from alertstream.schemas.records import AuditRef

from . import audit_store


@dataclass
class Report:
    chains: int = 0
    refs: int = 0
    unchained: int = 0
    topic_refs: int = 0
    findings: list[Finding] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # chain -> (seq, hash): anchor them elsewhere

    @property
    def ok(self) -> bool:
        return not any(f.severe for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "chains": self.chains, "refs": self.refs, "unchained": self.unchained,
                "topic_refs": self.topic_refs, "findings": [f.to_json() for f in self.findings],
                "heads": {c: {"seq": s, "hash": h} for c, (s, h) in sorted(self.heads.items())}}


def verify(url: str, *, now: datetime, since: datetime | None = None, chain_prefix: str = "",
           topic_refs: Iterable[tuple[AuditRef, int, int]] | None = None, settle: timedelta = timedelta(seconds=60),
           check_contents: bool = True) -> Report:
    """settle: refs younger than this may still be on their way into PostgreSQL (content, topic
    comparison), so their absence is not yet a finding."""
    report = Report()
    settled_before = now - settle
    with psycopg.connect(url) as conn:
        heads = audit_store.heads(conn, chain_prefix)
        unpublished = audit_store.declarations(conn)
        report.unchained = audit_store.unchained_count(conn, since)
        seen: set[str] = set()
        for chain_id, rows in audit_store.chains(conn, since, chain_prefix):
            seen.add(chain_id)
            report.chains += 1
            report.refs += len(rows)
            declared = unpublished.get(chain_id, [])
            report.findings += verify_chain(chain_id, rows, heads.get(chain_id), anchored=since is not None,
                                            unpublished=declared)
            last = max(rows, key=lambda r: r.seq)
            report.heads[chain_id] = (last.seq, last.hash)
            if check_contents:
                bodies = audit_store.contents(conn, sorted({str(r.fields["content_sha256"]) for r in rows}))
                for row in rows:
                    finding = check_content(row, bodies.get(str(row.fields["content_sha256"])), declared)
                    if finding and (finding.kind != "content_missing" or row.fields["finished_at"] < settled_before):
                        report.findings.append(finding)
        if since is None:
            for chain_id, head in heads.items():
                if chain_id not in seen:
                    report.findings += verify_chain(chain_id, [], head)
        if topic_refs is not None:
            report.findings += _against_topic(conn, topic_refs, settled_before, report, unpublished)
    return report


def _against_topic(conn: psycopg.Connection, topic_refs: Iterable[tuple[AuditRef, int, int]],
                   settled_before: datetime, report: Report, unpublished: Ranges,
                   batch: int = 2000) -> list[Finding]:
    found: list[Finding] = []
    chunk: list[tuple[AuditRef, int, int]] = []
    tails: dict[str, tuple[AuditRef, int, int]] = {}  # each chain's last ref of the previous chunk

    def flush() -> None:
        carried = [tails[c] for c in {ref.chain_id for ref, _, _ in chunk} if c in tails]
        both = [*carried, *chunk]  # a chain's links are checked across chunk boundaries too
        stored = audit_store.refs_by_id(conn, [ref.ref_id for ref, _, _ in both])
        for finding in compare_topic(stored, both, lambda r: r.finished_at < settled_before, unpublished):
            if finding not in found:
                found.append(finding)
        for item in chunk:
            tails[item[0].chain_id] = item
        chunk.clear()

    for item in topic_refs:
        report.topic_refs += 1
        chunk.append(item)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    return found
