"""alertstream.ids: uuid4-shaped ids from pooled randomness."""

from __future__ import annotations

import uuid

from alertstream.ids import new_id


def test_ids_are_distinct_uuid4_hex() -> None:
    ids = [new_id() for _ in range(5000)]  # past several refills of the pool
    assert len(set(ids)) == len(ids)
    for value in ids[:300]:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == value
