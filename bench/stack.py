"""Bringing up what a benchmark measures: broker, database, Redis, edge, worker, receiver."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from alertstream.config import KafkaSettings
from alertstream.embedded import free_port, start_broker, start_postgres, wait_for_port
from alertstream.storage.migrate import migrate
from alertstream.streams.admin import ensure_topics


@dataclass
class Stack:
    workdir: Path
    bootstrap: str
    database_url: str
    redis_url: str
    env: dict[str, str] = field(default_factory=dict)
    api_key: str = ""
    broker_pid: int = 0


def _reachable_db(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _reachable_redis(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:  # noqa: BLE001  (any failure means: not usable)
        return False


@contextmanager
def stack(partitions: int = 6) -> Iterator[Stack]:
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="alertstream-bench-"))
        cleanup.callback(shutil.rmtree, workdir, True)
        broker = start_broker(free_port(), workdir / "broker.log")
        cleanup.callback(broker.stop)
        base = os.environ.get("DATABASE_URL", "")
        if not base or not _reachable_db(base):
            embedded = start_postgres(workdir / "pgdata", database="postgres")
            cleanup.callback(embedded.stop)
            base = embedded.url
        name = f"alertstream_bench_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = str(psycopg.conninfo.make_conninfo(base, dbname=name))

        def drop() -> None:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        cleanup.callback(drop)
        migrate(url)
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if not _reachable_redis(redis_url):
            redis_url = ""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_", "DATABASE_"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, DATABASE_URL=url, ALERTSTREAM_STATE_DIR=str(workdir),
            ALERTSTREAM_PARTITIONS=str(partitions), ALERTSTREAM_REBALANCE_TIMEOUT_S="3",
            ALERTSTREAM_SESSION_TIMEOUT_S="6", ALERTSTREAM_HEARTBEAT_INTERVAL_S="1", ALERTSTREAM_LOG_LEVEL="WARNING",
            # Limits far above the offered load: the bench measures the path, not the limiter's refusals.
            ALERTSTREAM_RATE_LIMITS='{"prefixes": {"/alerts/": 100000000}}',
        )
        if redis_url:
            env["REDIS_URL"] = redis_url
        ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=partitions))
        found = Stack(workdir, broker.bootstrap, url, redis_url, env, broker_pid=broker.process.pid)
        found.api_key = _create_key(env)
        yield found


def _create_key(env: dict[str, str]) -> str:
    """A key for the production path, when this build has API keys (`alertstream keys create`)."""
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "alertstream", "keys", "create", "--name", "bench"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    match = re.search(r"\bask_[0-9a-f]{40}\b", out.stdout)
    return match.group(0) if out.returncode == 0 and match else ""


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def uvicorn_app(target: str, env: dict[str, str], log: Path) -> Server:
    """The same uvicorn settings for every app measured: one process, uvloop + httptools, no access log."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    try:
        wait_for_port("127.0.0.1", port, 30, target)
    except RuntimeError:
        proc.kill()  # never leave a half-started server behind
        raise RuntimeError(f"{target} did not start; its log: {log}") from None
    return Server(proc, port)


def alertstream_process(command: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "alertstream", command, *args], env=env, stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")
