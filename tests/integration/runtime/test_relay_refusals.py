"""What the relay does when the broker refuses: a topic we may not write is held in order, a
fatal producer stops the process, liveness sees a relay that falls behind.

The outbox is real Postgres. The producer is scripted: the embedded broker has no ACLs and no
way to make an idempotent producer fail fatally, so the broker's answers are played by a
stand-in that calls the delivery callbacks as librdkafka would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from confluent_kafka import KafkaError
from prometheus_client import REGISTRY
from psycopg_pool import ConnectionPool

from services.common.migrations import migrate
from services.common.runtime.fastpath import FastPath, ProducerErrors, ProducerFatal
from services.common.runtime.relay import OutboxRelay, RelayConfig
from services.common.runtime.store import OutboxRow, Store
from services.common.settings import Settings

pytestmark = pytest.mark.integration

Report = Callable[[KafkaError | None, Any], None]


class ScriptedProducer:
    """Answers every record of a topic in ``refuse`` with that error; acknowledges the rest."""

    def __init__(self) -> None:
        self.refuse: dict[str, KafkaError] = {}
        self.sent: list[tuple[str, bytes]] = []
        self._reports: list[tuple[Report, KafkaError | None]] = []

    def produce(self, topic: str, *, value: bytes, key: bytes, headers: Any, on_delivery: Report):
        err = self.refuse.get(topic)
        if err is None:
            self.sent.append((topic, value))
        self._reports.append((on_delivery, err))

    def poll(self, _timeout: float = 0) -> int:
        reports, self._reports = self._reports, []
        for report, err in reports:
            report(err, None)
        return len(reports)

    def flush(self, _timeout: float = 0) -> int:
        self.poll()
        return 0


def _rows(dsn: str, *rows: OutboxRow) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        Store("toy").add_outbox(conn, list(rows))


def _row(topic: str, event_id: str) -> OutboxRow:
    return OutboxRow(topic, event_id, b"t1:K", event_id.encode(), ())


def _state(dsn: str) -> dict[str, tuple[bool, int, str | None]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT event_id, sent_at IS NOT NULL, attempts, last_error FROM toy.outbox"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.fixture
def pool(test_settings: Settings) -> Any:
    dsn = test_settings.database_dsn()
    migrate(dsn, "toy")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE toy.outbox")
    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as opened:
        yield opened


def _gauge(name: str, service: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": service}) or 0.0


def test_an_unwritable_topic_is_held_in_order_while_other_topics_flow(
    test_settings: Settings, pool: Any
) -> None:
    dsn = test_settings.database_dsn()
    producer = ScriptedProducer()
    denied = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed")
    producer.refuse["acl.events"] = denied
    _rows(dsn, _row("acl.events", "a1"), _row("ok.events", "o1"), _row("acl.events", "a2"))
    config = RelayConfig("toy-acl", "toy", hold_base_s=0.3, hold_cap_s=1.0)
    relay = OutboxRelay(config, pool, producer, threading.Event())  # type: ignore[arg-type]

    assert relay.publish_once(grace_s=0) == 3
    assert producer.sent == [("ok.events", b"o1")]
    state = _state(dsn)
    assert state["a1"][:2] == (False, 1) and "authorization" in (state["a1"][2] or "").lower()
    assert _gauge("lunas_outbox_unauthorized_topics", "toy-acl") == 1

    # While held, the topic's rows are not tried again, not even a new one behind them.
    _rows(dsn, _row("acl.events", "a3"), _row("ok.events", "o2"))
    assert relay.publish_once(grace_s=0) == 1
    assert producer.sent[-1] == ("ok.events", b"o2")
    assert _state(dsn)["a1"][1] == 1

    # The ACL is fixed; after the hold the rows go, oldest first.
    del producer.refuse["acl.events"]
    threading.Event().wait(0.4)
    assert relay.publish_once(grace_s=0) == 3
    assert [v for t, v in producer.sent if t == "acl.events"] == [b"a1", b"a2", b"a3"]
    assert all(sent for sent, _, _ in _state(dsn).values())
    assert _gauge("lunas_outbox_unauthorized_topics", "toy-acl") == 0


def test_a_refused_row_is_held_longer_each_time(test_settings: Settings, pool: Any) -> None:
    dsn = test_settings.database_dsn()
    producer = ScriptedProducer()
    producer.refuse["acl.events"] = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "denied")
    _rows(dsn, _row("acl.events", "b1"))
    config = RelayConfig("toy-acl2", "toy", hold_base_s=0.2, hold_cap_s=10.0)
    relay = OutboxRelay(config, pool, producer, threading.Event())  # type: ignore[arg-type]
    assert relay.publish_once(grace_s=0) == 1
    threading.Event().wait(0.25)
    assert relay.publish_once(grace_s=0) == 1  # the first hold (0.2 s) is over: tried again
    assert relay.publish_once(grace_s=0) == 0  # held again, now for 0.4 s
    threading.Event().wait(0.25)
    assert relay.publish_once(grace_s=0) == 0  # still held: the hold doubled
    assert _state(dsn)["b1"][1] == 2


def test_a_fatal_producer_error_stops_the_relay_instead_of_spinning(
    test_settings: Settings, pool: Any
) -> None:
    dsn = test_settings.database_dsn()
    producer = ScriptedProducer()
    producer.refuse["ok.events"] = KafkaError(
        KafkaError._FATAL, "Fatal error: out of order sequence", fatal=True
    )
    _rows(dsn, _row("ok.events", "f1"))
    stop = threading.Event()
    errors = ProducerErrors("toy-fatal")
    relay = OutboxRelay(
        RelayConfig("toy-fatal", "toy", poll_interval_s=0.05),
        pool,
        producer,  # type: ignore[arg-type]
        stop,
        FastPath(producer, "toy-fatal", errors),  # type: ignore[arg-type]
        errors,
    )
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            relay.run()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    assert not thread.is_alive(), "the relay kept retrying with a dead producer"
    assert outcome and isinstance(outcome[0], ProducerFatal)
    assert _state(dsn)["f1"][0] is False  # unsent: the next process publishes it


def test_the_producer_error_callback_turns_a_fatal_error_into_a_stop() -> None:
    errors = ProducerErrors("toy-cb")
    errors.report(KafkaError(KafkaError._TRANSPORT, "broker down"))  # logged, not fatal
    errors.raise_if_fatal()
    errors.report(KafkaError(KafkaError._FATAL, "fenced", fatal=True))
    with pytest.raises(ProducerFatal, match="fenced"):
        errors.raise_if_fatal()


def test_liveness_measures_the_oldest_row_the_relay_should_have_sent(
    test_settings: Settings, pool: Any
) -> None:
    dsn = test_settings.database_dsn()
    _rows(dsn, _row("ok.events", "old"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE toy.outbox SET created_at = now() - interval '10 minutes'")
    relay = OutboxRelay(
        RelayConfig("toy-live", "toy"),
        pool,
        ScriptedProducer(),  # type: ignore[arg-type]
        threading.Event(),
    )
    relay._measure_oldest()
    assert relay.oldest_unsent_s is not None and relay.oldest_unsent_s >= 600
    relay.publish_once(grace_s=0)
    relay._measure_oldest()
    assert relay.oldest_unsent_s == 0.0
