"""Hash chains over refs, pure: linking, canonical form, and what the verifier finds."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

from alertstream.audit import make_ref
from alertstream.chain import ChainHead, LocalChain, canonical_form, ref_hash, to_millis
from alertstream.chain_verify import Head, StoredRef, check_content, compare_topic, verify_chain
from alertstream.schemas.codec import Codec
from alertstream.schemas.records import AuditRef, to_avro

T0 = datetime(2026, 11, 29, 10, 0, 0, 123456, tzinfo=UTC)


def refs(count: int, chain: str = "checked/alerts.normalized/0") -> list[AuditRef]:
    local = LocalChain(chain)
    return [
        local.link(make_ref(trace_id=f"t{i}", run_id="run", stage="checked", input_ref=f"alert:{i}",
                            output_ref=f"incident:i{i}@1", content=f"body{i}".encode(),
                            started_at=T0 + timedelta(seconds=i),
                            finished_at=T0 + timedelta(seconds=i, milliseconds=5)))
        for i in range(count)
    ]


def stored(chain: list[AuditRef], offsets: list[int] | None = None) -> list[StoredRef]:
    offsets = offsets or list(range(len(chain)))
    return [StoredRef.from_row({**to_avro(r), "ref_hash": ref_hash(r), "kafka_partition": 0, "kafka_offset": o})
            for r, o in zip(chain, offsets, strict=True)]


def kinds(findings) -> list[str]:
    return sorted({f.kind for f in findings})


def test_links_point_back_to_the_previous_ref_hash() -> None:
    chain = refs(3)
    assert [r.seq for r in chain] == [1, 2, 3]
    assert chain[0].prev_hash == ""
    assert chain[1].prev_hash == ref_hash(chain[0]) and chain[2].prev_hash == ref_hash(chain[1])
    assert {r.chain_id for r in chain} == {"checked/alerts.normalized/0"}


def test_the_hash_survives_avro_encoding() -> None:
    codec = Codec()
    ref = refs(1)[0]
    assert ref.started_at == to_millis(T0)  # truncated before hashing, as Avro will
    assert ref_hash(codec.decode(codec.encode(ref))) == ref_hash(ref)


def test_canonical_form_is_sorted_compact_json_with_millisecond_times() -> None:
    ref = refs(1)[0]
    form = canonical_form(to_avro(ref))
    assert form.startswith(b'{"chain_id":"checked/alerts.normalized/0","content_sha256":')
    assert f'"started_at":{int(T0.timestamp()) * 1000 + 123},'.encode() in form and b"seq" not in form
    assert ref_hash(ref) == hashlib.sha256(form).hexdigest()


def test_chain_head_round_trips_through_json() -> None:
    head = ChainHead(7, "ab" * 32)
    assert ChainHead.from_json(head.to_json()) == head
    assert ChainHead.from_json(None) == ChainHead()


def test_an_intact_chain_has_no_findings() -> None:
    rows = stored(refs(5))
    assert verify_chain("c", rows, Head("c", 5, rows[-1].ref_id, rows[-1].hash)) == []


def test_an_edited_row_is_caught() -> None:
    rows = stored(refs(4))
    edited = dataclasses.replace(rows[1], fields={**rows[1].fields, "output_ref": "incident:forged@1"})
    edited = dataclasses.replace(edited, hash=ref_hash(edited.fields))
    assert kinds(verify_chain("c", [rows[0], edited, *rows[2:]])) == ["edited"]
    # An editor who also rewrote the stored hash is caught by the next link.
    rehashed = dataclasses.replace(edited, stored_hash=edited.hash)
    found = verify_chain("c", [rows[0], rehashed, *rows[2:]])
    assert kinds(found) == ["edited"] and found[0].seq == 2


def test_a_deleted_middle_row_is_a_gap_and_a_deleted_last_row_is_caught_by_the_head() -> None:
    rows = stored(refs(5))
    head = Head("c", 5, rows[-1].ref_id, rows[-1].hash)
    found = verify_chain("c", [*rows[:2], *rows[3:]], head)
    assert kinds(found) == ["gap"] and found[0].detail.startswith("refs 3..3")
    assert kinds(verify_chain("c", rows[:4], head)) == ["deleted"]
    assert kinds(verify_chain("c", rows[1:], head)) == ["gap"]  # the first ones
    assert verify_chain("c", rows[1:], head, anchored=True) == []  # --since: the window starts mid-chain


def test_swapped_positions_are_reordering() -> None:
    rows = stored(refs(4))
    a, b, c, d = rows
    swapped = [a, dataclasses.replace(c, seq=2), dataclasses.replace(b, seq=3), d]
    found = verify_chain("c", swapped)
    assert kinds(found) == ["reordered"]


def test_a_redelivered_ref_at_the_same_seq_is_a_duplicate_warning() -> None:
    chain = refs(3)
    again = dataclasses.replace(chain[1], ref_id="again")
    rows = stored([chain[0], again, chain[1], chain[2]], offsets=[0, 1, 2, 3])
    found = verify_chain("c", rows)
    assert kinds(found) == ["duplicate"] and not found[0].severe and found[0].ref_id == "again"


def test_content_is_checked_against_its_hash() -> None:
    row = stored(refs(1))[0]
    assert check_content(row, b"body0") is None
    assert check_content(row, b"tampered").kind == "content_mismatch"  # type: ignore[union-attr]
    assert check_content(row, None).kind == "content_missing"  # type: ignore[union-attr]
    empty = dataclasses.replace(row, fields={**row.fields, "content_sha256": hashlib.sha256(b"").hexdigest()})
    assert check_content(empty, None) is None


def test_the_topic_witnesses_deleted_and_edited_rows() -> None:
    chain = refs(3)
    rows = {r.ref_id: r for r in stored(chain)}
    on_topic = [(r, 0, i) for i, r in enumerate(chain)]
    assert compare_topic(rows, on_topic, lambda r: True) == []
    del rows[chain[1].ref_id]
    edited = stored([dataclasses.replace(chain[2], status="error")])[0]
    rows[chain[2].ref_id] = edited
    found = compare_topic(rows, on_topic, lambda r: True)
    assert kinds(found) == ["deleted", "edited"]
    assert "status" in next(f for f in found if f.kind == "edited").detail
    assert compare_topic({}, on_topic, lambda r: False) == []  # not settled yet: still on its way


def test_the_topic_order_is_checked() -> None:
    chain = refs(3)
    rows = {r.ref_id: r for r in stored(chain)}
    found = compare_topic(rows, [(chain[0], 0, 0), (chain[2], 0, 1), (chain[1], 0, 2)], lambda r: True)
    assert "gap" in kinds(found) and "reordered" in kinds(found)
