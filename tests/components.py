"""Real components for the suite: started once per session, torn down at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from alertstream.embedded import free_port, start_postgres, wait_for_port
from alertstream.secrets import generate_key
from alertstream.storage.apikeys import create_key
from alertstream.storage.migrate import migrate

# One sealing key per test session (ALERTSTREAM_SECRET_KEY is required outside dev mode).
TEST_SECRET_KEY = f"test:{generate_key()}"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextmanager
def test_database(tmp: Path, base_url: str | None = None) -> Iterator[str]:
    """A fresh, migrated database: on DATABASE_URL's server when reachable, else embedded PostgreSQL."""
    base = base_url or os.environ.get("DATABASE_URL", "")
    embedded = None
    if not base or not _reachable(base):
        embedded = start_postgres(tmp / "pgdata", database="postgres")
        base = embedded.url
    name = f"alertstream_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = str(psycopg.conninfo.make_conninfo(base, dbname=name))
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP receiver: records every request; answers with the status the test sets."""

    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def matching(self, predicate: Any) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if predicate(r)]

    def wait_for(self, predicate: Any, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.matching(predicate)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                status = state.status
                if 200 <= status < 300:
                    state.requests.append(Received(self.path, dict(self.headers), body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def spawn(command: str, env: dict[str, str], log_path: Path) -> Process:
    out = open(log_path, "wb")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "alertstream", command], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    return Process(proc, log_path)


def pipeline_env(broker: str, database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSTREAM_", "KAFKA_", "DATABASE_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=broker,
        DATABASE_URL=database_url,
        ALERTSTREAM_STATE_DIR=str(tmp),
        ALERTSTREAM_PARTITIONS="3",
        ALERTSTREAM_REBALANCE_TIMEOUT_S="3",
        ALERTSTREAM_SESSION_TIMEOUT_S="6",
        ALERTSTREAM_HEARTBEAT_INTERVAL_S="1",
        ALERTSTREAM_STORAGE_BATCH_SECONDS="0.2",
        ALERTSTREAM_LOG_LEVEL="WARNING",
        ALERTSTREAM_SECRET_KEY=TEST_SECRET_KEY,
    )
    env.update(extra)
    return env


def new_api_key(database_url: str, name: str | None = None, allow: tuple[str, ...] = (),
                sources: tuple[str, ...] = ()) -> str:
    """A fresh API key (the raw `ask_…` value) with a unique name unless one is given."""
    raw, _ = create_key(database_url, name or f"test-{uuid.uuid4().hex[:12]}", allow, sources)
    return raw


def key_headers(raw_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_key}"}


def wait_ready(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"edge at {base_url} not ready within {timeout}s")


__all__ = ["free_port", "wait_for_port"]
