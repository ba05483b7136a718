"""Settings, read once from the environment in main() and passed down.

Nothing here runs at import time; `Settings.from_env(os.environ)` is called by
the CLI. Every variable is listed with its default in README.md (a test checks).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = 6
    replication_factor: int = 1
    publish_timeout_ms: int = 5000
    linger_ms: int = 2

    def producer_config(self) -> dict[str, object]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": self.linger_ms,
            # After this a record counts as failed and the edge answers 503.
            "message.timeout.ms": self.publish_timeout_ms,
            "socket.connection.setup.timeout.ms": min(self.publish_timeout_ms, 3000),
        }


@dataclass(frozen=True)
class EdgeSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 1024 * 1024
    max_alerts_per_request: int = 1000
    auth_policies_path: str = ""  # JSON file of per-source authentication (ingest/auth/policy.py)


@dataclass(frozen=True)
class WorkerSettings:
    app_id: str = "alertstream"
    data_dir: Path = Path(".alertstream/worker")
    rebalance_timeout_s: float = 30.0
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    web_port: int = 0  # 0 = faust's web server off
    webhook_url: str = ""  # the default channel of the spine's catch-all lane
    webhook_timeout_s: float = 5.0
    analysis_deadline_s: float = 2.0
    storage_batch_size: int = 500
    storage_batch_seconds: float = 0.5


@dataclass(frozen=True)
class Settings:
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    database_url: str = ""
    redis_url: str = ""
    state_dir: Path = Path(".alertstream")
    run_id: str = ""
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        state_dir = Path(env.get("ALERTSTREAM_STATE_DIR", ".alertstream"))
        kafka = KafkaSettings(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            partitions=_int(env, "ALERTSTREAM_PARTITIONS", 6, minimum=1),
            replication_factor=_int(env, "ALERTSTREAM_REPLICATION_FACTOR", 1, minimum=1),
            publish_timeout_ms=_int(env, "ALERTSTREAM_PUBLISH_TIMEOUT_MS", 5000, minimum=100),
            linger_ms=_int(env, "ALERTSTREAM_LINGER_MS", 2),
        )
        edge = EdgeSettings(
            host=env.get("ALERTSTREAM_HOST", "127.0.0.1"),
            port=_int(env, "ALERTSTREAM_PORT", 8080),
            workers=_int(env, "ALERTSTREAM_EDGE_WORKERS", 1, minimum=1),
            max_body_bytes=_int(env, "ALERTSTREAM_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
            max_alerts_per_request=_int(env, "ALERTSTREAM_MAX_ALERTS", 1000, minimum=1),
            auth_policies_path=env.get("ALERTSTREAM_AUTH_POLICIES", ""),
        )
        worker = WorkerSettings(
            app_id=env.get("ALERTSTREAM_APP_ID", "alertstream"),
            data_dir=Path(env.get("ALERTSTREAM_WORKER_DIR", str(state_dir / "worker"))),
            rebalance_timeout_s=_float(env, "ALERTSTREAM_REBALANCE_TIMEOUT_S", 30.0),
            session_timeout_s=_float(env, "ALERTSTREAM_SESSION_TIMEOUT_S", 10.0),
            heartbeat_interval_s=_float(env, "ALERTSTREAM_HEARTBEAT_INTERVAL_S", 3.0),
            web_port=_int(env, "ALERTSTREAM_WORKER_WEB_PORT", 0),
            webhook_url=env.get("ALERTSTREAM_WEBHOOK_URL", ""),
            webhook_timeout_s=_float(env, "ALERTSTREAM_WEBHOOK_TIMEOUT_S", 5.0),
            analysis_deadline_s=_float(env, "ALERTSTREAM_ANALYSIS_DEADLINE_S", 2.0),
            storage_batch_size=_int(env, "ALERTSTREAM_STORAGE_BATCH_SIZE", 500, minimum=1),
            storage_batch_seconds=_float(env, "ALERTSTREAM_STORAGE_BATCH_SECONDS", 0.5),
        )
        return cls(
            kafka=kafka,
            edge=edge,
            worker=worker,
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            state_dir=state_dir,
            run_id=env.get("ALERTSTREAM_RUN_ID", "") or f"{socket.gethostname()}-{os.getpid()}",
            log_level=env.get("ALERTSTREAM_LOG_LEVEL", "INFO").upper(),
        )
