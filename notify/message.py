"""What a notification says, independent of the channel: the JSON document the
webhook sends, and the template context every other driver renders from.

A resolution or acknowledgement must never read like a new page: `state`,
`state_label`, `title_prefix` and `colour` say which it is, and every default
template leads with them.

Nor may a page hide that its analysis is missing or second-best: `analysis.label`
says "analysis pending", "analysis unavailable" or "fallback used", `analysis_note`
says it in a sentence. A follow-up (`update`) is the late analysis of a version
already notified as pending, and reads as an update of that notification.
"""

from __future__ import annotations

from typing import Any

from alertstream.schemas.records import Analysis, IncidentAlert

from .base import UPDATE_SUFFIX
from .batch import split_alerts

# Colours per state; a firing incident takes its severity's colour.
SEVERITY_COLOURS = {"critical": "#D50000", "error": "#FF6D00", "warning": "#FFAB00", "info": "#2962FF"}
STATE_COLOURS = {"acknowledged": "#9E9E9E", "resolved": "#2EB67D"}
STATE_LABELS = {"firing": "FIRING", "acknowledged": "ACKNOWLEDGED", "resolved": "RESOLVED"}
TITLE_PREFIXES = {"firing": "", "acknowledged": "Acknowledged: ", "resolved": "Resolved: "}
MAX_LINKS = 5
TOP_RECOMMENDATIONS = 3
# Analysis statuses a reader must be told about (ok and skipped say nothing: there is no analysis to miss).
ANALYSIS_LABELS = {"pending": "analysis pending", "unavailable": "analysis unavailable", "fallback": "fallback used"}


def incident_state(status: str) -> str:
    """firing | acknowledged | resolved, from the incident status."""
    if status in ("resolved", "closed"):
        return "resolved"
    return "acknowledged" if status == "acknowledged" else "firing"


def analysis_label(analysis: Analysis) -> str:
    """"analysis pending" | "analysis unavailable" | "fallback used" | "" (a full analysis, or none asked)."""
    if analysis.fallback_used:
        return ANALYSIS_LABELS["fallback"]
    return ANALYSIS_LABELS.get(analysis.status, "")


def analysis_note(analysis: Analysis) -> str:
    """The label as a sentence a person on call reads under the summary."""
    label = analysis_label(analysis)
    if not label:
        return ""
    if label == ANALYSIS_LABELS["fallback"]:
        why = f" ({analysis.reason})" if analysis.reason else ""
        return (f"Fallback used: {analysis.provider} gave no usable answer{why}; "
                "the probable cause and next steps come from the local rules.")
    if analysis.status == "pending":
        return "Analysis pending: it was not ready in time and follows as an update."
    if analysis.reason == "deadline":
        return "Analysis unavailable: it was not ready in time."
    return "Analysis unavailable."


def update_of(analysis: Analysis, delivery_key: str) -> str | None:
    """For a follow-up, the delivery key of the notification it updates."""
    return delivery_key.removesuffix(UPDATE_SUFFIX) if analysis.follow_up else None


def notification_document(analysis: Analysis, delivery_key: str, max_alerts: int | None = None) -> dict[str, Any]:
    """The webhook body: the whole incident event and its analysis, machine-readable."""
    incident = analysis.incident
    shown, more = split_alerts(incident.alerts, max_alerts)
    doc: dict[str, Any] = {
        "delivery_key": delivery_key,
        "update": analysis.follow_up,
        "update_of": update_of(analysis, delivery_key),
        "incident_id": incident.incident_id,
        "version": incident.version,
        "reason": incident.reason,
        "status": incident.status,
        "state": incident_state(incident.status),
        "severity": incident.severity,
        "title": incident.title,
        "trace_id": incident.trace_id,
        "lane": incident.lane.name,
        "opened_at": incident.opened_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "alerts": [_alert(a) for a in shown],
        "truncated_alerts": more,
        "analysis": {
            "status": analysis.status,
            "label": analysis_label(analysis),
            "note": analysis_note(analysis),
            "fallback_used": analysis.fallback_used,
            "reason": analysis.reason,
            "follow_up": analysis.follow_up,
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
    return doc


def _alert(a: IncidentAlert) -> dict[str, Any]:
    return {
        "fingerprint": a.fingerprint,
        "name": a.name,
        "status": a.status,
        "severity": a.severity,
        "source": a.source,
        "labels": a.labels,
        "annotations": a.annotations,
        "links": [{"kind": link.kind, "url": link.url} for link in a.links],
    }


def alert_summary(a: IncidentAlert) -> str:
    return a.annotations.get("summary") or a.annotations.get("description") or a.annotations.get("message") or ""


def message_context(analysis: Analysis, delivery_key: str, max_alerts: int | None = None) -> dict[str, Any]:
    """Everything a template may use. Plain data only: the sandbox sees no objects with methods."""
    incident = analysis.incident
    state = incident_state(incident.status)
    shown, more = split_alerts(incident.alerts, max_alerts)
    links: dict[str, str] = {}
    for alert in incident.alerts:
        for link in alert.links:
            if len(links) < MAX_LINKS and link.url not in links:
                links[link.url] = link.kind
    recommendations = sorted(analysis.recommendations, key=lambda r: r.priority)[:TOP_RECOMMENDATIONS]
    summary = analysis.summary or next((alert_summary(a) for a in incident.alerts if alert_summary(a)), "")
    return {
        "delivery_key": delivery_key,
        "update": analysis.follow_up,
        "analysis": {"status": analysis.status, "label": analysis_label(analysis), "provider": analysis.provider,
                     "reason": analysis.reason, "fallback_used": analysis.fallback_used},
        "analysis_note": analysis_note(analysis),
        "incident": {
            "id": incident.incident_id, "version": incident.version, "status": incident.status,
            "reason": incident.reason, "severity": incident.severity, "title": incident.title,
            "lane": incident.lane.name, "trace_id": incident.trace_id,
            "opened_at": incident.opened_at.isoformat(), "updated_at": incident.updated_at.isoformat(),
        },
        "state": state,
        "state_label": STATE_LABELS[state],
        "title_prefix": TITLE_PREFIXES[state],
        "severity_label": incident.severity.upper(),
        "colour": STATE_COLOURS.get(state) or SEVERITY_COLOURS.get(incident.severity, "#607D8B"),
        "summary": summary,
        "probable_cause": analysis.probable_cause,
        "recommendations": [{"priority": r.priority, "title": r.title, "actions": list(r.actions)}
                            for r in recommendations],
        "links": [{"url": url, "kind": kind} for url, kind in links.items()],
        "alerts": [
            {"name": a.name, "status": a.status, "severity": a.severity, "source": a.source,
             "summary": alert_summary(a), "labels": dict(a.labels)}
            for a in shown
        ],
        "alerts_total": len(incident.alerts),
        "more": more,
    }
