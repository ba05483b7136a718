"""Prometheus metrics. One registry per process, built in main() and passed down
(no import-time globals). Worker metrics are derived from the records each stage
publishes, so no agent needs its own instrumentation code."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alertstream.schemas.records import Analysis, AuditRef, IncidentEvent, NotificationResult

__all__ = ["CONTENT_TYPE_LATEST", "EdgeMetrics", "WorkerMetrics", "render"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class EdgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "alertstream_edge_requests_total", "Webhook requests by source, driver and status.",
            ["source", "driver", "status"], registry=self.registry,
        )
        self.accept_latency = Histogram(
            "alertstream_edge_accept_seconds", "Time from request to answer on the webhook path.",
            ["status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.alerts = Counter(
            "alertstream_edge_alerts_total", "Alerts accepted (published) by source.", ["source"],
            registry=self.registry,
        )
        self.publish_errors = Counter(
            "alertstream_edge_publish_errors_total", "Requests answered 503 because the broker did not acknowledge.",
            registry=self.registry,
        )

        # Labelled children by (driver, status): labels() costs microseconds on every request otherwise.
        self._children: dict[tuple[str, int], tuple[Any, Any, Any | None]] = {}

    def observe(self, *, driver: str, status: int, seconds: float, alerts: int) -> None:
        children = self._children.get((driver, status))
        if children is None:
            source = driver or "unknown"
            children = self._children[(driver, status)] = (
                self.requests.labels(source, driver or "none", str(status)),
                self.accept_latency.labels(str(status)),
                self.alerts.labels(source) if status == 202 else None,  # no empty series for refusals
            )
        requests, latency, alerts_counter = children
        requests.inc()
        latency.observe(seconds)
        if alerts_counter is not None and alerts:
            alerts_counter.inc(alerts)
        if status == 503:
            self.publish_errors.inc()


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.stage = Counter("alertstream_stage_records_total", "Records through each stage by outcome.",
                             ["stage", "status"], registry=r)
        self.dedup = Counter("alertstream_dedup_total",
                             "Check-stage dedup decisions: material changes vs repeats (ratio = repeat / total).",
                             ["outcome"], registry=r)
        self.incidents = Counter("alertstream_incident_events_total", "Incident events by resulting state and reason.",
                                 ["state", "reason"], registry=r)
        self.deliveries = Counter("alertstream_deliveries_total", "Delivery outcomes by channel.",
                                  ["channel", "channel_type", "outcome"], registry=r)
        self.dead_letters = Counter("alertstream_dead_letters_total", "Records sent to a dead-letter topic.",
                                    ["source_topic"], registry=r)
        self.analysis_latency = Histogram("alertstream_analysis_seconds", "Analysis time by provider and status.",
                                          ["provider", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.analysis_tokens = Counter("alertstream_analysis_tokens_total", "Tokens used by analysis providers.",
                                       ["provider", "direction"], registry=r)
        self.lag = Gauge("alertstream_consumer_lag", "Records not yet consumed, per assigned partition.",
                         ["topic", "partition"], registry=r)
        self.topic_depth = Gauge("alertstream_topic_depth",
                                 "Records held in retry and dead-letter topics (retry and DLQ depth).", ["topic"],
                                 registry=r)

    def observe_record(self, record: Any) -> None:
        if isinstance(record, AuditRef):
            self.stage.labels(record.stage, record.status).inc()
            if record.stage == "checked":
                self.dedup.labels("repeat" if record.output_ref.startswith("duplicate-of:") else "material").inc()
        elif isinstance(record, IncidentEvent):
            self.incidents.labels(record.status, record.reason).inc()
        elif isinstance(record, Analysis):
            seconds = (record.finished_at - record.started_at).total_seconds()
            self.analysis_latency.labels(record.provider, record.status).observe(max(0.0, seconds))
            if record.tokens_in:
                self.analysis_tokens.labels(record.provider, "in").inc(record.tokens_in)
            if record.tokens_out:
                self.analysis_tokens.labels(record.provider, "out").inc(record.tokens_out)
        elif isinstance(record, NotificationResult):
            self.deliveries.labels(record.channel, record.channel_type, record.status).inc()
