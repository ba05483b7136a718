"""The notify agent's waves: deliveries that decide each other never share a claim batch."""

from __future__ import annotations

from types import SimpleNamespace

from alertstream.streams.deliver import Attempt, waves


def _attempt(incident: str, version: int, channel: str) -> Attempt:
    analysis = SimpleNamespace(incident=SimpleNamespace(incident_id=incident, version=version))
    return Attempt(analysis, channel, event=None)  # type: ignore[arg-type]


def test_one_incident_and_channel_per_wave_in_input_order() -> None:
    attempts = [_attempt("a", 1, "x"), _attempt("b", 1, "x"), _attempt("a", 2, "x"), _attempt("a", 2, "y"),
                _attempt("a", 3, "x")]
    assert waves(attempts) == [[0, 1, 3], [2], [4]]
    assert waves([]) == []
