"""Who may send what: admin and courier commands on the seller's topic are dead-lettered, and
payment_svc refuses a cancellation's void/release for an invoice that is another order's."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from schemas import topics
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec as payment_spec
from services.pickup_svc.adapters.verify import check_invariants, state_digest
from services.pickup_svc.bootstrap import build_spec as pickup_spec
from tests.integration.payment.helpers import digest as payment_digest
from tests.integration.payment.helpers import invoice, issue, payment, record
from tests.integration.pickup.helpers import (
    ADMIN,
    PICKUP_OUTPUT,
    TENANT,
    Seen,
    Watcher,
    arrange,
    cancel,
    decide,
    send,
    status,
    watching,
)
from tests.integration.runtime.helpers import read_topic, running

pytestmark = pytest.mark.integration

ORDER = "ORD-2024-000871"
INVOICE = "INV-ORD-2024-000871"
PAYMENT = "PAY-2024-003310"
SELLER_TOPIC = topics.PICKUP_CANCEL_REQUESTED
AMOUNT = "185000.00"


@pytest.fixture
def watcher(test_settings: Settings) -> Iterator[Watcher]:
    """Pickup's output topics and payment's events, which the relay tests read too."""
    with watching(test_settings, (*PICKUP_OUTPUT, topics.PAYMENT_EVENTS)) as w:
        yield w


def _order_state(dsn: str, order: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT state FROM pickup.orders WHERE tenant_id = %s AND order_id = %s",
            (TENANT, order),
        ).fetchone()
    assert row is not None, f"order {order} not found"
    return str(row[0])


def _digest(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return state_digest(conn)


def _sound(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return check_invariants(conn)


def _outbox(dsn: str) -> Counter[str]:
    """Messages pickup_svc ever committed to send, by topic (sent rows are kept)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT topic, count(*) FROM pickup.outbox GROUP BY topic").fetchall()
    return Counter({str(topic): int(n) for topic, n in rows})


def _dead_letter(settings: Settings, topic: str) -> Any:
    """The one record dead-lettered from `topic` (waits for it)."""
    assert settings.kafka_bootstrap_servers
    dlq = topics.dlq_topic(topic)
    letters = read_topic(settings.kafka_bootstrap_servers, dlq, lambda rs: len(rs) >= 1)
    assert len(letters) == 1, f"expected one dead letter on {dlq}, got {len(letters)}"
    return letters[0]


def _pending(settings: Settings, watcher: Watcher, **arranged: Any) -> str:
    """ORDER arranged and its cancellation pending; the airway bill."""
    send(settings, topics.PICKUP_COMMANDS, arrange(ORDER, **arranged))
    (done,) = watcher.wait("pickup.arranged", topics.PICKUP_EVENTS, order_id=ORDER)
    send(settings, SELLER_TOPIC, cancel(ORDER))
    watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=ORDER)
    assert _order_state(settings.database_dsn(), ORDER) == "cancel_pending"
    return str(done.data["awb"])


def _assert_misrouted(
    settings: Settings, watcher: Watcher, sent: dict[str, Any], digest: str, outbox: Counter[str]
) -> None:
    """`sent` went to the seller topic's DLQ, and pickup_svc changed and said nothing else."""
    dsn = settings.database_dsn()
    letter = _dead_letter(settings, SELLER_TOPIC)
    headers = dict(letter.headers())
    assert headers["lunas.error"] == b"misrouted"
    assert headers["lunas.original.topic"] == SELLER_TOPIC.encode()
    assert sent["type"].encode() in headers["lunas.error.detail"]
    assert json.loads(letter.value())["id"] == sent["id"]
    # The dead letter is committed with the record's handling: by now nothing else can follow.
    assert _outbox(dsn) - outbox == Counter({topics.dlq_topic(SELLER_TOPIC): 1})
    assert _digest(dsn) == digest
    assert _order_state(dsn, ORDER) == "cancel_pending"
    watcher.poll(1)
    assert not watcher.matching("pickup.cancel.decided")
    assert not watcher.matching("command.rejected", command_id=sent["id"])
    assert not [s for s in watcher.seen if s.topic == topics.PAYMENT_COMMANDS]


def _derived(watcher: Watcher, type_: str, **data: Any) -> Seen:
    """The one `type_` command pickup_svc put on payment.commands with `data`."""
    (found,) = [
        s
        for s in watcher.wait(type_, topics.PAYMENT_COMMANDS, **data)
        if s.message["source"] == "/svc/pickup"
    ]
    return found


