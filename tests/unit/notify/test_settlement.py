"""An approved cancellation's billing: the seller hears that the invoice is void and the payment
back to "Belum digunakan" only once payment_svc said so, whichever topic is read first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.notify_svc.handling import Handled, Ports, derive_all, handle_source_event
from services.notify_svc.memory import memory_ports
from services.notify_svc.model import Notification, SourceEvent

T = "seller-t1"
SELLER = "user:seller-1"
AT = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def decided(order: str = "ORD-1", *, correlation: str = "decide-1", **data: Any) -> SourceEvent:
    body = {
        "request_id": f"CR-{order}",
        "order_id": order,
        "decision": "approve",
        "reason": "Alamat baru sudah diverifikasi.",
        "requested_reason": "Ganti alamat",
        "decided_by": "admin:rina",
        "decided_at": AT.isoformat(),
        "voided_awb": f"AWB-{order}",
        "requested_by": SELLER,
        **data,
    }
    return SourceEvent(
        "pickup.cancel.decided", T, f"dec-{order}", AT, body, "admin:rina", correlation
    )


def voided(order: str = "ORD-1", *, correlation: str = "decide-1") -> SourceEvent:
    data = {
        "invoice_no": f"INV-{order}",
        "customer_id": "CUST-9",
        "customer_name": "TOKO MAJU",
        "amount": "185000.00",
        "outstanding": "185000.00",
        "status": "void",
        "order_id": order,
        "released": [{"payment_no": f"PAY-{order}", "amount": "185000.00"}],
    }
    return SourceEvent("invoice.voided", T, f"void-{order}", AT, data, "system:pickup", correlation)


def released(order: str = "ORD-1", *, correlation: str = "decide-1") -> SourceEvent:
    data = {
        "payment_no": f"PAY-{order}",
        "customer_id": "CUST-9",
        "status": "completed",
        "amount": "185000.00",
        "allocated": "0.00",
        "usage": "unused",
        "method": "transfer",
        "released": [{"invoice_no": f"INV-{order}", "amount": "185000.00"}],
    }
    return SourceEvent(
        "payment.released", T, f"rel-{order}", AT, data, "system:pickup", correlation
    )


def feed_of(ports: Ports, events: list[SourceEvent]) -> list[Notification]:
    """Handle `events` in order; the seller's notifications, in the order they were made."""
    out: list[Notification] = []

    async def publish(n: Notification) -> None:
        out.append(n)

    for event in events:
        assert isinstance(
            asyncio.run(handle_source_event(event, ports=ports, publish=publish)), Handled
        )
    return [n for n in out if n.recipient == SELLER]


def test_approval_says_the_void_was_asked_for_and_the_seller_hears_when_it_is_done() -> None:
    billing = {"invoice_no": "INV-ORD-1", "payment_nos": ["PAY-ORD-1"]}
    seller = feed_of(memory_ports(), [decided(billing=billing), voided(), released()])
    approval, invoice, payment = seller
    assert approval.kind == "pickup_cancel_approved"
    assert "telah dibatalkan" not in approval.body and "Belum digunakan" not in approval.body
    assert "diminta membatalkan invoice INV-ORD-1 dan melepas pembayaran PAY-ORD-1" in approval.body
    assert invoice.kind == "invoice_voided" and invoice.data["order_id"] == "ORD-1"
    assert "Invoice INV-ORD-1 untuk order ORD-1" in invoice.body
    assert "TOKO MAJU" in invoice.body and "telah dibatalkan (void)" in invoice.body
    assert (
        payment.kind == "payment_released"
        and payment.title == 'Pembayaran kembali "Belum digunakan"'
    )
    assert "karena pembatalan pickup order ORD-1" in payment.body


def test_payment_svc_read_before_the_decision_still_reaches_the_seller_once() -> None:
    ports = memory_ports()
    early = feed_of(ports, [voided(), released()])
    assert early == []  # nobody knew whose order it was yet; the tenant feed heard of it
    later = feed_of(ports, [decided(), decided()])  # and the decision redelivered
    kinds = sorted(n.kind for n in later)
    assert kinds.count("invoice_voided") == 2 and kinds.count("payment_released") == 2
    assert len({n.notification_id for n in later}) == 3  # one approval, one void, one release


def test_ids_are_the_same_whichever_order_the_topics_are_read_in() -> None:
    first = feed_of(memory_ports(), [decided(), voided(), released()])
    second = feed_of(memory_ports(), [released(), voided(), decided()])
    assert {n.notification_id for n in first} == {n.notification_id for n in second}
    assert {n.body for n in first} == {n.body for n in second}


def test_an_approval_of_an_order_without_invoice_says_there_was_nothing_to_void() -> None:
    (approval,) = feed_of(memory_ports(), [decided(billing={"payment_nos": []})])
    assert "tidak memiliki invoice maupun pembayaran" in approval.body
    assert "tidak ada yang perlu dibatalkan" in approval.body
    assert "Belum digunakan" not in approval.body


def test_an_older_approval_claims_nothing_about_the_invoice() -> None:
    (approval,) = feed_of(memory_ports(), [decided()])
    assert "Jika order ini memiliki invoice" in approval.body
    assert "Belum digunakan" not in approval.body


def test_a_void_of_another_decision_never_reaches_this_seller() -> None:
    seller = feed_of(memory_ports(), [decided(), voided(correlation="someone-else")])
    assert [n.kind for n in seller] == ["pickup_cancel_approved"]


def test_a_rejection_joins_nothing() -> None:
    seller = feed_of(memory_ports(), [decided(decision="reject", reason="Sudah dikirim"), voided()])
    assert [n.kind for n in seller] == ["pickup_cancel_rejected"]


def test_two_approvals_under_one_correlation_each_get_their_own_orders_facts() -> None:
    events = [decided("ORD-1"), decided("ORD-2"), voided("ORD-2"), released("ORD-2")]
    seller = feed_of(memory_ports(), events)
    about = [(n.kind, n.data["order_id"]) for n in seller if n.kind != "pickup_cancel_approved"]
    assert about == [("invoice_voided", "ORD-2"), ("payment_released", "ORD-2")]


def test_the_seller_reads_it_in_their_own_locale() -> None:
    ports = memory_ports()
    ports.locales.chosen[(T, SELLER)] = "en"  # type: ignore[attr-defined]
    seller = feed_of(ports, [decided(), released()])
    assert seller[-1].locale == "en" and seller[-1].title == 'Payment back to "unused"'


def batched(ports: Ports, events: list[SourceEvent]) -> list[Notification]:
    """Handle `events` as one batch, as the agent does; the seller's notifications."""
    derived = asyncio.run(derive_all(events, ports))
    return [n for made in derived if isinstance(made, tuple) for n in made if n.recipient == SELLER]


def test_one_batch_joins_like_one_event_at_a_time_in_either_order() -> None:
    for events in (
        [decided(), voided(), released()],
        [released(), voided(), decided()],
        [voided(), decided(), released()],
    ):
        one_by_one = feed_of(memory_ports(), events)
        in_a_batch = batched(memory_ports(), events)
        assert [n.notification_id for n in in_a_batch] == [n.notification_id for n in one_by_one]
        assert {n.kind for n in in_a_batch} == {
            "pickup_cancel_approved",
            "invoice_voided",
            "payment_released",
        }


def test_a_batch_that_redelivers_the_decision_tells_the_seller_nothing_new() -> None:
    ports = memory_ports()
    seller = batched(ports, [voided(), released(), decided(), decided()])
    # The redelivered decision yields the same ids again; feeds and readers dedupe by id.
    assert len({n.notification_id for n in seller}) == 3
