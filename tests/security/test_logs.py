"""Process logging: redacted even through handlers installed by others (faust, uvicorn), with trace_id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from alertstream.logs import setup_logging, trace_context

SECRET = "hunter2-canary-pw"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_logs_are_redacted_and_carry_the_trace_id(restore_logging, capsys) -> None:  # type: ignore[no-untyped-def]
    setup_logging("INFO", "text")
    log = logging.getLogger("alertstream.test")
    with trace_context("trace-abc"):
        log.info("connecting to %s with password=%s", "https://user:pw1@db.example/x", SECRET)
    log.warning("token %s", TOKEN)
    err = capsys.readouterr().err
    assert SECRET not in err and "pw1" not in err and TOKEN not in err
    assert "trace_id=trace-abc" in err and "[REDACTED:password]" in err and "trace_id=-" in err


def test_json_logs(restore_logging, capsys) -> None:  # type: ignore[no-untyped-def]
    setup_logging("INFO", "json")
    with trace_context("trace-json"):
        try:
            raise RuntimeError(f"failed with api_key={SECRET}")
        except RuntimeError:
            logging.getLogger("alertstream.test").exception("send failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    doc = json.loads(line)
    assert doc["trace_id"] == "trace-json" and doc["message"] == "send failed" and doc["level"] == "ERROR"
    assert SECRET not in line and "[REDACTED:api-key]" in doc["exception"]


def test_handlers_replaced_later_still_see_redacted_records(restore_logging) -> None:  # type: ignore[no-untyped-def]
    setup_logging("INFO")
    # What faust's worker does at start: clear the root handlers and install its own.
    stream = io.StringIO()
    logging.root.handlers.clear()
    logging.root.addHandler(logging.StreamHandler(stream))
    logging.getLogger("faust.test").warning("Authorization: Bearer %s", "abcdef0123456789abcdef")
    logging.getLogger("alertstream.test").info("extra works", extra={"trace_id": "given"})
    out = stream.getvalue()
    assert "abcdef0123456789abcdef" not in out and "[REDACTED:authorization]" in out
    assert "extra works" in out


def test_a_url_argument_keeps_only_its_origin(restore_logging) -> None:  # type: ignore[no-untyped-def]
    """httpx logs each request's URL object; a Slack or Teams webhook URL is the secret itself."""
    import httpx

    setup_logging("INFO")
    stream = io.StringIO()
    logging.root.handlers.clear()
    logging.root.addHandler(logging.StreamHandler(stream))
    url = httpx.URL("https://hooks.slack.example:8443/services/T000/B000/XXXXslacktokenXXXX?x=1")
    logging.getLogger("httpx").warning('HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 503, "")
    out = stream.getvalue()
    assert "slacktoken" not in out and "/services" not in out
    assert "POST https://hooks.slack.example:8443/…" in out


def test_redacted_records_still_format_through_mode_the_faust_log_formatter() -> None:
    import io
    import logging

    from mode.utils.logging import ExtensionFormatter

    from alertstream.redaction import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(ExtensionFormatter(stream=stream, fmt="%(message)s"))
    logger = logging.getLogger("test.mode.formatter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Creating topic %r with token=%s", "alerts.normalized", "abc123secretvalue")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Creating topic 'alerts.normalized'" in text
    assert "abc123secretvalue" not in text
    assert "Logging error" not in text


def test_json_log_lines_carry_trace_and_run_ids() -> None:
    import io
    import json
    import logging

    from alertstream.logs import JsonFormatter, _TraceIdDefault, trace_context

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_TraceIdDefault("edge-host-42"))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.json.ids")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with trace_context("t-123"):
            logger.warning("accepted")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["trace_id"], line["run_id"], line["message"]) == ("t-123", "edge-host-42", "accepted")
