"""Seed 002 across real processes: pickup_svc decides, payment_svc voids the invoice and frees the
payment ("Telah digunakan" → "Belum digunakan"); a rejection leaves both as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas import topics
from services.common.settings import Settings
from services.common.topics import ensure_topics
from tests.integration.pickup.helpers import (
    PICKUP_OUTPUT,
    TENANT,
    Seen,
    Watcher,
    arrange,
    cancel,
    command,
    decide,
)
from tests.integration.runtime.helpers import produce, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "CUST-BUYER-5521"
AMOUNT = "185000.00"


@dataclass(frozen=True)
class Sale:
    """An order with its invoice and the payment that paid it in full."""

    order: str
    invoice: str
    payment: str


@dataclass
class Services:
    settings: Settings
    watcher: Watcher
    published: dict[str, int]  # records this test put on each topic itself


def _start(module: str, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(
        {
            "LUNAS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "LUNAS_DATABASE_URL": settings.database_dsn(),
            "LUNAS_KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
            "LUNAS_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "LUNAS_PICKUP_ADMINS": settings.pickup_admins,
            "LUNAS_PAYMENT_ADMINS": settings.payment_admins,
            "LUNAS_LOG_LEVEL": "WARNING",
            "LUNAS_LOG_FORMAT": "json",
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def services(test_settings: Settings, tmp_path: Path) -> Iterator[Services]:
    assert test_settings.kafka_bootstrap_servers
    ensure_topics(test_settings.kafka_config(), test_settings.topic_partitions)
    logs = {name: tmp_path / f"{name}.log" for name in ("pickup", "payment")}
    procs = {
        "pickup": _start("services.pickup_svc.entrypoint", test_settings, logs["pickup"]),
        "payment": _start("services.payment_svc.entrypoint", test_settings, logs["payment"]),
    }
    watcher = Watcher(
        test_settings.kafka_bootstrap_servers,
        (*PICKUP_OUTPUT, topics.PAYMENT_EVENTS),
        test_settings.topic_partitions,
    )
    try:
        yield Services(test_settings, watcher, {})
    finally:
        watcher.close()
        codes = {}
        for name, proc in procs.items():
            proc.send_signal(signal.SIGTERM)
            try:
                codes[name] = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(10)
        for name, code in codes.items():
            assert code == 0, f"{name} exited {code} on SIGTERM:\n{logs[name].read_text()[-3000:]}"


def _send(svc: Services, topic: str, *messages: dict[str, Any]) -> None:
    assert svc.settings.kafka_bootstrap_servers
    produce(svc.settings.kafka_bootstrap_servers, topic, list(messages))
    svc.published[topic] = svc.published.get(topic, 0) + len(messages)


def _paid_sale(svc: Services, n: int) -> Sale:
    """Invoice issued, then a transfer recorded that pays it: the payment is "used"."""
    sale = Sale(f"ORD-2024-00087{n}", f"INV-ORD-2024-00087{n}", f"PAY-2024-00331{n}")
    issue = command(
        "invoice.issue",
        sale.invoice,
        {
            "invoice_no": sale.invoice,
            "customer_id": CUSTOMER,
            "amount": AMOUNT,
            "issue_date": "2024-05-06",
            "order_id": sale.order,
        },
        actor="system:billing",
        source="/billing",
    )
    _send(svc, topics.PAYMENT_COMMANDS, issue)
    svc.watcher.wait("invoice.issued", topics.PAYMENT_EVENTS, invoice_no=sale.invoice)
    record = command(
        "payment.record",
        sale.payment,
        {
            "payment_no": sale.payment,
            "customer_id": CUSTOMER,
            "method": "transfer",
            "amount": AMOUNT,
            "payment_date": "2024-05-06",
            "allocations": [{"invoice_no": sale.invoice, "amount": AMOUNT}],
        },
        actor="user:finance-3",
        source="/backoffice",
    )
    _send(svc, topics.PAYMENT_COMMANDS, record)
    svc.watcher.wait("payment.recorded", topics.PAYMENT_EVENTS, payment_no=sale.payment)
    assert _payment_state(svc.settings, sale) == ("paid", "used")
    return sale


def _cancel_requested(svc: Services, sale: Sale) -> Seen:
    _send(
        svc,
        topics.PICKUP_COMMANDS,
        arrange(sale.order, invoice_no=sale.invoice, payment_nos=[sale.payment]),
    )
    (arranged,) = svc.watcher.wait("pickup.arranged", order_id=sale.order)
    _send(svc, topics.PICKUP_CANCEL_REQUESTED, cancel(sale.order))
    svc.watcher.wait("pickup.cancel.pending", order_id=sale.order)
    return arranged


def _payment_state(settings: Settings, sale: Sale) -> tuple[str, str]:
    """payment_svc's view: the invoice's status and the payment's usage (derived by payment_svc)."""
    with psycopg.connect(settings.database_dsn()) as conn:
        invoice = conn.execute(
            "SELECT status FROM payment.invoices WHERE tenant_id = %s AND invoice_no = %s",
            (TENANT, sale.invoice),
        ).fetchone()
        used = conn.execute(
            "SELECT coalesce(sum(a.amount), 0), p.amount FROM payment.payments p"
            " LEFT JOIN payment.allocations a"
            " ON a.tenant_id = p.tenant_id AND a.payment_no = p.payment_no"
            " WHERE p.tenant_id = %s AND p.payment_no = %s GROUP BY p.amount",
            (TENANT, sale.payment),
        ).fetchone()
    assert invoice is not None and used is not None
    allocated, amount = used
    usage = "unused" if allocated == 0 else "used" if allocated == amount else "partially_used"
    return str(invoice[0]), usage


