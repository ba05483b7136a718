"""docs/topics.md is generated from schemas/topics.py and the .avsc files; it must not drift."""

from __future__ import annotations

from alertstream.config import Settings
from alertstream.schemas.topics import ALERTS_NORMALIZED, AUDIT_REFS, DAY_MS, TOPICS
from alertstream.schemas.topics_doc import DOC_PATH, render
from alertstream.streams.admin import topic_config


def test_docs_topics_md_is_current() -> None:
    assert DOC_PATH.read_text() == render(), (
        "docs/topics.md is stale: run `.venv/bin/python -m alertstream.schemas.topics_doc`"
    )


def test_every_topic_and_record_is_documented() -> None:
    text = render()
    for spec in TOPICS:
        assert f"| `{spec.name}` |" in text


def test_audit_topics_keep_records_long_and_retention_is_configurable() -> None:
    assert ALERTS_NORMALIZED.retention_ms >= 365 * DAY_MS and AUDIT_REFS.retention_ms >= 365 * DAY_MS
    kafka = Settings.from_env({"ALERTSTREAM_TOPIC_RETENTION": "audit.refs=forever,alerts.normalized=90d"}).kafka
    assert topic_config(AUDIT_REFS, kafka)["retention.ms"] == "-1"
    assert topic_config(ALERTS_NORMALIZED, kafka)["retention.ms"] == str(90 * DAY_MS)
    assert topic_config(AUDIT_REFS)["retention.ms"] == str(AUDIT_REFS.retention_ms)
