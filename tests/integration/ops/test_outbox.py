"""``lunas outbox list|show|retry`` and ``verify`` on parked rows, with a real relay sending a
retried row to the real broker."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from confluent_kafka import Producer
from psycopg_pool import ConnectionPool

from schemas import topics
from services.common.migrations import migrate_all
from services.common.runtime.relay import OutboxRelay, RelayConfig
from services.common.settings import Settings
from tests.integration.ops.helpers import create_topics, lunas, lunas_json, read_all

pytestmark = pytest.mark.integration

EVENT = {"specversion": "1.0", "id": "ev-parked-1", "type": "invoice.voided"}


@pytest.fixture
def parked(test_settings: Settings) -> tuple[Settings, int]:
    migrate_all(test_settings.database_dsn())
    create_topics(test_settings)
    with psycopg.connect(test_settings.database_dsn(), autocommit=True) as conn:
        conn.execute("TRUNCATE payment.outbox")
        row = conn.execute(
            "INSERT INTO payment.outbox (topic, event_id, msg_key, msg_value, shard, parked_at,"
            " attempts, last_error) VALUES (%s, 'ev-parked-1', 't1:INV-9', %s, 0, now(), 1,"
            " 'Broker: Topic authorization failed') RETURNING seq",
            (topics.PAYMENT_EVENTS, json.dumps(EVENT).encode()),
        ).fetchone()
        conn.execute(
            "INSERT INTO payment.outbox (topic, event_id, msg_key, msg_value, shard)"
            " VALUES (%s, 'ev-unsent-1', 't1:INV-8', '{}', 0)",
            (topics.PAYMENT_EVENTS,),
        )
    assert row is not None
    return test_settings, int(row[0])


def test_parked_rows_are_listed_shown_and_fail_verify(parked: tuple[Settings, int]) -> None:
    settings, seq = parked
    rows = lunas_json(settings, "outbox", "list", "--service", "payment")
    assert [(r["event_id"], r["state"]) for r in rows] == [
        ("ev-parked-1", "parked"),
        ("ev-unsent-1", "unsent"),
    ]
    only = lunas_json(settings, "outbox", "list", "--state", "parked")
    assert [r["seq"] for r in only] == [seq]
    shown = lunas_json(settings, "outbox", "show", str(seq), "--service", "payment")
    assert shown["value"] == EVENT and shown["key"] == "t1:INV-9"
    assert "authorization" in shown["last_error"]

    result = lunas(settings, "verify")
    assert result.exit_code == 1
    assert "1 outbox row(s) parked" in result.output and "lunas outbox retry" in result.output


def test_a_retried_row_is_published_by_the_relay(parked: tuple[Settings, int]) -> None:
    settings, seq = parked
    bootstrap = settings.kafka_bootstrap_servers
    assert bootstrap
    missing = lunas(settings, "outbox", "retry", "--service", "payment", str(seq + 1000))
    assert missing.exit_code == 0 and "not parked" in missing.output
    assert lunas(settings, "outbox", "retry", "--service", "payment").exit_code == 2

    done = lunas_json(settings, "outbox", "retry", "--service", "payment", str(seq))
    assert done == {"service": "payment", "retried": [seq]}

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    dsn = settings.database_dsn()
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        relay = OutboxRelay(RelayConfig("payment", "payment"), pool, producer, threading.Event())
        assert relay.publish_once(grace_s=0) == 2
    producer.close()
    published = [json.loads(r.value) for r in read_all(bootstrap, topics.PAYMENT_EVENTS)]
    assert EVENT in published
    assert lunas_json(settings, "outbox", "list") == []
    assert "parked" not in lunas(settings, "verify").output
