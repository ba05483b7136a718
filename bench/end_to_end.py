"""Bench 2: a fixed offered load for a fixed time through edge -> check -> analyze (local)
-> notify (webhook to a local receiver), with the storage consumer in a process of its own
(`worker --no-store` + `store`). Every alert is new, so each one is notified."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from alertstream.embedded import free_port, wait_for_port

from .cpu import cpu_seconds
from .loadgen import open_loop
from .stack import Stack, alertstream_process, uvicorn_app

GROUP = "alertstream-bench"
STAGE_TOPICS = ("alerts.normalized", "alerts.changes", "incidents.events", "incidents.analyses")
# Read only by the worker's storage consumer, in a group of its own (streams/storage_consumer.py).
STORED_TOPICS = ("audit.refs", "notifications.results")
STORE_GROUP = f"{GROUP}-store"


def lag(bootstrap: str, partitions: int) -> int:
    """Records the worker's group has not committed yet, across the topics it reads."""
    return sum(lag_by_topic(bootstrap, partitions).values())


def lag_by_topic(bootstrap: str, partitions: int) -> dict[str, int]:
    """Each stage topic's uncommitted records: the first stage with a backlog is the one that paces
    the rest (the stages downstream of it can only show what it let through)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-lag-probe"})
    try:
        totals: dict[str, int] = {}
        for group, topics in ((GROUP, STAGE_TOPICS), (STORE_GROUP, STORED_TOPICS)):
            request = [ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t in topics
                                                            for p in range(partitions)])]
            committed = admin.list_consumer_group_offsets(request)[group].result().topic_partitions
            for tp in committed:
                high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=5)[1]
                totals[tp.topic] = totals.get(tp.topic, 0) + max(0, high - max(tp.offset, 0))
        return totals
    finally:
        consumer.close()


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(stack: Stack, *, alerts_per_s: int, duration_s: float, alerts_per_request: int = 10,
        partitions: int = 6, drain_s: float = 60, workers: int = 1) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    port = free_port()
    out = stack.workdir / "arrivals.json"
    env = {**stack.env, "ALERTSTREAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "ALERTSTREAM_APP_ID": GROUP}
    sent: dict[str, float] = {}
    pids: dict[str, list[int]] = {"broker": [stack.broker_pid] if stack.broker_pid else [], "worker": []}
    with ExitStack() as running:  # every process started here is stopped, whatever fails
        receiver = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.receiver", "--port", str(port), "--out", str(out)])
        running.callback(_stop, receiver, signal.SIGTERM)
        pids["receiver"] = [receiver.pid]
        wait_for_port("127.0.0.1", port, 10, "bench receiver")
        for n in range(workers):  # one consumer group: they share the partitions
            worker = alertstream_process("worker", env, stack.workdir / f"worker-{n}.log", "--no-store")
            running.callback(_stop, worker, signal.SIGINT)
            pids["worker"].append(worker.pid)
        # PostgreSQL copies in a process of their own, as streams/storage_consumer.py suggests for a busy host.
        store = alertstream_process("store", env, stack.workdir / "store.log")
        running.callback(_stop, store, signal.SIGTERM)
        pids["store"] = [store.pid]
        edge = uvicorn_app("alertstream.ingest.app:app_from_env", env, stack.workdir / "edge-e2e.log")
        running.callback(edge.stop)
        pids["edge"] = [edge.proc.pid]
        time.sleep(8 + 4 * (workers - 1))  # the workers' group join (rebalance timeout) before load starts
        headers = {"Authorization": f"Bearer {stack.api_key}"} if stack.api_key else {}

        def body(i: int) -> bytes:
            alerts = [{"name": f"E2E-{run_id}-{i}-{j}", "severity": "critical", "labels": {"instance": f"h{j}"}}
                      for j in range(alerts_per_request)]
            return json.dumps({"alerts": alerts}).encode()

        def on_sent(i: int, at: float) -> None:
            for j in range(alerts_per_request):
                sent[f"E2E-{run_id}-{i}-{j}"] = at

        rate = alerts_per_s / alerts_per_request
        cpu_before = cpu_seconds(pids)  # start-up (imports, group join) is not the pipeline's work
        acks = asyncio.run(open_loop("127.0.0.1", edge.port, "/alerts/webhook/", headers, body, rate=rate,
                                     duration_s=duration_s, alerts_per_request=alerts_per_request, on_sent=on_sent))
        load_end = time.time()
        lag_at_end = lag_by_topic(stack.bootstrap, partitions)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and lag(stack.bootstrap, partitions) > 0:
            time.sleep(1)
        time.sleep(1)
        cpu_used = {name: spent - cpu_before.get(name, 0.0) for name, spent in cpu_seconds(pids).items()}
    arrivals = json.loads(out.read_text()) if out.exists() else {}
    latencies = [arrivals[name] - at for name, at in sent.items() if name in arrivals]
    in_window = [name for name, at in sent.items() if name in arrivals and arrivals[name] - at <= 2.0]
    # Sustained: what the pipeline delivered while the load ran (plus the 2 s latency budget), not
    # what it worked off from its backlog afterwards.
    kept_up = [name for name in sent if name in arrivals and arrivals[name] <= load_end + 2.0]
    return {
        "offered_alerts_per_s": alerts_per_s,
        "worker_processes": workers,
        "duration_s": duration_s,
        "alerts_sent": len(sent),
        "alerts_notified": len(latencies),
        "alerts_notified_by_load_end_plus_2s": len(kept_up),
        "sustained_alerts_per_s": round(len(kept_up) / duration_s, 1),
        "notified_within_2s": len(in_window),
        "ack": acks.summary(),
        "e2e_latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "e2e_latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        # Which process pays for each alert: the costs that decide how many cores a rate needs.
        "cpu_ms_per_alert_notified": {name: round(spent / len(latencies) * 1000, 3)
                                      for name, spent in sorted(cpu_used.items())} if latencies else {},
        "lag_at_end_of_load": sum(lag_at_end.values()),
        "lag_at_end_by_topic": lag_at_end,
    }
