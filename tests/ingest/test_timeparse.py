"""Timestamps as vendors send them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alertstream.ingest.timeparse import TimestampError, parse_timestamp

MOMENT = datetime(2024, 5, 2, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1714644930,  # seconds
        1714644930.0,
        "1714644930",
        1714644930000,  # milliseconds (Datadog $DATE, New Relic, Opsgenie createdAt)
        1714644930000000,  # microseconds
        1714644930000000000,  # nanoseconds (Opsgenie updatedAt)
        "2024-05-02T10:15:30Z",
        "2024-05-02T12:15:30+02:00",
        "2024-05-02T10:15:30.000000000Z",  # Go writes nanoseconds
        "2024-05-02T10:15:30",  # no zone: UTC
    ],
)
def test_the_same_moment_in_every_form(value: object) -> None:
    assert parse_timestamp(value) == MOMENT


@pytest.mark.parametrize("value", [None, "", "0001-01-01T00:00:00Z"])
def test_no_timestamp(value: object) -> None:
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(
    "value",
    [
        True,
        -1,
        10**400,  # too big for a float
        "9999-12-31T23:59:59-05:00",  # past year 9999 once in UTC
        "nan",
        "yesterday",
        {"at": 1},
        [1714644930],
    ],
)
def test_what_is_not_a_timestamp_raises_timestamp_error_only(value: object) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(value)
