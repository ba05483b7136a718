"""What the local provider knows: for each category, the usual causes and what an
on-call engineer does about them. Data, not code; `local.py` picks and fills in.

Templates name where the problem is with {host}, {mount}, {ns}, {pod}, {service}
and {evidence}; unknown values read naturally ("the host", "the volume").
`where` limits a step to Kubernetes workloads ("k8s") or plain hosts ("host").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    type: str  # investigate | mitigate | fix | prevent
    title: str
    description: str
    actions: tuple[str, ...]
    where: str = "any"  # any | k8s | host


@dataclass(frozen=True)
class Playbook:
    category: str
    key: str
    when: frozenset[str]  # any of these words selects it; empty: the category's default
    cause: str
    steps: tuple[Step, ...]


def _pb(category: str, key: str, when: str, cause: str, *steps: Step) -> Playbook:
    return Playbook(category, key, frozenset(when.split()), cause, steps)


K8S_EVENTS = Step("investigate", "Read the workload's recent events",
                  "Scheduling, probe and kill events usually name the cause directly.",
                  ("kubectl -n {ns} describe pod {pod}",
                   "kubectl -n {ns} get events --sort-by=.lastTimestamp | tail -30"),
                  "k8s")

PLAYBOOKS: tuple[Playbook, ...] = (
    _pb("certificate", "expired", "expired invalid handshake",
        "The TLS certificate served by {service} on {host} has expired or does not validate{evidence}; "
        "clients refuse the connection.",
        Step("investigate", "Confirm what is being served", "Check the chain and dates the endpoint presents.",
             ("openssl s_client -connect {host}:443 -servername {host} </dev/null"
              " | openssl x509 -noout -dates -issuer",)),
        Step("mitigate", "Deploy a valid certificate now", "Renew, or redeploy the last good certificate.",
             ("certbot renew --cert-name {host} && systemctl reload {service}",
              "kubectl -n {ns} get certificate,certificaterequest")),
        Step("prevent", "Alert earlier on expiry",
             "Warn at 21 and page at 7 days left so renewal failures surface in time.",
             ("Add an expiry check (probe_ssl_earliest_cert_expiry - time() < 21*86400)",))),
    _pb("certificate", "expiring", "",
        "A TLS certificate for {service} on {host} is close to expiry{evidence}; automatic renewal has probably "
        "failed.",
        Step("investigate", "Check expiry and the renewal job", "Find why the automated renewal did not run or failed.",
             ("openssl s_client -connect {host}:443 -servername {host} </dev/null | openssl x509 -noout -enddate",
              "journalctl -u certbot --since -3d | tail -50", "kubectl -n {ns} describe certificate")),
        Step("fix", "Renew and deploy the certificate", "Renew, then reload every service that serves it.",
             ("certbot renew --force-renewal --cert-name {host}", "systemctl reload {service}")),
        Step("prevent", "Make renewal failures visible", "Alert on the renewal job itself, not only on expiry.",
             ("Alert when the last successful renewal is older than 30 days",))),
    _pb("memory", "oom", "oom oomkilled oomkill killed evicted",
        "A process on {host} was killed by the out-of-memory killer{evidence}: its memory limit is too low for its "
        "load, or it leaks.",
        K8S_EVENTS,
        Step("investigate", "Find what was killed and how big it was",
             "The kernel log records the victim and its size.",
             ("dmesg -T | grep -i -A5 'out of memory' | tail -30", "journalctl -k --since -1h | grep -i oom"), "host"),
        Step("mitigate", "Restore headroom", "Raise the limit or add replicas while the cause is found.",
             ("kubectl -n {ns} set resources deployment/{service} --limits=memory=<higher>",), "k8s"),
        Step("fix", "Look for a leak since the last deploy", "Compare memory over time with the deploy history.",
             ("Compare container_memory_working_set_bytes for {service} before and after the last release",))),
    _pb("memory", "swap", "swap swapping",
        "{host} is swapping{evidence}: resident memory exceeds RAM and everything on it slows down.",
        Step("investigate", "Find the largest processes", "Sort by resident memory.",
             ("ps aux --sort=-rss | head -15", "free -m", "vmstat 1 5")),
        Step("mitigate", "Free memory", "Restart or move the largest non-critical process.",
             ("systemctl restart <largest non-critical service>",)),
        Step("prevent", "Size the host for its workload", "Add RAM or spread the workload.", ())),
    _pb("memory", "pressure", "",
        "Memory usage on {host} is high{evidence}; a process is growing (load or a leak) towards its limit.",
        Step("investigate", "Find the processes using the most memory", "Sort by resident memory.",
             ("ps aux --sort=-rss | head -15", "free -m"), "host"),
        Step("investigate", "Find the containers using the most memory", "Compare usage with limits.",
             ("kubectl -n {ns} top pod --sort-by=memory | head -15",), "k8s"),
        Step("fix", "Check for a leak since the last deploy", "Steady growth without more traffic points to a leak.",
             ("Compare memory of {service} before and after the last release",)),
        Step("prevent", "Set limits that match real usage", "Limits and requests from observed peaks.", ())),
    _pb("disk", "inodes", "inode inodes",
        "The filesystem {mount} on {host} is out of inodes{evidence}: millions of small files (sessions, caches, "
        "mail queues) although bytes are free.",
        Step("investigate", "Find the directories with the most files", "Count files per directory.",
             ("df -i {mount}", "find {mount} -xdev -type f | cut -d/ -f2-4 | sort | uniq -c | sort -rn | head")),
        Step("mitigate", "Delete stale small files", "Sessions, temp and cache files are the usual culprits.",
             ("find /tmp -xdev -type f -mtime +7 -delete",)),
        Step("prevent", "Expire small files automatically", "A cleanup timer for the directory that filled up.", ())),
    _pb("disk", "space", "",
        "The filesystem {mount} on {host} is running out of space{evidence}; logs, dumps or data growth are "
        "filling it.",
        Step("investigate", "Find what is using the space", "Largest directories on the same filesystem.",
             ("df -h {mount}", "du -xh --max-depth=2 {mount} 2>/dev/null | sort -rh | head -20"), "host"),
        Step("investigate", "Check the volume claim", "Which claim is full and what writes to it.",
             ("kubectl -n {ns} get pvc", "kubectl -n {ns} exec {pod} -- df -h"), "k8s"),
        Step("mitigate", "Free space now", "Rotate and compress logs, drop old journals and dumps.",
             ("journalctl --vacuum-size=500M", "find /var/log -name '*.gz' -mtime +7 -delete",
              "logrotate -f /etc/logrotate.conf"), "host"),
        Step("fix", "Grow the volume", "If growth is legitimate data, extend the volume or the claim.",
             ("Extend the volume, then: resize2fs <device>  (or xfs_growfs {mount})",))),
    _pb("cpu", "throttling", "throttling throttled",
        "{service} is being CPU-throttled{evidence}: its CPU limit is lower than the work it is given.",
        K8S_EVENTS,
        Step("investigate", "Compare usage with the limit", "Throttling at modest usage means a tight limit.",
             ("kubectl -n {ns} top pod {pod}",), "k8s"),
        Step("mitigate", "Raise the limit or scale out", "More CPU per pod or more pods.",
             ("kubectl -n {ns} scale deployment/{service} --replicas=<n+1>",))),
    _pb("cpu", "saturation", "",
        "CPU on {host} is saturated{evidence}: a traffic spike, a runaway process or a batch job.",
        Step("investigate", "Find the processes using the most CPU", "Sort by CPU and look at load over time.",
             ("top -b -n1 -o %CPU | head -20", "uptime", "pidstat 1 5"), "host"),
        Step("investigate", "Find the pods using the most CPU", "Sort by CPU.",
             ("kubectl -n {ns} top pod --sort-by=cpu | head -15",), "k8s"),
        Step("mitigate", "Stop or move the runaway work", "Pause batch jobs or add capacity.",
             ("Check cron and batch jobs started around the alert time",)),
        Step("prevent", "Autoscale on CPU", "Scale before saturation rather than after.", ())),
    _pb("network", "dns", "dns nxdomain resolve",
        "Name resolution is failing from {host}{evidence}: the resolver, its upstream or a recent DNS change.",
        Step("investigate", "Test resolution from the affected host",
             "Compare the configured resolver with a public one.",
             ("dig {service} +short", "dig @1.1.1.1 {service} +short", "cat /etc/resolv.conf")),
        Step("investigate", "Check the cluster resolver", "CoreDNS errors and restarts.",
             ("kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50",), "k8s"),
        Step("fix", "Revert the recent DNS change", "Check record and zone changes made today.", ())),
    _pb("network", "connectivity", "",
        "Network connectivity from {host} is degraded{evidence}: packet loss, refused connections or an "
        "unreachable peer.",
        Step("investigate", "Check reachability from two places", "Tell a local fault from a remote one.",
             ("mtr -rwc 20 <peer>", "ss -s", "ip -s link")),
        Step("investigate", "Check recent firewall and routing changes", "Security groups, policies and routes.",
             ("iptables -S | head -50", "kubectl -n {ns} get networkpolicy")),
        Step("mitigate", "Fail over or route around the bad path", "Drain the affected node or zone.", ())),
    _pb("process", "crashloop", "crashloop crashloopbackoff crashlooping backoff",
        "{pod} in {ns} is crash-looping{evidence}: it exits on start (bad config, missing dependency or a bug in "
        "the new version).",
        Step("investigate", "Read the crashed container's logs", "The last lines before the exit name the cause.",
             ("kubectl -n {ns} logs {pod} --previous --tail=100", "kubectl -n {ns} describe pod {pod}")),
        Step("mitigate", "Roll back if a deploy preceded it", "Restore the last version that ran.",
             ("kubectl -n {ns} rollout undo deployment/{service}",)),
        Step("fix", "Fix the configuration or dependency", "Check config maps, secrets and the services it needs.",
             ())),
    _pb("process", "restarts", "",
        "{service} on {host} keeps stopping or restarting{evidence}: it crashes, is killed, or fails its start.",
        Step("investigate", "Check the service's status and last exit", "Exit code and the log around it.",
             ("systemctl status {service}", "journalctl -u {service} --since -1h | tail -100"), "host"),
        K8S_EVENTS,
        Step("mitigate", "Restart it cleanly", "Restart once and watch whether it stays up.",
             ("systemctl restart {service}",), "host"),
        Step("fix", "Fix what made it exit", "A core dump, a panic or an OOM kill is in the log.", ())),
    _pb("availability", "down", "",
        "{service} on {host} is not answering{evidence}: the process is down, the host is down, or its health "
        "check fails.",
        Step("investigate", "Check the endpoint and the host", "Does the host answer, does the service listen?",
             ("curl -sS -m 5 -o /dev/null -w '%{{http_code}}\\n' http://{host}/healthz", "ping -c 3 {host}",
              "systemctl status {service}")),
        K8S_EVENTS,
        Step("mitigate", "Restore service", "Restart it, fail over, or roll back the last deploy.",
             ("kubectl -n {ns} rollout undo deployment/{service}", "systemctl restart {service}")),
        Step("prevent", "Add redundancy", "A single instance cannot survive its own restart.", ())),
    _pb("latency", "latency", "",
        "Requests to {service} are slow{evidence}: a slow dependency (database, upstream API), saturation or "
        "lock contention.",
        Step("investigate", "Compare latency with load", "Latency up with traffic means capacity; alone, a dependency.",
             ("Plot request rate and p99 latency of {service} for the last 3 hours",)),
        Step("investigate", "Check slow dependencies", "Slow queries and upstream timings.",
             ("SELECT query, calls, mean_exec_time FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;",)),
        Step("mitigate", "Shed or spread load", "Scale out, or disable expensive non-critical features.",
             ("kubectl -n {ns} scale deployment/{service} --replicas=<n+1>",))),
    _pb("error-rate", "errors", "",
        "{service} is returning errors{evidence}: usually a bad deploy, a failing dependency or bad input.",
        Step("investigate", "Read the newest errors", "Group by message to find the dominant one.",
             ("kubectl -n {ns} logs deploy/{service} --since=15m | grep -i error | sort | uniq -c | sort -rn | head",
              "journalctl -u {service} --since -15m -p err")),
        Step("mitigate", "Roll back if a deploy correlates", "Errors starting at a release point to it.",
             ("kubectl -n {ns} rollout history deployment/{service}",
              "kubectl -n {ns} rollout undo deployment/{service}")),
        Step("fix", "Check the dependencies it calls", "Database, queues and upstream APIs it depends on.", ())),
    _pb("general", "general", "",
        "{service} on {host} reported a problem{evidence}; the alert data does not point at a specific resource.",
        Step("investigate", "Open the alert's dashboard and runbook", "Start from the links on the alert.", ()),
        Step("investigate", "Check what changed recently",
             "Deploys, config and infrastructure changes in the last hours.",
             ("kubectl -n {ns} rollout history deployment/{service}",), "k8s"),
        Step("mitigate", "Roll back the latest change if it correlates", "Changes are the most common cause.", ())),
)


def choose(category: str, words: set[str]) -> Playbook:
    """The category's first playbook whose trigger words appear, else its default (empty trigger)."""
    candidates = [p for p in PLAYBOOKS if p.category == category] or [p for p in PLAYBOOKS if p.category == "general"]
    for playbook in candidates:
        if playbook.when & words:
            return playbook
    return next(p for p in candidates if not p.when)
