"""Creates every topic of the contract and its dead-letter topic, idempotently."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from schemas import topics as contract_topics


def all_topic_names() -> list[str]:
    names = list(contract_topics.ALL_TOPICS)
    return names + [contract_topics.dlq_topic(t) for t in names]


def ensure_topics(
    kafka_conf: dict[str, Any],
    partitions: int,
    replication_factor: int = 1,
    names: list[str] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created now."""
    admin = AdminClient(kafka_conf)
    wanted = names if names is not None else all_topic_names()
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [n for n in wanted if n not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [
            NewTopic(n, num_partitions=partitions, replication_factor=replication_factor)
            for n in missing
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            # Another process created it between our listing and our request: that is fine.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created
