"""One question both of our producers ask the broker: are you there?"""

from __future__ import annotations

from confluent_kafka import KafkaException, Producer


def answers(producer: Producer, timeout: float) -> bool:
    """Blocking metadata request (run it in a thread). It also fetches a fresh idempotent
    producer's id, which its first delivery would otherwise wait ~500 ms for."""
    try:
        producer.list_topics(timeout=timeout)
        return True
    except KafkaException:
        return False
