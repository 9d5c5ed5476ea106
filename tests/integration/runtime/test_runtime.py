"""The runtime's promises over a real broker and Postgres: once in effect, rejections, DLQ."""

from __future__ import annotations

import json

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas import topics
from services.common.settings import Settings
from tests.integration.runtime.helpers import (
    effects,
    issue_command,
    produce,
    read_topic,
    running,
    wait_for,
)
from tests.integration.runtime.toy_service import prepare, toy_spec

pytestmark = pytest.mark.integration


def _values(records: list) -> list[dict]:
    return [json.loads(r.value()) for r in records]


def test_duplicates_and_a_replay_have_one_effect(test_settings: Settings) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    commands = [issue_command(f"INV-{i}") for i in range(50)]
    produce(bootstrap, topics.PAYMENT_COMMANDS, [*commands, *commands[:20], *commands[10:15]])
    with running(toy_spec(), test_settings):
        wait_for(lambda: len(effects(dsn)) == 50, what="50 effects")
    assert set(effects(dsn).values()) == {1}

    # Replay: the group's offsets go back to the start; nothing is applied a second time.
    reset = Consumer({"bootstrap.servers": bootstrap, "group.id": "lunas.toy"})
    reset.commit(
        offsets=[
            TopicPartition(topics.PAYMENT_COMMANDS, p, 0)
            for p in range(test_settings.topic_partitions)
        ],
        asynchronous=False,
    )
    reset.close()
    with psycopg.connect(dsn) as conn:
        before = conn.execute("SELECT count(*) FROM toy.inbox").fetchone()
    with running(toy_spec(), test_settings):
        wait_for(lambda: _committed(bootstrap) >= 75, what="replayed offsets committed")
    assert effects(dsn) == {c["id"]: 1 for c in commands}
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM toy.inbox").fetchone() == before

    events = read_topic(
        bootstrap,
        topics.PAYMENT_EVENTS,
        lambda rs: len({json.loads(r.value())["id"] for r in rs}) >= 50,
    )
    issued = [e for e in _values(events) if e["type"] == "invoice.issued"]
    assert {e["data"]["invoice_no"] for e in issued} == {f"INV-{i}" for i in range(50)}
    assert {e["causationid"] for e in issued} == {c["id"] for c in commands}


def _committed(bootstrap: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "lunas.toy"})
    try:
        parts = [TopicPartition(topics.PAYMENT_COMMANDS, p) for p in range(6)]
        return sum(max(tp.offset, 0) for tp in c.committed(parts, timeout=10))
    finally:
        c.close()


def test_same_id_other_content_is_a_conflict_and_rejections_are_events(
    test_settings: Settings,
) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    first = issue_command("INV-A", msg_id="cmd-1", amount="100.00")
    changed = issue_command("INV-A", msg_id="cmd-1", amount="999.00")
    unlucky = issue_command("INV-B", msg_id="cmd-2", amount="13.13")
    produce(bootstrap, topics.PAYMENT_COMMANDS, [first, changed, changed, unlucky])
    with running(toy_spec(), test_settings):
        records = read_topic(
            bootstrap,
            topics.PAYMENT_EVENTS,
            lambda rs: sum(json.loads(r.value())["type"] == "command.rejected" for r in rs) >= 2,
        )
    assert effects(dsn) == {"cmd-1": 1}
    rejected = {
        (e["data"]["command_id"], e["data"]["code"]): e
        for e in _values(records)
        if e["type"] == "command.rejected"
    }
    assert set(rejected) == {("cmd-1", "conflict"), ("cmd-2", "invalid")}
    assert "unlucky" in rejected[("cmd-2", "invalid")]["data"]["message"]
    assert rejected[("cmd-1", "conflict")]["causationid"] == "cmd-1"


def test_poison_goes_to_the_dlq_and_the_rest_is_applied(test_settings: Settings) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    bad_money = issue_command("INV-F")
    bad_money["data"]["amount"] = 10.5
    unknown = {**issue_command("INV-U"), "type": "invoice.teleport"}
    bug = issue_command("INV-X", customer="BOOM")
    good = [issue_command(f"INV-G{i}") for i in range(5)]
    produce(
        bootstrap,
        topics.PAYMENT_COMMANDS,
        [b"not json at all", bad_money, unknown, bug, *good, b"not json at all"],
    )
    with running(toy_spec(), test_settings):
        wait_for(lambda: len(effects(dsn)) == 5, what="the good messages applied")
        dlq = read_topic(
            bootstrap, topics.dlq_topic(topics.PAYMENT_COMMANDS), lambda rs: len(rs) >= 5
        )
    assert set(effects(dsn)) == {g["id"] for g in good}
    errors = sorted(dict(r.headers())["lunas.error"].decode() for r in dlq)
    assert errors == ["handler_error", "not_json", "not_json", "schema", "unknown_type"]
    for record in dlq:
        headers = dict(record.headers())
        assert headers["lunas.service"] == b"toy"
        assert headers["lunas.original.topic"] == topics.PAYMENT_COMMANDS.encode()
        assert int(headers["lunas.original.offset"]) >= 0
        assert "lunas.original.partition" in headers and headers["lunas.error.detail"]
    schema_error = next(r for r in dlq if dict(r.headers())["lunas.error"] == b"schema")
    assert b"data.amount" in dict(schema_error.headers())["lunas.error.detail"]


