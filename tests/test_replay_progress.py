"""Replay progress: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from alertstream.progress import PlainProgress, RichProgress, describe, human_bytes, progress_for


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_describe_has_records_bytes_rate_and_eta() -> None:
    assert describe(1200, 5000, 1_234_567, 2.0) == "1200/5000 records, 1.2 MB, 600/s, ETA 6s"
    assert describe(0, 10, 0, 0.0).endswith("ETA ?")
    assert human_bytes(999) == "999 B" and human_bytes(1500) == "1.5 kB"


def test_a_terminal_gets_a_bar_and_a_pipe_gets_lines() -> None:
    tty = Terminal()
    bar = progress_for("replay x", tty)
    assert isinstance(bar, RichProgress)
    bar.update(5, 10, 2048)
    bar.close()
    assert "replay x" in tty.getvalue() and "5/10" in tty.getvalue()
    pipe = io.StringIO()
    plain = progress_for("replay x", pipe)
    assert isinstance(plain, PlainProgress)
    plain.update(5, 10, 2048)
    plain.close()
    assert pipe.getvalue().strip().startswith("replay x: 5/10 records, 2.0 kB")
