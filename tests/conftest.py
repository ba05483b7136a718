from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from alertstream.config import Settings
from alertstream.embedded import EmbeddedBroker, free_port, start_broker

from . import containers
from .components import (
    Process,
    Receiver,
    key_headers,
    new_api_key,
    pipeline_env,
    receiver,
    spawn,
    test_database,
    wait_ready,
)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("alertstream")


USE_CONTAINERS = os.environ.get("ALERTSTREAM_TEST_CONTAINERS") == "1"


@pytest.fixture(scope="session")
def broker(session_dir: Path) -> Iterator[EmbeddedBroker | containers.ContainerBroker]:
    """One broker for the whole session: embedded Tansu, or Apache Kafka in Docker when asked for."""
    if USE_CONTAINERS:
        with containers.kafka() as kafka:
            yield kafka
        return
    started = start_broker(free_port(), session_dir / "broker.log")
    yield started
    started.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of one test's own (embedded Tansu): no worker of the session consumes its topics."""
    started = start_broker(free_port(), tmp_path / "broker.log")
    yield started
    started.stop()


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> Iterator[str]:
    if USE_CONTAINERS:
        with containers.postgres() as url, test_database(session_dir, base_url=url) as test_url:
            yield test_url
        return
    with test_database(session_dir) as url:
        yield url


@pytest.fixture
def settings(broker: EmbeddedBroker, database_url: str, tmp_path: Path) -> Settings:
    env = pipeline_env(broker.bootstrap, database_url, tmp_path)
    return Settings.from_env(env)


@pytest.fixture
def api_key(database_url: str) -> str:
    """A fresh API key (all paths, all sources) in the session database, for apps built with create_app."""
    return new_api_key(database_url)


@dataclass
class Pipeline:
    base_url: str
    receiver: Receiver
    edge: Process
    worker: Process
    database_url: str
    env: dict[str, str]
    api_key: str = ""  # the session's key: every path, every source

    @property
    def headers(self) -> dict[str, str]:
        """Headers that authenticate to the edge; merge your own over them."""
        return key_headers(self.api_key)

    def post(self, path: str = "/alerts/webhook/", *, json: object = None, headers: dict[str, str] | None = None,
             timeout: float = 15, **kwargs: object) -> httpx.Response:
        """POST to the edge with the session's API key (`content=` for raw bytes works too)."""
        return httpx.post(self.base_url + path, json=json, headers={**self.headers, **(headers or {})},
                          timeout=timeout, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, *, headers: dict[str, str] | None = None, timeout: float = 15,
            **kwargs: object) -> httpx.Response:
        return httpx.get(self.base_url + path, headers={**self.headers, **(headers or {})}, timeout=timeout,
                         **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pipeline(broker: EmbeddedBroker, database_url: str, session_dir: Path) -> Iterator[Pipeline]:
    """The real thing, once per session: edge under uvicorn, one stream worker, a local webhook receiver."""
    with receiver() as sink:
        port = free_port()
        env = pipeline_env(
            broker.bootstrap, database_url, session_dir,
            ALERTSTREAM_PORT=str(port), ALERTSTREAM_WEBHOOK_URL=sink.url, ALERTSTREAM_APP_ID="as-e2e",
            ALERTSTREAM_LOG_LEVEL="INFO",  # the canary test searches these logs: the more they say, the better
            # Every e2e test shares the session key: its operator-API polling must never meet the 600/min default.
            ALERTSTREAM_RATE_LIMITS='{"keys": {"e2e-session": {"/": 1000000}}}',
        )
        key = new_api_key(database_url, name="e2e-session")
        worker = spawn("worker", env, session_dir / "worker.log")
        edge = spawn("edge", env, session_dir / "edge.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base)
            yield Pipeline(base, sink, edge, worker, database_url, env, api_key=key)
        finally:
            edge.stop()
            worker.stop()
            if os.environ.get("ALERTSTREAM_TEST_SHOW_LOGS"):
                print(worker.log())
