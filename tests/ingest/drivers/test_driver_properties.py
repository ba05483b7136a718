"""Properties every driver keeps for any JSON: detect() answers a bool and never raises; parse()
raises only ParseError, never changes its input, and returns records that keep the contract.

Arbitrary JSON seldom looks like a vendor's payload, so besides it the tests use the fixtures
with parts replaced by arbitrary JSON or removed, which reaches deep into every parser.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertstream.ingest import drivers
from alertstream.ingest.drivers import ParseError, generic

from .driver_cases import RECEIVED_AT, check_record, load_cases

CASES = load_cases()

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(max_size=20)
    | st.sampled_from(["", "0", "1", "firing", "resolved", "P1", "2024-05-02T10:15:30Z", "1714644930000"])
)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


# Every key any fixture uses, so generated objects often carry a vendor's field names.
VOCABULARY = sorted({key for case in CASES for key in _keys(case.payload)})
KEYS = st.sampled_from(VOCABULARY) | st.text(max_size=8)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _paths(item, (*prefix, key))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    payload = copy.deepcopy(draw(st.sampled_from(CASES)).payload)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(payload))
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        container = payload
        for step in parents:
            container = container[step]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[last]
        else:
            container[last] = draw(JSON)
    return payload


def assert_keeps_the_contract(payload: Any) -> None:
    before = copy.deepcopy(payload)
    for driver in drivers.DRIVERS:
        assert type(driver.detect(payload)) is bool, driver.NAME
        try:
            alerts = driver.parse(payload, RECEIVED_AT)
        except ParseError as exc:
            assert exc.driver == driver.NAME
            continue
        assert isinstance(alerts, list), driver.NAME
        for alert in alerts:
            check_record(alert, driver.NAME)
    assert payload == before, "a driver changed its input"
    assert drivers.detect(payload) in (None, *drivers.DRIVERS)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(JSON)
def test_any_json(payload: Any) -> None:
    assert_keeps_the_contract(payload)


@FAST
@given(mutated_fixtures())
def test_fixtures_with_parts_replaced_or_removed(payload: Any) -> None:
    assert_keeps_the_contract(payload)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_driver_on_every_fixture(case: Any) -> None:
    """Each fixture through every driver, not only its own: the others refuse it or parse it cleanly."""
    assert_keeps_the_contract(copy.deepcopy(case.payload))


@given(st.text(min_size=300, max_size=2000))
@settings(max_examples=50, deadline=None)
def test_dedup_key_is_clamped_for_long_vendor_ids(fingerprint: str) -> None:
    (alert,) = generic.parse({"name": "X", "fingerprint": fingerprint}, RECEIVED_AT)
    assert len(alert.dedup_key) <= 255
    assert alert.fingerprint == fingerprint
