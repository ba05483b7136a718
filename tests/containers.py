"""The optional Docker path: ALERTSTREAM_TEST_CONTAINERS=1 runs the same suite against
Apache Kafka and PostgreSQL containers (testcontainers). Never required: without it,
the suite uses the embedded broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class ContainerBroker:
    bootstrap: str

    def stop(self) -> None:  # the container's context manager owns its lifetime
        return None


@contextmanager
def kafka() -> Iterator[ContainerBroker]:
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as container:
        yield ContainerBroker(container.get_bootstrap_server())


@contextmanager
def postgres() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver=None) as container:
        yield container.get_connection_url()
