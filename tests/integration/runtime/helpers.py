"""Producing commands and reading topics in runtime tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from services.common.runtime.service import ServiceProcess, ServiceWiring
from services.common.settings import Settings
from tests.fixtures.producers import shared_producer


def issue_command(
    invoice_no: str,
    *,
    msg_id: str | None = None,
    amount: str = "100.00",
    customer: str = "CUST-1",
    tenant: str = "t1",
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": msg_id or str(uuid.uuid4()),
        "type": "invoice.issue",
        "source": "/billing/test",
        "time": "2026-11-22T10:00:00Z",
        "subject": invoice_no,
        "tenantid": tenant,
        "actor": "system:billing",
        "data": {
            "invoice_no": invoice_no,
            "customer_id": customer,
            "amount": amount,
            "issue_date": "2026-11-22",
        },
    }


def produce(bootstrap: str, topic: str, messages: list[dict[str, Any] | bytes]) -> None:
    producer = shared_producer(bootstrap)
    for m in messages:
        if isinstance(m, bytes):
            producer.produce(topic, value=m, key=b"t1:garbage")
        else:
            producer.produce(
                topic,
                value=json.dumps(m).encode(),
                key=f"{m['tenantid']}:{m['subject']}".encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
    assert producer.flush(30) == 0


def read_topic(
    bootstrap: str, topic: str, until: Callable[[list[Any]], bool], timeout: float = 60
) -> list[Any]:
    """Read ``topic`` from the start until ``until(records)`` holds; return the records.

    Partitions are assigned, not subscribed: a reader needs no group, and a group join on a
    loaded machine is the slowest, least predictable step of a test.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    deadline = time.monotonic() + timeout
    partitions: list[int] = []
    while not partitions and time.monotonic() < deadline:
        meta = consumer.list_topics(topic, timeout=5).topics.get(topic)
        partitions = sorted(meta.partitions) if meta is not None and not meta.error else []
        if not partitions:
            time.sleep(0.2)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Any] = []
    try:
        while time.monotonic() < deadline and not until(records):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                records.append(msg)
    finally:
        consumer.close()
    return records


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # a predicate is one cheap query: asking often costs little
    raise AssertionError(f"timed out waiting for {what}")


def effects(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT message_id, count(*) FROM public.toy_effects GROUP BY message_id"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


@contextmanager
def running(spec: ServiceWiring[Any], settings: Settings) -> Iterator[ServiceProcess]:
    """The service in a thread of this process; stopped (batch finished, outbox drained) on exit."""
    process = ServiceProcess(spec, settings)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            process.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield process
    finally:
        process.stop.set()
        thread.join(60)
        assert not thread.is_alive(), "service did not stop within 60s"
        if errors:
            raise errors[0]


ROOT = Path(__file__).resolve().parents[3]


def start_process(
    settings: Settings, module: str, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """``python -m module`` as its own process, configured only by ``LUNAS_*`` variables from
    ``settings`` (and ``env``, names without the prefix), its output appended to ``log``."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    variables.update(
        {
            "LUNAS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "LUNAS_DATABASE_URL": settings.database_dsn(),
            "LUNAS_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
            "LUNAS_LOG_LEVEL": "WARNING",
            **{f"LUNAS_{name.upper()}": value for name, value in env.items()},
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=variables,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