def test_a_type_that_does_not_belong_on_the_topic_is_dead_lettered(
    test_settings: Settings,
) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    # An event type on a commands topic: well-formed, but no sender may put it there.
    smuggled = {
        **issue_command("INV-S"),
        "type": "invoice.issued",
        "data": {
            "invoice_no": "INV-S",
            "customer_id": "C",
            "amount": "1.00",
            "outstanding": "1.00",
            "status": "unpaid",
            "issue_date": "2026-11-22",
        },
    }
    smuggled.pop("actor")
    good = issue_command("INV-OK")
    produce(bootstrap, topics.PAYMENT_COMMANDS, [smuggled, good])
    with running(toy_spec(), test_settings):
        wait_for(lambda: len(effects(dsn)) == 1, what="the good message applied")
        (letter,) = read_topic(
            bootstrap, topics.dlq_topic(topics.PAYMENT_COMMANDS), lambda rs: len(rs) >= 1
        )
    assert dict(letter.headers())["lunas.error"] == b"misrouted"
    assert set(effects(dsn)) == {good["id"]}


def test_two_tenants_reusing_a_command_id_get_distinct_events(test_settings: Settings) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    a = issue_command("INV-1", msg_id="cmd-7", tenant="tenant-a")
    b = issue_command("INV-1", msg_id="cmd-7", tenant="tenant-b")
    produce(bootstrap, topics.PAYMENT_COMMANDS, [a, b])
    with running(toy_spec(), test_settings):
        wait_for(lambda: effects(dsn).get("cmd-7") == 2, what="both tenants' commands applied")
        records = read_topic(
            bootstrap,
            topics.PAYMENT_EVENTS,
            lambda rs: len({json.loads(r.value())["id"] for r in rs}) >= 2,
        )
    issued = {e["tenantid"]: e["id"] for e in _values(records) if e["type"] == "invoice.issued"}
    assert set(issued) == {"tenant-a", "tenant-b"}
    assert issued["tenant-a"] != issued["tenant-b"]


def test_a_row_the_broker_refuses_is_parked_and_the_rest_still_flow(
    test_settings: Settings,
) -> None:
    import threading

    from confluent_kafka import Producer
    from psycopg_pool import ConnectionPool

    from services.common.migrations import migrate
    from services.common.runtime.relay import OutboxRelay, RelayConfig
    from services.common.runtime.store import OutboxRow, Store
    from services.common.topics import ensure_topics

    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    migrate(dsn, "toy")
    ensure_topics({"bootstrap.servers": bootstrap}, partitions=2)
    key = b"t1:INV-1"
    rows = [
        OutboxRow(topics.PAYMENT_EVENTS, "too-big", key, b"x" * (3 * 1024 * 1024), ()),
        OutboxRow(topics.PAYMENT_EVENTS, "fine", key, b'{"ok": true}', ()),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        Store("toy").add_outbox(conn, rows)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "message.max.bytes": 2 * 1024 * 1024,
        }
    )
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        relay = OutboxRelay(RelayConfig("toy", "toy"), pool, producer, threading.Event())
        assert relay.publish_once() == 2
        assert relay.publish_once() == 0  # nothing left to try: the refused row is parked
    producer.close()
    with psycopg.connect(dsn) as conn:
        state = dict(
            conn.execute(
                "SELECT event_id, CASE WHEN sent_at IS NOT NULL THEN 'sent'"
                " WHEN parked_at IS NOT NULL THEN 'parked:' || last_error END FROM toy.outbox"
            ).fetchall()
        )
    assert state["fine"] == "sent"
    assert state["too-big"].startswith("parked:") and "size" in state["too-big"].lower()


def test_health_readiness_and_metrics_are_served(test_settings: Settings) -> None:
    import urllib.request

    from services.common.devstack import free_port

    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    port = free_port()
    settings = test_settings.model_copy(update={"metrics_port": port})
    commands = [issue_command(f"INV-M{i}") for i in range(3)]
    produce(bootstrap, topics.PAYMENT_COMMANDS, [*commands, commands[0]])
    from prometheus_client import REGISTRY

    def duplicates() -> float:
        return REGISTRY.get_sample_value("lunas_messages_duplicate_total", {"service": "toy"}) or 0

    before = duplicates()
    with running(toy_spec(), settings):
        wait_for(lambda: len(effects(dsn)) == 3, what="three effects")

        def get(path: str) -> tuple[int, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, r.read().decode()

        assert get("/healthz")[0] == 200
        assert get("/readyz")[0] == 200
        wait_for(lambda: duplicates() == before + 1, what="the duplicate counted")
        body = get("/metrics")[1]
    assert 'lunas_messages_applied_total{service="toy",type="invoice.issue"}' in body
    assert 'lunas_messages_duplicate_total{service="toy"}' in body
    assert "lunas_batch_seconds_bucket" in body
