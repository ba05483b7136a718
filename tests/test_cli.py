"""The CLI turns unreachable components into a message and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from alertstream.cli import main
from alertstream.embedded import free_port


def test_an_unreachable_broker_is_a_message(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    dead = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", dead)
    # replay --reprocess, tail and the rest reach the broker through the same admin client first.
    assert main(["topics"]) == 1
    err = capsys.readouterr().err
    assert f"alertstream topics: Kafka at {dead}:" in err and "Traceback" not in err
