"""The embedded (or configured) infrastructure answers over real connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from confluent_kafka import Consumer, Producer

from services.common.migrations import Migration, MigrationError, migrate, migrations_for
from services.common.settings import Settings
from services.common.topics import all_topic_names, ensure_topics

pytestmark = pytest.mark.integration


def test_produce_and_consume_through_a_consumer_group(private_broker: str, infra: Settings) -> None:
    conf = {"bootstrap.servers": private_broker}
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    ensure_topics(conf, partitions=3, names=[topic])
    producer = Producer({**conf, "enable.idempotence": True})
    sent = {f"k{i}".encode(): f"v{i}".encode() for i in range(30)}
    for key, value in sent.items():
        producer.produce(topic, value=value, key=key)
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            **conf,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": infra.kafka_session_timeout_ms,
        }
    )
    consumer.subscribe([topic])
    got: dict[bytes, bytes] = {}
    deadline = time.monotonic() + 30
    try:
        while len(got) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            got[msg.key()] = msg.value()
            consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()
    assert got == sent


def test_topic_bootstrap_is_idempotent(empty_broker: str) -> None:
    conf = {"bootstrap.servers": empty_broker}
    first = ensure_topics(conf, partitions=2)
    assert sorted(first) == sorted(all_topic_names())
    assert "payment.commands.dlq" in first
    assert ensure_topics(conf, partitions=2) == []


def test_migrations_apply_once_and_refuse_edits(fresh_database: str) -> None:
    first = migrate(fresh_database, "payment")
    assert first and first[0] == "runtime/000_runtime.sql"
    assert migrate(fresh_database, "payment") == []
    with psycopg.connect(fresh_database) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'payment'"
            )
        }
    assert {"inbox", "outbox", "schema_migrations"} <= tables
    edited = [Migration(m.name, m.sql_text + "\n-- edited") for m in migrations_for("payment")]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(fresh_database, "payment", edited)


def test_redis_round_trip(redis_client: redis.Redis) -> None:
    redis_client.set("lunas:smoke", "ok", ex=30)
    assert redis_client.get("lunas:smoke") == b"ok"


def test_no_process_outlives_a_killed_parent(tmp_path: Path) -> None:
    """A parent killed with SIGKILL takes its embedded servers with it."""
    script = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from services.common.settings import Settings
        from services.common.devstack import start_devstack
        stack = start_devstack(Settings(data_dir=Path({str(tmp_path)!r})), durable=False)
        print("PIDS", *stack.pids, flush=True)
        sys.stdin.read()
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    line = ""
    while not line.startswith("PIDS"):
        line = proc.stdout.readline()
        assert line, "the stack did not start"
    pids = [int(p) for p in line.split()[1:]]
    assert len(pids) == 3
    assert all(psutil.pid_exists(p) for p in pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
