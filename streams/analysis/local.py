"""The `local` analysis provider: deterministic rules over the incident's alert data.

No network, and nothing read from the machine it runs on (that is the analysis
worker, not the machine that alerted): every fact comes from the alerts' names,
labels, annotations and checker metrics. Pure: the same incident always gets
the same analysis, so it is also the fallback when a model fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from alertstream.schemas.records import IncidentAlert, IncidentEvent, Recommendation

from . import playbooks
from .classify import Classification, all_words, classify, metrics
from .contract import AnalysisOutput

NAME = "local"
LocalResult = AnalysisOutput  # the spine's name for it

_HOST_LABELS = ("hostname", "host", "node", "instance", "instance_id")
_MOUNT_LABELS = ("mountpoint", "mount", "path", "device")
_SERVICE_LABELS = ("service", "app", "deployment", "container", "job", "check")
# Type order by urgency: a critical incident is mitigated first, anything else understood first.
_URGENT = {"mitigate": 0, "investigate": 1, "fix": 2, "prevent": 3}
_CALM = {"investigate": 0, "mitigate": 1, "fix": 2, "prevent": 3}


class _Defaults(dict[str, str]):
    def __init__(self, values: Mapping[str, str], fallback: Mapping[str, str]) -> None:
        super().__init__({k: v for k, v in values.items() if v})
        self.fallback = fallback

    def __missing__(self, key: str) -> str:
        return self.fallback.get(key, "")


_PROSE = {"host": "the host", "mount": "the volume", "ns": "its namespace", "pod": "the pod",
          "service": "the service", "evidence": ""}
_SHELL = {"host": "<host>", "mount": "<mount>", "ns": "<namespace>", "pod": "<pod>", "service": "<service>",
          "evidence": ""}


def _first(alerts: list[IncidentAlert], keys: tuple[str, ...]) -> str:
    for key in keys:
        for alert in alerts:
            value = alert.labels.get(key, "")
            if value:
                return value
    return ""


def _host(value: str) -> str:
    """`api-2:9100` -> api-2 (Prometheus `instance`), `https://shop.example.com/x` -> shop.example.com."""
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    return value.split(":", 1)[0] if value.count(":") == 1 else value


def _where(event: IncidentEvent) -> dict[str, str]:
    alerts = [a for a in event.alerts if a.status != "resolved"] or list(event.alerts)
    host = _host(_first(alerts, _HOST_LABELS))
    mount = _first(alerts, _MOUNT_LABELS)
    return {
        "host": host,
        "mount": mount if mount.startswith("/") else "",
        "ns": _first(alerts, ("namespace",)),
        "pod": _first(alerts, ("pod", "pod_name")),
        "service": _first(alerts, _SERVICE_LABELS),
    }


def _evidence(event: IncidentEvent, category: str) -> tuple[str, bool]:
    """' (used_pct=91.5)' from the checker metrics of the firing alerts that are about the category."""
    found: dict[str, float] = {}
    for alert in event.alerts:
        if alert.status != "resolved" and classify_one(alert, event) == category:
            found.update(metrics(dataclasses.replace(event, alerts=[alert])))
    if not found:
        return "", False
    shown = ", ".join(f"{k}={v:g}" for k, v in list(found.items())[:3])
    return f" ({shown})", True


def _alert_statement(event: IncidentEvent) -> str:
    for alert in event.alerts:
        for key in ("description", "summary", "message"):
            text = alert.annotations.get(key, "").strip()
            if text:
                return text if len(text) <= 240 else text[:239].rstrip() + "…"
    return ""


def _recommendations(
    playbook: playbooks.Playbook, where: dict[str, str], k8s: bool, urgent: bool
) -> list[Recommendation]:
    shell = _Defaults(where, _SHELL)
    steps = [s for s in playbook.steps if s.where == "any" or (s.where == "k8s") == k8s]
    rank = _URGENT if urgent else _CALM
    steps.sort(key=lambda s: rank[s.type])  # stable: the playbook's order within a type
    return [
        Recommendation(
            type=step.type,
            priority=min(i + 1, 5),
            title=step.title,
            description=step.description,
            actions=[action.format_map(shell) for action in step.actions if _fits(action, k8s)],
        )
        for i, step in enumerate(steps)
    ]


def _fits(action: str, k8s: bool) -> bool:
    """kubectl only for Kubernetes workloads; service-manager commands only for plain hosts."""
    if action.startswith("kubectl"):
        return k8s
    return not (k8s and action.startswith(("systemctl", "journalctl -u")))


def _confidence(event: IncidentEvent, c: Classification, specific: bool, measured: bool) -> float:
    """From the evidence, never a constant: how clearly one category won, how strongly, whether a
    specific cause and a measurement support it, and how many firing alerts agree."""
    firing = [a for a in event.alerts if a.status != "resolved"]
    if c.category == "general":
        return round(min(0.3, 0.15 + 0.05 * len(firing)), 2)
    score = 0.3 + 0.3 * c.margin
    score += 0.05 if c.scores[c.category] >= 6 else 0.0
    score += 0.1 if specific else 0.0
    score += 0.1 if measured else 0.0
    agreeing = sum(1 for a in firing if classify_one(a, event) == c.category)
    score += 0.05 * min(max(agreeing - 1, 0), 2)
    return round(min(score, 0.9), 2)


def classify_one(alert: IncidentAlert, event: IncidentEvent) -> str:
    return classify(dataclasses.replace(event, alerts=[alert])).category


def analyze(event: IncidentEvent) -> AnalysisOutput:
    c = classify(event)
    playbook = playbooks.choose(c.category, all_words(event))
    where = _where(event)
    k8s = bool(where["pod"] or where["ns"])
    evidence, measured = _evidence(event, c.category)
    cause = playbook.cause.format_map(_Defaults({**where, "evidence": evidence}, _PROSE))
    cause = cause[0].upper() + cause[1:]
    statement = _alert_statement(event)
    if statement:
        cause += f" The alert reports: {statement}"
    firing = [a for a in event.alerts if a.status != "resolved"]
    hosts = sorted({h for a in firing if (h := _host(_first([a], _HOST_LABELS)))})
    on = f" on {', '.join(hosts[:3])}{' and others' if len(hosts) > 3 else ''}" if hosts else ""
    state = f"{len(firing)} of {len(event.alerts)} alert(s) firing" if firing else "all alerts resolved"
    summary = f"{event.severity.capitalize()} {c.category} incident '{event.title}': {state}{on}."
    urgent = event.severity == "critical" and bool(firing)
    return AnalysisOutput(
        category=c.category,
        summary=summary,
        probable_cause=cause,
        confidence=_confidence(event, c, bool(playbook.when), measured),
        recommendations=_recommendations(playbook, where, k8s, urgent),
    )