def _payment_rows(settings: Settings) -> list[Any]:
    """Everything payment_svc holds about invoices, payments and allocations, for comparison."""
    with psycopg.connect(settings.database_dsn()) as conn:
        return [
            conn.execute(
                "SELECT invoice_no, status, allocated, outstanding FROM payment.invoices"
                " ORDER BY invoice_no"
            ).fetchall(),
            conn.execute(
                "SELECT payment_no, status FROM payment.payments ORDER BY payment_no"
            ).fetchall(),
            conn.execute(
                "SELECT payment_no, invoice_no, amount FROM payment.allocations"
                " ORDER BY payment_no, invoice_no"
            ).fetchall(),
            conn.execute(
                "SELECT payment_no, invoice_no, kind, amount FROM payment.allocation_history"
                " ORDER BY id"
            ).fetchall(),
        ]


def _consumed(settings: Settings, group: str, topic: str) -> int:
    """Records of `topic` the group has committed past (offsets start at 0 per partition)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def _from_pickup(svc: Services) -> list[Seen]:
    """What pickup_svc asked payment_svc to do (this test's own commands left out)."""
    return [
        s
        for s in svc.watcher.seen
        if s.topic == topics.PAYMENT_COMMANDS and s.message["source"] == "/svc/pickup"
    ]


def _pickup_asked_payment_svc(settings: Settings) -> int:
    """payment commands pickup_svc ever committed to send (its outbox keeps sent rows too)."""
    with psycopg.connect(settings.database_dsn()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pickup.outbox WHERE topic = %s", (topics.PAYMENT_COMMANDS,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _payment_commands_read(svc: Services) -> int:
    return _consumed(svc.settings, "lunas.payment", topics.PAYMENT_COMMANDS)


def test_approval_voids_the_invoice_and_frees_the_payment_once(services: Services) -> None:
    svc = services
    sale = _paid_sale(svc, 1)
    arranged = _cancel_requested(svc, sale)
    _send(svc, topics.PICKUP_COMMANDS, decide(sale.order, "approve", "Alamat sudah diverifikasi."))
    (decided,) = svc.watcher.wait("pickup.cancel.decided", order_id=sale.order)
    assert decided.data["voided_awb"] == arranged.data["awb"]

    wait_for(
        lambda: _payment_state(svc.settings, sale) == ("void", "unused"),
        what="invoice void and payment unused in payment_svc",
    )
    svc.watcher.wait("invoice.void", topics.PAYMENT_COMMANDS, invoice_no=sale.invoice)
    svc.watcher.wait("payment.release", topics.PAYMENT_COMMANDS, payment_no=sale.payment)
    derived = _from_pickup(svc)
    assert sorted(s.type for s in derived) == ["invoice.void", "payment.release"]
    settled = _payment_rows(svc.settings)

    # The same commands again, last first: exact copies (a redelivery) and fresh ids (another
    # sender). payment_svc must end where it is now.
    void = next(s.message for s in derived if s.type == "invoice.void")
    release = next(s.message for s in derived if s.type == "payment.release")
    again = [
        release,
        void,
        {**release, "id": str(uuid.uuid4())},
        {**void, "id": str(uuid.uuid4())},
    ]
    _send(svc, topics.PAYMENT_COMMANDS, *again)
    total = svc.published[topics.PAYMENT_COMMANDS] + len(derived)
    wait_for(
        lambda: _payment_commands_read(svc) >= total,
        what="payment_svc read every copy",
    )
    assert _payment_rows(svc.settings) == settled
    assert _payment_state(svc.settings, sale) == ("void", "unused")
    history = settled[3]
    assert [row[2] for row in history] == ["allocated", "released"]

    # The seller arranges shipping again and gets a new airway bill.
    _send(svc, topics.PICKUP_COMMANDS, arrange(sale.order))
    rearranged = svc.watcher.wait("pickup.arranged", order_id=sale.order, count=2)[1]
    assert rearranged.data["previous_awb"] == arranged.data["awb"]


def test_rejection_voids_nothing_and_the_seller_may_ask_again(services: Services) -> None:
    svc = services
    sale = _paid_sale(svc, 2)
    _cancel_requested(svc, sale)
    before = _payment_rows(svc.settings)
    reason = "Kurir sudah dalam perjalanan ke lokasi penjemputan."
    _send(svc, topics.PICKUP_COMMANDS, decide(sale.order, "reject", reason))
    (decided,) = svc.watcher.wait("pickup.cancel.decided", order_id=sale.order)
    assert decided.data["reason"] == reason

    _send(svc, topics.PICKUP_CANCEL_REQUESTED, cancel(sale.order, "Stok habis."))
    pending = svc.watcher.wait("pickup.cancel.pending", order_id=sale.order, count=2)
    assert pending[1].data["reason"] == "Stok habis."

    assert _pickup_asked_payment_svc(svc.settings) == 0
    wait_for(
        lambda: _payment_commands_read(svc) >= svc.published[topics.PAYMENT_COMMANDS],
        what="payment_svc caught up",
    )
    assert _payment_rows(svc.settings) == before
    assert _payment_state(svc.settings, sale) == ("paid", "used")
