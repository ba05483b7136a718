"""The `local` analysis provider: deterministic rules over the incident's alert data,
no network, and nothing read from the machine it runs on."""

from __future__ import annotations

from dataclasses import dataclass

from alertstream.schemas.records import IncidentEvent, Recommendation

NAME = "local"

# (category, keywords looked for in alert names, labels and annotations), first match wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("certificate", ("cert", "tls", "ssl", "x509")),
    ("memory", ("memory", "oom", "heap", "swap", "mem_")),
    ("disk", ("disk", "filesystem", "volume", "inode", "storage", "fs_")),
    ("cpu", ("cpu", "load", "throttl")),
    ("latency", ("latency", "slow", "duration", "response_time")),
    ("error-rate", ("error", "5xx", "failure", "exception")),
    ("network", ("network", "packet", "dns", "connect", "unreachable")),
    ("process", ("process", "crash", "restart", "oomkill", "daemon")),
    ("availability", ("down", "unavailable", "health", "probe", "up")),
)

ACTIONS: dict[str, list[str]] = {
    "certificate": ["Check the certificate's expiry date", "Renew and deploy the certificate"],
    "memory": ["Find the processes with the largest resident memory", "Check for a leak since the last deploy"],
    "disk": ["Find the largest directories on the volume", "Rotate or delete old logs", "Grow the volume"],
    "cpu": ["Find the processes using the most CPU", "Check for a traffic spike or a runaway job"],
    "latency": ["Compare latency with request volume", "Check slow dependencies (database, upstream APIs)"],
    "error-rate": ["Read the newest error logs", "Check whether a recent deploy correlates"],
    "network": ["Check reachability from a second host", "Check DNS resolution and firewall changes"],
    "process": ["Check the service's status and last exit code", "Read its logs around the alert start"],
    "availability": ["Check the service's health endpoint", "Check the last deploy and roll back if needed"],
    "general": ["Open the alert's dashboard and runbook", "Check what changed recently"],
}


@dataclass(frozen=True)
class LocalResult:
    category: str
    summary: str
    probable_cause: str
    confidence: float
    recommendations: list[Recommendation]


def _text(event: IncidentEvent) -> str:
    parts = []
    for alert in event.alerts:
        parts.append(alert.name)
        parts.extend(f"{k}={v}" for k, v in alert.labels.items())
        parts.extend(alert.annotations.values())
    return " ".join(parts).lower()


def analyze(event: IncidentEvent) -> LocalResult:
    text = _text(event)
    matches = [(cat, sum(text.count(word) for word in words)) for cat, words in CATEGORIES]
    category, hits = max(matches, key=lambda m: m[1]) if any(h for _, h in matches) else ("general", 0)
    firing = [a for a in event.alerts if a.status != "resolved"]
    names = sorted({a.name for a in event.alerts})
    summary = (
        f"{event.severity} {category} incident '{event.title}': {len(firing)} of {len(event.alerts)} "
        f"alert(s) active ({', '.join(names)})"
    )
    described = next((a.annotations.get("description") or a.annotations.get("summary") for a in event.alerts
                      if a.annotations.get("description") or a.annotations.get("summary")), "")
    cause = described or f"{category} condition reported by {', '.join(sorted({a.source for a in event.alerts}))}"
    # More independent keyword hits and more corroborating alerts raise confidence; capped below certainty.
    confidence = round(min(0.9, 0.3 + 0.1 * min(hits, 4) + 0.05 * min(len(event.alerts) - 1, 4)), 2)
    recommendations = [
        Recommendation(
            type="investigate" if i == 0 else "mitigate",
            priority=i + 1,
            title=action,
            description=f"{action} for {event.title}.",
            actions=[action],
        )
        for i, action in enumerate(ACTIONS[category])
    ]
    return LocalResult(category, summary, cause, confidence, recommendations)
