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


# Words that mean something else for one vendor, or that only one vendor sends. Looked up
# before SEVERITY_TABLE, and only for that vendor.
VENDOR_SEVERITY: dict[str, dict[str, str]] = {
    # Urgency. PagerDuty's dynamic notifications page high for critical/error, low for warning/info.
    "pagerduty": {"high": "error", "low": "warning"},
    # $ALERT_TYPE; "success" is the recovery notification.
    "datadog": {"success": "info"},
    # {EVENT.NSEVERITY}: 0 Not classified, 1 Information, 2 Warning, 3 Average, 4 High, 5 Disaster.
    "zabbix": {"0": "info", "1": "info", "2": "warning", "3": "warning", "4": "error", "5": "critical"},
    # alertstream's own host agents: the check's status.
    "cluster": {"ok": "info", "warning": "warning", "critical": "critical", "unknown": "info"},
}


def map_severity(word: object, default: str = "warning", vendor: str = "") -> str:
    if isinstance(word, bool) or not isinstance(word, (str, int)):
        return default
    key = str(word).strip().lower()
    return VENDOR_SEVERITY.get(vendor, {}).get(key) or SEVERITY_TABLE.get(key, default)
