"""The one error taxonomy every stage honours.

A Retryable failure goes to a delay topic and is tried again; a Permanent one
goes to the DLQ. The reason is short, machine-friendly and never carries a
secret: it becomes a metric label and a header on DLQ records.
"""

from __future__ import annotations


class PipelineError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Retryable(PipelineError):
    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class Permanent(PipelineError):
    pass
