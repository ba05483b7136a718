"""An edge 503 is not tampering: a failed publish abandons the edge's chain, the next chain
declares the seqs that may be missing, and `audit verify` reports them as `unpublished`."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alertstream.audit import make_ref
from alertstream.chain import LocalChain
from alertstream.chain_verify import StoredRef, check_content, verify_chain
from alertstream.config import Settings
from alertstream.edge_chain import EdgeChain, covered, declared_ranges, parse_declaration
from alertstream.ingest.app import create_app
from alertstream.ingest.publisher import OutRecord, PublishError
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import AuditRef
from alertstream.storage import writer
from alertstream.storage.audit_verify import verify
from alertstream.storage.db import open_pool
from tests.components import key_headers

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _ref(chain: LocalChain, n: int) -> AuditRef:
    return chain.link(make_ref(trace_id=f"t{n}", run_id="run", stage="received", input_ref=f"http:t{n}",
                               output_ref=f"alert:{n}", content=f"alert-{n}".encode(), started_at=NOW,
                               finished_at=NOW))


def _chains() -> EdgeChain:
    counter = iter(range(1, 100))
    return EdgeChain(lambda: LocalChain(f"received/edge/run/n{next(counter)}"))


# --- pure -------------------------------------------------------------------------------------

def test_a_failed_publish_abandons_the_chain_and_the_next_chain_declares_it() -> None:
    edge = _chains()
    first = edge.current
    _ref(first, 1)  # published
    failing_from = first.head.seq + 1
    _ref(first, 2)  # request A: its publish will fail
    _ref(first, 3)  # request B, linked while A was in flight: it may still arrive
    edge.failed(first.chain_id, failing_from, [], "broker did not acknowledge in time", "tA")
    assert edge.current.chain_id != first.chain_id  # nothing links after a ref that may be missing
    declared = edge.declarations()
    assert [(a.chain_id, a.first, a.last) for a in declared] == [(first.chain_id, 2, 3)]
    assert edge.declarations() == []  # one request carries a declaration at a time
    refs = edge.link_declarations(declared, "run", NOW)
    assert refs[0].seq == 1 and refs[0].status == "error" and "broker did not acknowledge" in (refs[0].error or "")
    assert parse_declaration(refs[0].output_ref) == (first.chain_id, 2, 3)
    edge.published(declared)
    assert edge.pending == {} and edge.declarations() == []


def test_a_declaration_whose_publish_fails_is_carried_again_with_the_new_one() -> None:
    edge = _chains()
    first = edge.current
    _ref(first, 1)
    edge.failed(first.chain_id, 1, [], "down", "tA")
    second = edge.current
    declared = edge.declarations()
    edge.link_declarations(declared, "run", NOW)  # seq 1 of the second chain
    edge.failed(second.chain_id, 1, declared, "still down", "tB")
    again = edge.declarations()
    assert sorted((a.chain_id, a.first, a.last) for a in again) == sorted([(first.chain_id, 1, 1),
                                                                           (second.chain_id, 1, 1)])
    # A late failure of an earlier request of the first chain widens what it declares.
    edge.failed(first.chain_id, 1, again, "late", "tC")
    assert {a.chain_id for a in edge.declarations()} == {first.chain_id, second.chain_id}


def test_only_a_chain_of_the_same_run_can_declare() -> None:
    markers = [
        ("received/edge/run/n2", "unpublished:received/edge/run/n1#2-3"),
        ("received/edge/other/n9", "unpublished:received/edge/run/n1#5-9"),  # another run: ignored
        ("received/edge/run/n1", "unpublished:received/edge/run/n1#4-4"),  # about itself: ignored
        ("received/edge/run/n2", "alert:123"),
    ]
    assert declared_ranges(markers) == {"received/edge/run/n1": [(2, 3)]}
    assert covered(2, 3, [(2, 3)]) and covered(2, 5, [(4, 6), (2, 3)]) and not covered(2, 4, [(2, 3)])


def _stored(refs: Sequence[AuditRef]) -> list[StoredRef]:
    return [StoredRef.from_row({**{k: getattr(r, k) for k in AuditRef.__dataclass_fields__}, "ref_hash": ""})
            for r in refs]


def test_verify_tells_a_declared_gap_from_a_deleted_ref() -> None:
    chain = LocalChain("received/edge/run/n1")
    refs = [_ref(chain, n) for n in range(1, 6)]
    rows = _stored([refs[0], refs[2], refs[4]])  # seq 2 never published; seq 4 deleted
    found = {(f.kind, f.seq) for f in verify_chain(chain.chain_id, rows, unpublished=[(2, 3)])}
    assert found == {("unpublished", 3), ("gap", 5)}
    assert {f.kind for f in verify_chain(chain.chain_id, rows)} == {"gap"}
    lone = _stored([refs[2]])[0]
    assert check_content(lone, None, [(2, 3)]).kind == "unpublished"  # type: ignore[union-attr]
    assert check_content(lone, None).kind == "content_missing"  # type: ignore[union-attr]


# --- the edge, with a publisher that fails one request while another is in flight -----------

class RacePublisher:
    """Holds every publish until two are in flight, then fails the first and acknowledges the rest."""

    def __init__(self) -> None:
        self.published: list[OutRecord] = []
        self.calls = 0
        self.both_in = asyncio.Event()

    async def publish(self, records: Sequence[OutRecord]) -> None:
        self.calls += 1
        call = self.calls
        if call <= 2:
            if call == 2:
                self.both_in.set()
            await self.both_in.wait()
        if call == 1:
            await asyncio.sleep(0.05)
            raise PublishError("broker did not acknowledge in time")
        self.published.extend(records)

    def ping(self, timeout: float = 2.0) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> None:
        pass


async def _store(url: str, records: Sequence[OutRecord], codec: Codec) -> list[AuditRef]:
    refs = [codec.decode(r.value) for r in records if r.topic == "audit.refs"]
    contents = [(codec.sha256(r.value), r.value) for r in records if r.topic == "alerts.normalized"]
    pool = await open_pool(url)
    try:
        await writer.write_refs(pool, [(ref, 0, i) for i, ref in enumerate(refs)])
        await writer.write_content(pool, "alerts.normalized", contents)
    finally:
        await pool.close()
    return refs


@pytest.mark.integration
async def test_a_503_beside_an_accepted_request_verifies_as_unpublished(settings: Settings, api_key: str,
                                                                          database_url: str) -> None:
    run = f"race-{uuid.uuid4().hex[:8]}"
    publisher = RacePublisher()
    app = create_app(dataclasses.replace(settings, run_id=run), publisher=publisher)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://edge", headers=key_headers(api_key)) as c:
        a, b = await asyncio.gather(
            c.post("/alerts/webhook/", json={"name": "RaceA", "labels": {"instance": run}}),
            c.post("/alerts/webhook/", json={"name": "RaceB", "labels": {"instance": run}}),
        )
        assert sorted([a.status_code, b.status_code]) == [202, 503]
        after = await c.post("/alerts/webhook/", json={"name": "RaceC", "labels": {"instance": run}})
        assert after.status_code == 202
    refs = await _store(database_url, publisher.published, Codec())
    declaration = [r for r in refs if r.output_ref.startswith("unpublished:")]
    assert len(declaration) == 1 and declaration[0].seq == 1  # the new chain starts by declaring
    chain_prefix = f"received/edge/{run}/"
    report = verify(database_url, now=datetime.now(UTC) + timedelta(hours=1), chain_prefix=chain_prefix)
    kinds = sorted(f.kind for f in report.findings)
    assert kinds == ["unpublished"], report.to_json()  # seq 1 of the first chain never arrived; seq 2 did
    assert report.ok
