"""How each vendor's severity words map onto the PagerDuty Events v2 set
(critical, error, warning, info). One table, so the mapping is visible and
reviewable in one place; unknown words fall back per driver."""

from __future__ import annotations

SEVERITY_TABLE: dict[str, str] = {
    # Prometheus / Alertmanager / Grafana conventions (label `severity`)
    "critical": "critical", "crit": "critical", "fatal": "critical", "emergency": "critical",
    "emerg": "critical", "alert": "critical", "page": "critical", "p1": "critical", "sev1": "critical",
    "disaster": "critical",  # Zabbix
    "high": "error", "error": "error", "err": "error", "major": "error", "p2": "error", "sev2": "error",
    "warning": "warning", "warn": "warning", "average": "warning", "medium": "warning", "minor": "warning",
    "p3": "warning", "sev3": "warning",
    "info": "info", "informational": "info", "information": "info", "notice": "info", "low": "info",
    "ok": "info", "none": "info", "debug": "info", "not classified": "info", "p4": "info", "p5": "info",
    "sev4": "info", "sev5": "info",
}


def map_severity(word: object, default: str = "warning") -> str:
    if not isinstance(word, str):
        return default
    return SEVERITY_TABLE.get(word.strip().lower(), default)
