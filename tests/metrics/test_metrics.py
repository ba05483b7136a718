"""Worker metrics derive from the records stages publish; the dashboard only queries
metrics the code exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alertstream.metrics import EdgeMetrics, WorkerMetrics, render
from alertstream.schemas.records import AuditRef, NotificationResult

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 29, tzinfo=UTC)


def ref(stage: str, status: str, output: str = "x") -> AuditRef:
    return AuditRef(ref_id="r", trace_id="t", run_id="run", stage=stage, input_ref="i", output_ref=output,
                    content_sha256="0" * 64, status=status, started_at=T0, finished_at=T0 + timedelta(seconds=1))


def test_worker_metrics_follow_published_records() -> None:
    m = WorkerMetrics()
    m.observe_record(ref("checked", "ok", "incident:i@1"))
    m.observe_record(ref("checked", "skipped", "duplicate-of:e1"))
    m.observe_record(ref("checked", "skipped", "duplicate-of:e1"))
    m.observe_record(NotificationResult(delivery_key="k", incident_id="i", incident_version=1, channel="ops",
                                        channel_type="webhook", trace_id="t", status="sent", started_at=T0,
                                        finished_at=T0))
    text = render(m.registry).decode()
    assert 'alertstream_dedup_total{outcome="repeat"} 2.0' in text
    assert 'alertstream_dedup_total{outcome="material"} 1.0' in text
    assert 'alertstream_stage_records_total{stage="checked",status="skipped"} 2.0' in text
    assert 'alertstream_deliveries_total{channel="ops",channel_type="webhook",outcome="sent"} 1.0' in text


def test_edge_metrics_count_requests_and_publish_errors() -> None:
    m = EdgeMetrics()
    m.observe(driver="grafana", status=202, seconds=0.003, alerts=2)
    m.observe(driver="", status=400, seconds=0.001, alerts=0)
    m.observe(driver="generic", status=503, seconds=5.0, alerts=0)
    text = render(m.registry).decode()
    assert 'alertstream_edge_alerts_total{source="grafana"} 2.0' in text
    assert 'alertstream_edge_requests_total{driver="none",source="unknown",status="400"} 1.0' in text
    assert "alertstream_edge_publish_errors_total 1.0" in text


def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "alertstream.json").read_text())
    exported = set()
    for metrics in (EdgeMetrics(), WorkerMetrics()):
        for family in metrics.registry.collect():
            exported.add(family.name)
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used.update(re.findall(r"alertstream_[a-z_]+", target["expr"]))
    base = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used}
    assert base <= exported, f"dashboard queries unknown metrics: {sorted(base - exported)}"


def test_the_running_edge_serves_metrics_behind_the_api_key(pipeline) -> None:
    import httpx

    assert pipeline.post(json={"name": "MetricsProbe", "labels": {"instance": "m-1"}}).status_code == 202
    edge = pipeline.get("/metrics")
    assert edge.status_code == 200
    assert 'alertstream_edge_requests_total{driver="generic",source="generic",status="202"}' in edge.text
    assert httpx.get(pipeline.base_url + "/metrics", timeout=5).status_code == 401  # keyed like every API path
