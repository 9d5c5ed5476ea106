"""Commands that arrive before what they name wait for it (docs/ARCHITECTURE.md "Waiting"), through
the real broker and Postgres: nothing is refused for arriving early, each aggregate sees its own
commands in order, a command whose aggregate never comes is refused once after the timeout (a
SIGKILL while it waits included), and a replay applies nothing twice."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import REGISTRY

from schemas import topics
from services.common.migrations import migrate
from services.common.settings import Settings
from services.common.topics import ensure_topics
from services.payment_svc.bootstrap import build_spec
from services.pickup_svc.bootstrap import build_spec as pickup_spec
from tests.integration.ops.helpers import lunas_json
from tests.integration.payment.helpers import (
    TENANT,
    digest,
    issue,
    now,
    outcomes,
    payment,
    record,
    send,
    simple,
    watching,
)
from tests.integration.pickup.helpers import PICKUP_OUTPUT, Watcher, arrange, cancel
from tests.integration.runtime.helpers import produce, running, start_process, wait_for

pytestmark = pytest.mark.integration


def _waited() -> float:
    return REGISTRY.get_sample_value("lunas_commands_waited_total", {"service": "payment"}) or 0


def _inbox(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        try:
            rows = conn.execute("SELECT message_id, outcome FROM payment.inbox").fetchall()
        except psycopg.errors.UndefinedTable:
            return {}  # the service has not migrated yet
    return {str(m): str(o) for m, o in rows}


def _published(dsn: str) -> set[str]:
    """The ids of the events payment_svc's relay has sent to ``payment.events``."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT event_id FROM payment.outbox WHERE topic = %s AND sent_at IS NOT NULL",
            (topics.PAYMENT_EVENTS,),
        ).fetchall()
    return {str(r[0]) for r in rows}


