"""The edge's hash chain, which never builds on a ref the broker may not have.

The edge links a request's refs as it builds them and publishes them with the alerts in one
round trip (so seq order is produce order and a request costs one wait). When that publish
fails (the edge answers 503), those refs may be missing from audit.refs — and refs of
requests linked after them, in flight at the same moment, may still arrive: a gap that is
not tampering. So a failed publish *abandons* the chain: later requests link into a new
chain of the same run, whose next refs carry a declaration per abandoned chain, a ref with
`output_ref = unpublished:<chain id>#<first>-<last>` (status `error`, the reason as its
error, no content). `audit verify` reports a gap or missing content that a declaration
covers as `unpublished` (a warning), any other as before. A declaration is a ref like any
other: chained, on the topic, stored; it is dropped from memory only once it is published.

Pure: the publisher's outcome comes in through `published` / `failed`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from alertstream.schemas.records import AuditRef

from .audit import make_ref
from .chain import LocalChain

PREFIX = "unpublished:"
_DECLARATION = re.compile(r"unpublished:(?P<chain>.+)#(?P<first>\d+)-(?P<last>\d+)")


@dataclass(frozen=True, slots=True)
class Abandoned:
    """Seqs first..last of a chain may be missing: a publish of one of them failed."""

    chain_id: str
    first: int
    last: int
    reason: str
    trace_id: str

    def output_ref(self) -> str:
        return f"{PREFIX}{self.chain_id}#{self.first}-{self.last}"


def parse_declaration(output_ref: str) -> tuple[str, int, int] | None:
    """`unpublished:<chain>#<first>-<last>` -> (chain, first, last)."""
    found = _DECLARATION.fullmatch(output_ref)
    if found is None:
        return None
    return found["chain"], int(found["first"]), int(found["last"])


def run_of(chain_id: str) -> str:
    """`received/edge/<run id>/<nonce>` -> `received/edge/<run id>`: the chains one run writes."""
    return chain_id.rpartition("/")[0]


class EdgeChain:
    def __init__(self, new_chain: Callable[[], LocalChain]) -> None:
        self._new_chain = new_chain
        self.current = new_chain()
        self.pending: dict[str, Abandoned] = {}  # declarations not yet acknowledged by the broker
        self._taken: dict[str, Abandoned] = {}  # declarations a request in flight carries
        self._retired: dict[str, int] = {}  # abandoned chain -> its last linked seq

    @classmethod
    def for_run(cls, stage: str, writer: str, run_id: str) -> EdgeChain:
        return cls(lambda: LocalChain.for_run(stage, writer, run_id))

    def declarations(self) -> list[Abandoned]:
        """The pending declarations no request carries yet; the caller publishes them, then reports."""
        taken = [a for chain_id, a in self.pending.items() if chain_id not in self._taken]
        self._taken.update((a.chain_id, a) for a in taken)
        return taken

    def link_declarations(self, declared: list[Abandoned], run_id: str, now: datetime) -> list[AuditRef]:
        """The declarations as refs, linked into the current chain (before the request's own refs)."""
        return [
            self.current.link(make_ref(
                trace_id=a.trace_id, run_id=run_id, stage="received", input_ref=f"chain:{a.chain_id}",
                output_ref=a.output_ref(), content=b"", started_at=now, finished_at=now, status="error",
                error=f"publish failed: {a.reason}",
            ))
            for a in declared
        ]

    def published(self, declared: list[Abandoned]) -> None:
        for a in declared:
            self._taken.pop(a.chain_id, None)
            if self.pending.get(a.chain_id) == a:  # unless a later failure widened it meanwhile
                del self.pending[a.chain_id]

    def failed(self, chain_id: str, first_seq: int, declared: list[Abandoned], reason: str, trace_id: str) -> None:
        """A publish of the refs from `first_seq` of `chain_id` (and of `declared`) failed."""
        for a in declared:
            self._taken.pop(a.chain_id, None)
        if chain_id == self.current.chain_id:
            self._retired[chain_id] = self.current.head.seq
            self.current = self._new_chain()
        last = self._retired.get(chain_id)
        if last is None or first_seq > last:
            return  # a chain this object never wrote, or nothing of it was linked: nothing to declare
        known = self.pending.get(chain_id)
        first = min(first_seq, known.first) if known else first_seq
        self.pending[chain_id] = dataclasses.replace(known, first=first) if known else Abandoned(
            chain_id, first, last, reason, trace_id)


Ranges = dict[str, list[tuple[int, int]]]  # chain id -> declared (first, last) seqs


def declared_ranges(markers: list[tuple[str, str]]) -> Ranges:
    """(chain id of the declaring ref, its output_ref) -> what each chain declared missing. Only a
    chain of the same edge run can declare for another (a run's chains share `received/edge/<run>`)."""
    out: Ranges = {}
    for declaring_chain, output_ref in markers:
        parsed = parse_declaration(output_ref)
        if parsed is None:
            continue
        chain_id, first, last = parsed
        if run_of(chain_id) == run_of(declaring_chain) and chain_id != declaring_chain and first <= last:
            out.setdefault(chain_id, []).append((first, last))
    return out


def covered(first: int, last: int, ranges: list[tuple[int, int]]) -> bool:
    """Is every seq first..last inside one of the ranges?"""
    wanted = first
    for lo, hi in sorted(ranges):
        if lo > wanted:
            break
        wanted = max(wanted, hi + 1)
        if wanted > last:
            return True
    return wanted > last
