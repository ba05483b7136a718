"""Settings read from the environment: defaults, overrides, and a clear error for a bad value."""

from __future__ import annotations

import pytest

from alertstream.config import ConfigError, Settings


def test_the_stages_producer_lingers_longer_than_the_edges() -> None:
    # The edge answers after the broker acknowledges, so its linger is request latency; the
    # stages await a whole batch, where fuller produce requests save the broker most of its work.
    settings = Settings.from_env({})
    assert (settings.kafka.linger_ms, settings.worker.output_linger_ms) == (2, 50)
    assert Settings.from_env({"ALERTSTREAM_WORKER_LINGER_MS": "5"}).worker.output_linger_ms == 5


@pytest.mark.parametrize("raw", ["-1", "soon"])
def test_a_bad_worker_linger_fails_at_start(raw: str) -> None:
    with pytest.raises(ConfigError, match="ALERTSTREAM_WORKER_LINGER_MS"):
        Settings.from_env({"ALERTSTREAM_WORKER_LINGER_MS": raw})