def _waiting_rows(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM payment.waiting").fetchone()
    return int(row[0]) if row else 0


def test_payments_right_behind_their_invoices_are_recorded_and_a_replay_changes_nothing(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    commands: list[dict[str, Any]] = []
    cancelled: list[str] = []
    for i in range(200):
        invoice_no, payment_no = f"INV-W{i:03d}", f"P-W{i:03d}"
        pair = [issue(invoice_no, "100.00"), record(payment_no, "100.00", [(invoice_no, "100.00")])]
        if i < 20:
            pair.reverse()  # the payment strictly first: it has to wait
        commands += pair
        if i % 4 == 0:
            commands.append(simple("payment.cancel", payment_no, reason_code="input_error"))
            cancelled.append(payment_no)
    commands = [now(c) for c in commands]
    waited_before = _waited()
    with watching(test_settings) as watcher:
        with running(build_spec(test_settings), test_settings):
            send(test_settings, *commands)  # one producer, back to back, no waiting between
            wait_for(
                lambda: outcomes(dsn).get("applied", 0) == len(commands),
                timeout=120,
                what="every command applied",
            )
            watcher.wait("payment.cancelled", topics.PAYMENT_EVENTS, count=len(cancelled))
        assert outcomes(dsn) == {"applied": len(commands)}  # zero not_found, none waiting
        assert _waiting_rows(dsn) == 0
        assert _waited() - waited_before >= 20
        assert watcher.matching("command.rejected") == []
        # Each payment's events in its own order: recorded, then (where sent) cancelled.
        for payment_no in cancelled:
            order = [
                s.type
                for s in watcher.seen
                if s.data.get("payment_no") == payment_no and s.type.startswith("payment.")
            ]
            assert order == ["payment.recorded", "payment.cancelled"], (payment_no, order)
            assert payment(dsn, payment_no)["status"] == "cancelled"
        assert payment(dsn, "P-W001")["status"] == "completed"

        # A replay of the whole topic: every command is a duplicate; nothing changes. The
        # watcher first reads every event the service published (the service stopped with its
        # outbox drained), so what it counts is the whole topic, not how far it had read.
        published = _published(dsn)
        watcher.wait_until(lambda: {s.message["id"] for s in watcher.seen} >= published)
        before = digest(dsn)
        events_before = len(watcher.seen)
        _rewind(test_settings)
        duplicates = _duplicates()
        with running(build_spec(test_settings), test_settings):
            wait_for(
                lambda: _duplicates() - duplicates >= len(commands),
                timeout=120,
                what="the replay read back",
            )
        assert digest(dsn) == before
        assert _published(dsn) == published
        watcher.poll(2)
        assert len(watcher.seen) == events_before


def test_a_cancel_request_right_behind_its_pickup_waits_for_the_order(
    test_settings: Settings,
) -> None:
    assert test_settings.kafka_bootstrap_servers
    bootstrap = test_settings.kafka_bootstrap_servers
    order = "ORD-W-000001"
    ensure_topics(test_settings.kafka_config(), test_settings.topic_partitions)
    watcher = Watcher(bootstrap, PICKUP_OUTPUT, test_settings.topic_partitions)
    try:
        with running(pickup_spec(test_settings), test_settings):
            # The seller app's request reaches its topic before the arrange reaches its own.
            produce(bootstrap, topics.PICKUP_CANCEL_REQUESTED, [now(cancel(order))])
            time.sleep(1.0)
            produce(bootstrap, topics.PICKUP_COMMANDS, [now(arrange(order))])
            watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=order)
        assert watcher.matching("command.rejected") == []
        types = [s.type for s in watcher.seen if s.data.get("order_id") == order]
        assert types == ["pickup.arranged", "pickup.cancel.pending"]
    finally:
        watcher.close()


def _start(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return start_process(
        settings, "services.payment_svc.entrypoint", log, await_timeout_seconds="8"
    )


def test_a_payment_for_an_invoice_that_never_comes_is_refused_once_after_the_timeout(
    test_settings: Settings, tmp_path: Path
) -> None:
    dsn = test_settings.database_dsn()
    orphan = now(record("P-ORPHAN", "100.00", [("INV-NEVER", "100.00")]))
    log = tmp_path / "payment.log"
    with watching(test_settings) as watcher:
        proc = _start(test_settings, log)
        try:
            send(test_settings, orphan)
            wait_for(lambda: _inbox(dsn).get(orphan["id"]) == "waiting", what="the payment waiting")
            proc.send_signal(signal.SIGKILL)  # killed while the command waits
            proc.wait(10)
            assert _waiting_rows(dsn) == 1
            # What an operator sees meanwhile: the count, the command, and a sound ledger.
            status = lunas_json(test_settings, "status")
            assert status["database"]["payment"]["waiting"] == 1
            shown = lunas_json(test_settings, "payment", "show", "P-ORPHAN", "--tenant", TENANT)
            assert shown["exists"] is False
            assert [(w["command_id"], w["awaits"]) for w in shown["waiting"]] == [
                (orphan["id"], ["invoice INV-NEVER"])
            ]
            migrate(dsn, "pickup")  # verify looks at every service's schema
            assert lunas_json(test_settings, "verify")["ok"] is True
            proc = _start(test_settings, log)
            [refusal] = watcher.wait("command.rejected", topics.PAYMENT_EVENTS, timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        watcher.poll(3)
    refused_at = datetime.fromisoformat(refusal.message["time"])
    assert (refused_at - datetime.fromisoformat(orphan["time"])).total_seconds() >= 8
    assert refusal.data["code"] == "not_found"
    assert "INV-NEVER" in refusal.data["message"]
    assert len(watcher.matching("command.rejected")) == 1  # exactly once
    assert _inbox(dsn)[orphan["id"]] == "rejected:not_found"
    assert _waiting_rows(dsn) == 0


def _rewind(settings: Settings) -> None:
    reset = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "lunas.payment"}
    )
    reset.commit(
        offsets=[
            TopicPartition(topics.PAYMENT_COMMANDS, p, 0) for p in range(settings.topic_partitions)
        ],
        asynchronous=False,
    )
    reset.close()


def _duplicates() -> float:
    return REGISTRY.get_sample_value("lunas_messages_duplicate_total", {"service": "payment"}) or 0


def test_a_command_parked_after_its_invoice_appeared_elsewhere_is_released_by_the_sweep(
    test_settings: Settings,
) -> None:
    """Two instances: one parks a payment, the other commits its invoice in a batch that could
    not see the parked row (it committed later). Nothing wakes the payment then but the sweep,
    which looks again at rows that waited a little; before, it waited out its whole timeout."""
    dsn = test_settings.database_dsn()
    waiting = now(record("P-RACE-1", "50.00", [("INV-RACE-1", "50.00")]))
    with running(build_spec(test_settings), test_settings):
        send(test_settings, waiting)
        wait_for(lambda: _inbox(dsn).get(waiting["id"]) == "waiting", what="the payment waits")
        with psycopg.connect(dsn, autocommit=True) as conn:
            # What the other instance's committed batch left: the invoice, and no wake-up.
            conn.execute(
                "INSERT INTO payment.invoices (tenant_id, invoice_no, customer_id, amount,"
                " issue_date, issued_by, created_at, updated_at)"
                " VALUES (%s, 'INV-RACE-1', 'CUST-7', 50.00, '2026-11-20', 'other', now(), now())",
                (TENANT,),
            )
        wait_for(
            lambda: _inbox(dsn).get(waiting["id"]) == "applied",
            timeout=20,
            what="the sweep to release the payment",
        )
    assert payment(dsn, "P-RACE-1")["status"] == "completed"
    assert _waiting_rows(dsn) == 0
