"""The channel-neutral notification document built from an analysed incident event."""

from __future__ import annotations

from typing import Any

from alertstream.schemas.records import Analysis


def notification_document(analysis: Analysis, delivery_key: str) -> dict[str, Any]:
    incident = analysis.incident
    return {
        "delivery_key": delivery_key,
        "incident_id": incident.incident_id,
        "version": incident.version,
        "reason": incident.reason,
        "status": incident.status,
        "severity": incident.severity,
        "title": incident.title,
        "trace_id": incident.trace_id,
        "lane": incident.lane.name,
        "opened_at": incident.opened_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "name": a.name,
                "status": a.status,
                "severity": a.severity,
                "source": a.source,
                "labels": a.labels,
                "annotations": a.annotations,
                "links": [{"kind": link.kind, "url": link.url} for link in a.links],
            }
            for a in incident.alerts
        ],
        "analysis": {
            "status": analysis.status,
            "provider": analysis.provider,
            "category": analysis.category,
            "summary": analysis.summary,
            "probable_cause": analysis.probable_cause,
            "confidence": analysis.confidence,
            "recommendations": [
                {"priority": r.priority, "type": r.type, "title": r.title, "actions": r.actions}
                for r in analysis.recommendations
            ],
        },
    }
