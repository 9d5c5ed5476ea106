"""Running ``lunas`` commands in-process against a test's broker and database, and reading back."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner, Result

from services.common.runtime.records import Record
from services.common.settings import Settings
from services.common.topics import ensure_topics
from services.ops.cli import app


def env_of(settings: Settings) -> dict[str, str]:
    env = {
        "LUNAS_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
        "LUNAS_LOG_LEVEL": "WARNING",
        "LUNAS_LOG_FORMAT": "json",
    }
    if settings.kafka_bootstrap_servers:
        env["LUNAS_KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers
    if settings.database_url is not None:
        env["LUNAS_DATABASE_URL"] = settings.database_url.get_secret_value()
    return env


def lunas(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env_of(settings), input=stdin)


def lunas_json(settings: Settings, *args: str, code: int = 0) -> Any:
    result = lunas(settings, *args, "--json")
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


def create_topics(settings: Settings) -> None:
    ensure_topics(settings.kafka_config(), settings.topic_partitions, 1)


def read_all(bootstrap: str, topic: str, quiet_s: float = 2.0) -> list[Record]:
    """Every record of ``topic``, by assignment, until nothing arrived for ``quiet_s``."""
    parts = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4()}"})
    consumer.assign([TopicPartition(topic, p, 0) for p in parts.topics[topic].partitions])
    found: list[Record] = []
    last = time.monotonic()
    try:
        while time.monotonic() - last < quiet_s:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(Record.of(msg))
                last = time.monotonic()
    finally:
        consumer.close()
    return found


def committed(bootstrap: str, group: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
    finally:
        consumer.close()
    return int(tp.offset)


def commit(bootstrap: str, group: str, topic: str, partition: int, offset: int) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=False)
    finally:
        consumer.close()
