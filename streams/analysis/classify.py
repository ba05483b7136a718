"""Which kind of problem an incident is, from its alert data alone. Pure.

Words are taken from alert names (split on camelCase, `_`, `-`, `.`), the
values of descriptive labels, free-text annotations and the names of checker
metrics (`metric.<name>` annotations from our host agents). Matching whole
words, not substrings, keeps `up` out of `backup` and `load` out of `upload`.
Where a word appears weighs as much as what it is: an alert's name or metric
says more than a sentence in its description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from alertstream.schemas.records import IncidentAlert, IncidentEvent

# (category, strong words, weak words). Ties break in this order, most specific first.
KEYWORDS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    ("certificate", frozenset({"cert", "certs", "certificate", "certificates", "tls", "ssl", "x509"}),
     frozenset({"expiry", "expiring", "expires", "expired", "handshake", "ca"})),
    ("memory", frozenset({"memory", "mem", "oom", "oomkilled", "oomkill", "heap", "swap", "rss", "leak",
                          "swapping", "memorypressure"}),
     frozenset({"gc", "allocation", "allocations", "working", "evicted", "ram"})),
    ("disk", frozenset({"disk", "disks", "filesystem", "filesystems", "fs", "inode", "inodes", "volume",
                        "volumes", "pvc", "mount", "mountpoint", "diskspace", "iops", "persistentvolume"}),
     frozenset({"storage", "space", "full", "free", "readonly", "io", "avail", "partition"})),
    ("cpu", frozenset({"cpu", "cpus", "throttling", "throttled", "loadavg", "steal", "iowait", "load1", "load5",
                       "load15", "cores", "cpuusage"}),
     frozenset({"load", "saturation", "usage", "utilization", "busy"})),
    ("network", frozenset({"network", "net", "packet", "packets", "dns", "nxdomain", "unreachable", "bandwidth",
                           "tcp", "udp", "retransmit", "retransmits", "nic", "interface", "conntrack",
                           "connectivity", "ping", "icmp", "bgp", "vpn", "resolve"}),
     frozenset({"connection", "connections", "connect", "refused", "reset", "link", "loss", "dropped", "drops",
                "timeout", "timeouts"})),
    ("process", frozenset({"process", "processes", "crash", "crashed", "crashloop", "crashloopbackoff",
                           "crashlooping", "restart", "restarts", "restarting", "daemon", "segfault", "panic",
                           "systemd", "supervisor", "zombie", "exited", "killed", "pid"}),
     frozenset({"exit", "terminated", "running", "stopped", "backoff"})),
    ("availability", frozenset({"down", "unavailable", "unhealthy", "outage", "probe", "healthcheck",
                                "unreachable", "absent", "replicas", "availability", "uptime", "blackbox"}),
     frozenset({"health", "offline", "nodata", "heartbeat", "missing", "target", "failed", "up"})),
    ("latency", frozenset({"latency", "slow", "p99", "p95", "p90", "duration", "apdex", "responsetime",
                           "slowness", "lag"}),
     frozenset({"response", "time", "seconds", "ms", "queue", "wait", "delay"})),
    ("error-rate", frozenset({"error", "errors", "5xx", "500", "502", "503", "504", "exception", "exceptions",
                              "errorrate", "failure", "failures", "faults"}),
     frozenset({"failed", "failing", "rate", "ratio", "4xx", "status"})),
)
ORDER = {category: i for i, (category, _, _) in enumerate(KEYWORDS)}

# Labels that name where, not what: their values are host or pod names, never evidence.
IDENTITY_LABELS = frozenset({
    "instance", "instance_id", "host", "hostname", "node", "pod", "pod_name", "container", "namespace", "cluster",
    "job", "env", "environment", "region", "zone", "datacenter", "team", "owner", "severity", "priority",
    "trigger_id", "monitor_id", "service", "app", "deployment", "statefulset", "daemonset", "mountpoint", "device",
    "fstype", "prometheus", "receiver", "endpoint", "url", "path",
})
TEXT_ANNOTATIONS = ("summary", "description", "message", "subject", "operational_data", "title", "details")
# Labels whose value is a classification in itself: weigh them like a name.
KIND_LABELS = ("check", "alertname", "category", "type", "metric", "alert_type", "reason")

W_NAME, W_KIND, W_METRIC, W_LABEL, W_TEXT = 3.0, 3.0, 3.0, 1.0, 1.0
WEAK = 0.35
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def words(text: str) -> list[str]:
    """`node_filesystem_avail` -> node filesystem avail; `CrashLoopBackOff` -> crash loop back off, and
    also the joined forms crashloopbackoff, crashloop, loopback, backoff (`OOMKilled` -> oomkilled)."""
    found: list[str] = []
    for token in _TOKEN.findall(_URL.sub(" ", text)):  # a link's words (https, host names) are not evidence
        parts = [p for p in _SPLIT.split(_CAMEL.sub(" ", token).lower()) if p]
        found.extend(parts)
        if len(parts) > 1:
            found.append("".join(parts))
            found.extend(a + b for a, b in zip(parts, parts[1:], strict=False) if len(parts) > 2)
    return found


@dataclass(frozen=True)
class Classification:
    category: str
    scores: dict[str, float]
    matched: dict[str, list[str]] = field(default_factory=dict)  # category -> words that matched

    @property
    def margin(self) -> float:
        """How clearly the winner won: its share of all evidence, 0..1."""
        total = sum(self.scores.values())
        return self.scores.get(self.category, 0.0) / total if total else 0.0


def evidence(alert: IncidentAlert) -> Iterable[tuple[str, float]]:
    """(word, weight) pairs from one alert."""
    for word in words(alert.name):
        yield word, W_NAME
    for key, value in alert.labels.items():
        lowered = key.lower()
        if lowered in KIND_LABELS:
            for word in words(value):
                yield word, W_KIND
        elif lowered not in IDENTITY_LABELS and not value.startswith(("http://", "https://")):
            for word in words(f"{key} {value}"):
                yield word, W_LABEL
    for key, value in alert.annotations.items():
        lowered = key.lower()
        if lowered.startswith(("metric.", "value.")):
            for word in words(lowered.split(".", 1)[1]):
                yield word, W_METRIC
        if lowered in TEXT_ANNOTATIONS or lowered.startswith("metric."):
            for word in words(value):
                yield word, W_TEXT


def classify(event: IncidentEvent) -> Classification:
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for alert in event.alerts:
        # A firing alert is the live evidence; a resolved member still says what the incident was about.
        factor = 1.0 if alert.status != "resolved" else 0.5
        for word, weight in evidence(alert):
            for category, strong, weak in KEYWORDS:
                if word in strong:
                    hit = weight * factor
                elif word in weak:
                    hit = weight * factor * WEAK
                else:
                    continue
                scores[category] = scores.get(category, 0.0) + hit
                matched.setdefault(category, [])
                if word not in matched[category]:
                    matched[category].append(word)
    if not scores:
        return Classification("general", {}, {})
    best = max(scores, key=lambda c: (scores[c], -ORDER[c]))
    # Weak words alone (a lone "failed", "usage") are not enough to name a category.
    if scores[best] < 1.0:
        return Classification("general", scores, matched)
    return Classification(best, scores, matched)


def metrics(event: IncidentEvent) -> dict[str, float]:
    """Numeric checker metrics across firing alerts (`metric.used_pct` -> used_pct), last one wins."""
    found: dict[str, float] = {}
    for alert in event.alerts:
        if alert.status == "resolved":
            continue
        for key, value in alert.annotations.items():
            if key.startswith(("metric.", "value.")):
                number = _NUMBER.search(value)
                if number:
                    found[key.split(".", 1)[1].lower()] = float(number.group())
    return found


def all_words(event: IncidentEvent) -> set[str]:
    return {word for alert in event.alerts for word, _ in evidence(alert)}