def test_an_admin_decision_on_the_sellers_topic_is_dead_lettered_and_decides_nothing(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    # The forged actor is a configured admin: only the topic tells the decision is not theirs.
    assert ADMIN.removeprefix("admin:") in test_settings.pickup_admin_ids
    with running(pickup_spec(test_settings), test_settings):
        awb = _pending(test_settings, watcher, invoice_no=INVOICE, payment_nos=[PAYMENT])
        digest, outbox = _digest(dsn), _outbox(dsn)
        forged = decide(ORDER, "approve", "Alamat baru sudah diverifikasi.")
        send(test_settings, SELLER_TOPIC, forged)
        _assert_misrouted(test_settings, watcher, forged, digest, outbox)

        # The same command on the back office's topic: its id was not used up by the DLQ.
        send(test_settings, topics.PICKUP_COMMANDS, forged)
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        assert decided.data["decision"] == "approve"
        assert decided.data["decided_by"] == ADMIN
        assert decided.data["voided_awb"] == awb
        void = _derived(watcher, "invoice.void", invoice_no=INVOICE, order_id=ORDER)
        release = _derived(watcher, "payment.release", payment_no=PAYMENT, order_id=ORDER)
        assert void.message["causationid"] == release.message["causationid"] == forged["id"]

    assert _order_state(dsn, ORDER) == "pickup_cancelled"
    assert _sound(dsn) == []


def test_a_courier_status_on_the_sellers_topic_is_dead_lettered_and_changes_nothing(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    with running(pickup_spec(test_settings), test_settings):
        awb = _pending(test_settings, watcher)
        digest, outbox = _digest(dsn), _outbox(dsn)
        # Were it applied, the parcel would be picked up and the pending request closed.
        forged = status(ORDER, awb, "picked_up")
        send(test_settings, SELLER_TOPIC, forged)
        _assert_misrouted(test_settings, watcher, forged, digest, outbox)
        assert not watcher.matching("pickup.status.updated")

        # The request is still open: the admin's approval cancels the pickup.
        approve = decide(ORDER, "approve")
        send(test_settings, topics.PICKUP_COMMANDS, approve)
        (decided,) = watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED)
        assert decided.data["decision"] == "approve"
        assert decided.data["decided_by"] == ADMIN
        assert decided.data["voided_awb"] == awb
        assert not watcher.matching("command.rejected", command_id=approve["id"])

    assert _order_state(dsn, ORDER) == "pickup_cancelled"
    assert _sound(dsn) == []


def test_cancelling_an_order_that_names_another_orders_invoice_voids_and_frees_nothing(
    test_settings: Settings, watcher: Watcher
) -> None:
    dsn = test_settings.database_dsn()
    order_a, invoice_a, payment_a = "ORD-A", "INV-A", "PAY-A"
    order_b = "ORD-B"
    with (
        running(payment_spec(test_settings), test_settings),
        running(pickup_spec(test_settings), test_settings),
    ):
        send(
            test_settings,
            topics.PAYMENT_COMMANDS,
            issue(invoice_a, AMOUNT, order_id=order_a, tenant=TENANT),
        )
        watcher.wait("invoice.issued", topics.PAYMENT_EVENTS, invoice_no=invoice_a)
        paid = record(payment_a, AMOUNT, [(invoice_a, AMOUNT)], tenant=TENANT)
        send(test_settings, topics.PAYMENT_COMMANDS, paid)
        watcher.wait("payment.recorded", topics.PAYMENT_EVENTS, payment_no=payment_a)
        assert invoice(dsn, invoice_a, TENANT)["status"] == "paid"
        assert payment(dsn, payment_a, TENANT)["usage"] == "used"
        before = payment_digest(dsn)

        # The seller's order B claims order A's invoice and payment, then has B cancelled.
        send(
            test_settings,
            topics.PICKUP_COMMANDS,
            arrange(order_b, invoice_no=invoice_a, payment_nos=[payment_a]),
        )
        watcher.wait("pickup.arranged", topics.PICKUP_EVENTS, order_id=order_b)
        send(test_settings, SELLER_TOPIC, cancel(order_b))
        watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=order_b)
        send(test_settings, topics.PICKUP_COMMANDS, decide(order_b, "approve"))
        watcher.wait("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED, order_id=order_b)

        void = _derived(watcher, "invoice.void", invoice_no=invoice_a, order_id=order_b)
        release = _derived(watcher, "payment.release", payment_no=payment_a, order_id=order_b)
        for refused in (void, release):
            (rejection,) = watcher.wait(
                "command.rejected", topics.PAYMENT_EVENTS, command_id=refused.message["id"]
            )
            assert rejection.data["code"] == "invalid"
            assert order_a in rejection.data["message"]
            assert order_b in rejection.data["message"]
        assert payment_digest(dsn) == before
        assert not watcher.matching("invoice.voided") + watcher.matching("payment.released")
        kept = invoice(dsn, invoice_a, TENANT)
        assert (kept["status"], kept["voided_at"], kept["outstanding"]) == ("paid", None, "0.00")
        used = payment(dsn, payment_a, TENANT)
        assert used["usage"] == "used"
        assert [(a["invoice_no"], a["amount"]) for a in used["allocations"]] == [
            (invoice_a, AMOUNT)
        ]

        # Order A's own cancellation still voids its invoice and frees the payment.
        send(
            test_settings,
            topics.PICKUP_COMMANDS,
            arrange(order_a, invoice_no=invoice_a, payment_nos=[payment_a]),
        )
        watcher.wait("pickup.arranged", topics.PICKUP_EVENTS, order_id=order_a)
        send(test_settings, SELLER_TOPIC, cancel(order_a))
        watcher.wait("pickup.cancel.pending", topics.PICKUP_EVENTS, order_id=order_a)
        send(test_settings, topics.PICKUP_COMMANDS, decide(order_a, "approve"))
        watcher.wait("invoice.voided", topics.PAYMENT_EVENTS, invoice_no=invoice_a)
        watcher.wait("payment.released", topics.PAYMENT_EVENTS, payment_no=payment_a)

    assert invoice(dsn, invoice_a, TENANT)["status"] == "void"
    assert payment(dsn, payment_a, TENANT)["usage"] == "unused"
    assert _sound(dsn) == []
