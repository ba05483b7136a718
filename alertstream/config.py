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

from alertstream.secrets import Secret


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


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _retention(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    """`alerts.normalized=400d,audit.refs=forever`: a duration (ms, s, m, h, d; bare = ms) or forever/-1."""
    out = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        topic, _, raw = item.partition("=")
        value = raw.strip().lower()
        number, unit = value.rstrip("smhd"), value[len(value.rstrip("smhd")):] or "ms"
        if value in ("forever", "-1"):
            out.append((topic.strip(), -1))
        elif topic.strip() and number.isdigit() and unit in _DURATION_MS:
            out.append((topic.strip(), int(number) * _DURATION_MS[unit]))
        else:
            raise ConfigError(f"{name}: {item!r} must be topic=DURATION (e.g. audit.refs=400d, or forever)")
    return tuple(out)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = 6
    replication_factor: int = 1
    publish_timeout_ms: int = 5000
    linger_ms: int = 2
    topic_retention_ms: tuple[tuple[str, int], ...] = ()  # per-topic overrides of schemas/topics.py (-1: forever)

    def retention_ms(self, topic: str, default: int) -> int:
        return dict(self.topic_retention_ms).get(topic, default)

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
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed (ingest/client_ip.py)
    rate_limits: str = ""  # JSON per-prefix / per-key limits (ingest/middleware/ratelimit.py); "" = defaults
    api_key_cache_s: float = 5.0  # API key snapshot age bound = revocation delay (at most 10)
    agent_overrides_path: str = ""  # JSON file of per-host agent options served at /agents/{id}/config
    console: bool = True  # the web console at /console/ (ingest/console/)
    console_idle_s: float = 3600.0  # a console session unused this long ends
    console_session_s: float = 43200.0  # a console session ends this long after login, used or not


@dataclass(frozen=True)
class WorkerSettings:
    app_id: str = "alertstream"
    data_dir: Path = Path(".alertstream/worker")
    rebalance_timeout_s: float = 30.0
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    web_port: int = 0  # 0 = faust's web server off
    metrics_port: int = 9464  # 0 = no /metrics
    webhook_url: str = ""  # the default channel of the spine's catch-all lane
    webhook_timeout_s: float = 5.0
    analysis_deadline_s: float = 2.0
    storage_batch_size: int = 500
    storage_batch_seconds: float = 0.5
    stage_batch_size: int = 500  # records per batch in the check, analyze and notify agents
    stage_batch_seconds: float = 0.02  # longest wait to fill one (the latency it may add per stage)
    output_linger_ms: int = 50  # the stages' producer: fuller requests, far less broker work per record


@dataclass(frozen=True)
class AgentSettings:
    """`alertstream agent` on a monitored host (alertstream/agent/); flags override these."""

    hub_url: str = ""  # the edge's base URL
    key: Secret[str] = field(default_factory=lambda: Secret(""))  # API key, sent as Authorization: Bearer
    secret: Secret[str] = field(default_factory=lambda: Secret(""))  # whsec_… Standard Webhooks signing secret
    config_path: str = ""  # local options file (alertstream/agent/options.py)


@dataclass(frozen=True)
class CheckSettings:
    """The check stage: correlation, incident lifetimes, lanes, its timer."""

    correlation_labels: tuple[str, ...] = ("alertname",)  # + the first host label present
    reopen_window_s: float = 3600.0
    max_incident_lifetime_s: float = 7 * 24 * 3600.0
    lanes_file: str = ""  # JSON or YAML lanes (streams/lanes.py); "" = the built-in all-clear + catch-all
    tick_s: float = 1.0  # how often the timer looks for held notifications, reminders, ended silences, lane edits


@dataclass(frozen=True)
class NotifySettings:
    """The notify stage: retries through delay topics, the circuit breaker, stored channels."""

    retry_delays_s: tuple[float, float, float] = (30.0, 300.0, 3600.0)  # notify.retry.30s / 5m / 1h
    max_attempts: int = 8
    max_age_s: float = 24 * 3600.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 60.0
    outbound_allow: tuple[str, ...] = ()  # hosts or host:ports channels may reach despite the SSRF guard
    channel_refresh_s: float = 10.0
    secret_key: Secret[str] = field(default_factory=lambda: Secret(""))  # ALERTSTREAM_SECRET_KEY


@dataclass(frozen=True)
class AnalysisSettings:
    """The analyze stage's model providers (streams/analysis/); the deadline is WorkerSettings'."""

    allow: tuple[str, ...] = ()  # hosts or host:ports providers may reach despite the SSRF guard (a local Ollama)
    cache_ttl_s: float = 600.0  # reuse an analysis of the same incident signature this long; 0 = off
    refresh_s: float = 15.0  # how often a worker reloads the active provider


def _delays(env: Mapping[str, str], name: str, default: tuple[float, float, float]) -> tuple[float, float, float]:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be three comma-separated numbers of seconds, got {raw!r}") from None
    if len(values) != 3 or any(v <= 0 for v in values) or list(values) != sorted(values):
        raise ConfigError(f"{name} must be three increasing positive numbers of seconds, got {raw!r}")
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class Settings:
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    database_url: str = ""
    schema_registry_url: str = ""  # set: Confluent wire format, schemas registered (schemas/registry.py)
    redis_url: str = ""
    state_dir: Path = Path(".alertstream")
    run_id: str = ""
    log_level: str = "INFO"
    log_format: str = "text"  # text | json

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
            topic_retention_ms=_retention(env, "ALERTSTREAM_TOPIC_RETENTION"),
        )
        edge = EdgeSettings(
            host=env.get("ALERTSTREAM_HOST", "127.0.0.1"),
            port=_int(env, "ALERTSTREAM_PORT", 8080),
            workers=_int(env, "ALERTSTREAM_EDGE_WORKERS", 1, minimum=1),
            max_body_bytes=_int(env, "ALERTSTREAM_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
            max_alerts_per_request=_int(env, "ALERTSTREAM_MAX_ALERTS", 1000, minimum=1),
            auth_policies_path=env.get("ALERTSTREAM_AUTH_POLICIES", ""),
            trusted_proxies=tuple(c.strip() for c in env.get("ALERTSTREAM_TRUSTED_PROXIES", "").split(",")
                                  if c.strip()),
            rate_limits=env.get("ALERTSTREAM_RATE_LIMITS", ""),
            api_key_cache_s=_float(env, "ALERTSTREAM_API_KEY_CACHE_S", 5.0),
            agent_overrides_path=env.get("ALERTSTREAM_AGENT_OVERRIDES", ""),
            console=_choice(env, "ALERTSTREAM_CONSOLE", ("on", "off")) == "on",
            console_idle_s=_float(env, "ALERTSTREAM_CONSOLE_IDLE_S", 3600.0),
            console_session_s=_float(env, "ALERTSTREAM_CONSOLE_SESSION_S", 43200.0),
        )
        if edge.api_key_cache_s > 10:
            raise ConfigError("ALERTSTREAM_API_KEY_CACHE_S must be at most 10 (it bounds how long a revoked key works)")
        worker = WorkerSettings(
            app_id=env.get("ALERTSTREAM_APP_ID", "alertstream"),
            data_dir=Path(env.get("ALERTSTREAM_WORKER_DIR", str(state_dir / "worker"))),
            rebalance_timeout_s=_float(env, "ALERTSTREAM_REBALANCE_TIMEOUT_S", 30.0),
            session_timeout_s=_float(env, "ALERTSTREAM_SESSION_TIMEOUT_S", 10.0),
            heartbeat_interval_s=_float(env, "ALERTSTREAM_HEARTBEAT_INTERVAL_S", 3.0),
            web_port=_int(env, "ALERTSTREAM_WORKER_WEB_PORT", 0),
            metrics_port=_int(env, "ALERTSTREAM_WORKER_METRICS_PORT", 9464),
            webhook_url=env.get("ALERTSTREAM_WEBHOOK_URL", ""),
            webhook_timeout_s=_float(env, "ALERTSTREAM_WEBHOOK_TIMEOUT_S", 5.0),
            analysis_deadline_s=_float(env, "ALERTSTREAM_ANALYSIS_DEADLINE_S", 2.0),
            storage_batch_size=_int(env, "ALERTSTREAM_STORAGE_BATCH_SIZE", 500, minimum=1),
            storage_batch_seconds=_float(env, "ALERTSTREAM_STORAGE_BATCH_SECONDS", 0.5),
            stage_batch_size=_int(env, "ALERTSTREAM_STAGE_BATCH_SIZE", 500, minimum=1),
            stage_batch_seconds=_float(env, "ALERTSTREAM_STAGE_BATCH_SECONDS", 0.02),
            output_linger_ms=_int(env, "ALERTSTREAM_WORKER_LINGER_MS", 50),
        )
        if worker.stage_batch_seconds <= 0:
            raise ConfigError("ALERTSTREAM_STAGE_BATCH_SECONDS must be above 0 (a batch waits at most this long)")
        notify = NotifySettings(
            retry_delays_s=_delays(env, "ALERTSTREAM_NOTIFY_RETRY_DELAYS_S", (30.0, 300.0, 3600.0)),
            max_attempts=_int(env, "ALERTSTREAM_NOTIFY_MAX_ATTEMPTS", 8, minimum=1),
            max_age_s=_float(env, "ALERTSTREAM_NOTIFY_MAX_AGE_S", 24 * 3600.0),
            breaker_failures=_int(env, "ALERTSTREAM_NOTIFY_BREAKER_FAILURES", 5, minimum=1),
            breaker_cooldown_s=_float(env, "ALERTSTREAM_NOTIFY_BREAKER_COOLDOWN_S", 60.0),
            outbound_allow=tuple(
                e.strip() for e in env.get("ALERTSTREAM_OUTBOUND_ALLOW", "").split(",") if e.strip()
            ),
            channel_refresh_s=_float(env, "ALERTSTREAM_CHANNEL_REFRESH_S", 10.0),
            secret_key=Secret(env.get("ALERTSTREAM_SECRET_KEY", "")),
        )
        return cls(
            kafka=kafka,
            edge=edge,
            worker=worker,
            agent=AgentSettings(
                hub_url=env.get("ALERTSTREAM_AGENT_HUB", ""),
                key=Secret(env.get("ALERTSTREAM_AGENT_KEY", "")),
                secret=Secret(env.get("ALERTSTREAM_AGENT_SECRET", "")),
                config_path=env.get("ALERTSTREAM_AGENT_CONFIG", ""),
            ),
            notify=notify,
            check=CheckSettings(
                correlation_labels=tuple(
                    x.strip() for x in env.get("ALERTSTREAM_CORRELATION_LABELS", "alertname").split(",") if x.strip()
                ),
                reopen_window_s=_float(env, "ALERTSTREAM_REOPEN_WINDOW_S", 3600.0),
                max_incident_lifetime_s=_float(env, "ALERTSTREAM_MAX_INCIDENT_LIFETIME_S", 7 * 24 * 3600.0),
                lanes_file=env.get("ALERTSTREAM_LANES_FILE", ""),
                tick_s=_float(env, "ALERTSTREAM_CHECK_TICK_S", 1.0),
            ),
            analysis=AnalysisSettings(
                allow=tuple(e.strip() for e in env.get("ALERTSTREAM_ANALYSIS_ALLOW", "").split(",") if e.strip()),
                cache_ttl_s=float(_int(env, "ALERTSTREAM_ANALYSIS_CACHE_TTL_S", 600)),
                refresh_s=_float(env, "ALERTSTREAM_ANALYSIS_REFRESH_S", 15.0),
            ),
            database_url=env.get("DATABASE_URL", ""),
            schema_registry_url=env.get("SCHEMA_REGISTRY_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            state_dir=state_dir,
            run_id=env.get("ALERTSTREAM_RUN_ID", "") or f"{socket.gethostname()}-{os.getpid()}",
            log_level=env.get("ALERTSTREAM_LOG_LEVEL", "INFO").upper(),
            log_format=_choice(env, "ALERTSTREAM_LOG_FORMAT", ("text", "json")),
        )
