"""Logging for every process: redacted, with the trace id, as text or one JSON object per line.

Redaction happens when a record is created (a LogRecord factory), not only in
our handlers: faust and uvicorn replace or add handlers after we configure
logging, and every record still passes through RedactingFilter. The message is
formatted and redacted there, so raw arguments (payloads, URLs, keys) never
reach any handler.

The trace id comes from a context variable: `with trace_context(trace_id): ...`
around the work of one request or record, and every record logged inside
carries `trace_id` (a field in JSON, `trace_id=` in text).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from alertstream.redaction import RedactingFilter

trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("alertstream_trace_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s trace_id=%(trace_id)s %(message)s"
_REDACT = RedactingFilter()


@contextlib.contextmanager
def trace_context(trace_id: str) -> Iterator[None]:
    token = trace_id_var.set(trace_id)
    try:
        yield
    finally:
        trace_id_var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, trace_id, message (and the redacted exception)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "trace_id": getattr(record, "trace_id", "-"),
            "run_id": getattr(record, "run_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return orjson.dumps(doc).decode()


def _install_record_factory() -> None:
    base = logging.getLogRecordFactory()
    if getattr(base, "_alertstream", False):
        return  # installed already (tests call setup more than once)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _REDACT.filter(record)  # trace_id is added by our handler, so `extra={"trace_id": …}` still works
        return record

    factory._alertstream = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def setup_logging(level: str, fmt: str = "text", run_id: str = "-") -> None:
    _install_record_factory()
    handler = logging.StreamHandler()
    handler.addFilter(_REDACT)  # also on the handler, for records made before the factory (none today)
    handler.addFilter(_TraceIdDefault(run_id))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class _TraceIdDefault(logging.Filter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            record.trace_id = trace_id_var.get()
        record.run_id = self.run_id
        return True


__all__ = ["JsonFormatter", "TEXT_FORMAT", "setup_logging", "trace_context", "trace_id_var"]
