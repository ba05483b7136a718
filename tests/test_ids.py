"""alertstream.ids: uuid4-shaped ids from pooled randomness, uuid5 strings without UUID objects."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from alertstream.ids import name_id, new_id


def test_ids_are_distinct_uuid4_hex() -> None:
    ids = [new_id() for _ in range(5000)]  # past several refills of the pool
    assert len(set(ids)) == len(ids)
    for value in ids[:300]:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == value


@settings(max_examples=300)
@given(namespace=st.uuids(), name=st.text())
def test_name_id_is_uuid5(namespace: uuid.UUID, name: str) -> None:
    assert name_id(namespace, name) == str(uuid.uuid5(namespace, name))
