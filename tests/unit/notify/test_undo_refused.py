"""payment_svc refusing to void the invoice or release a payment of an approved cancellation: the
seller who asked hears of it (whichever topic is read first), and so do the payment admins, who
can fix it, and the back office."""

from __future__ import annotations

from typing import Any

import pytest

from services.notify_svc.memory import memory_ports
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import Malformed, Routing, derive_notifications, tenant_feed
from services.notify_svc.templates import Kind, Rendered, render
from tests.unit.notify.test_settlement import AT, SELLER, T, decided, feed_of, voided

BILLING = {"invoice_no": "INV-ORD-1", "payment_nos": ["PAY-ORD-1"]}
PAYMENT_ADMINS = Routing(payment_admins=frozenset({"siti", "ani"}))
PAID = "invoice INV-ORD-1 has payments allocated"


def refused(
    command_type: str = "invoice.void",
    subject: str = "INV-ORD-1",
    *,
    correlation: str = "decide-1",
    actor: str = "system:pickup",
    **data: Any,
) -> SourceEvent:
    body = {
        "command_id": f"cmd-{subject}",
        "command_type": command_type,
        "code": "invalid_state",
        "message": PAID,
        **data,
    }
    return SourceEvent(
        "command.rejected", T, f"rej-{subject}", AT, body, actor, correlation, subject
    )


def _derive(event: SourceEvent) -> tuple[Notification, ...]:
    made = derive_notifications(event, routing=PAYMENT_ADMINS)
    assert not isinstance(made, Malformed), made
    return made


def _text(data: dict[str, Any], locale: str = "id") -> Rendered:
    rendered = render(Kind.BILLING_UNDO_REJECTED, data, locale)  # type: ignore[arg-type]
    assert isinstance(rendered, Rendered), rendered
    return rendered


def test_the_text_names_the_invoice_the_order_and_the_reason_in_both_locales() -> None:
    data = {**refused().data, "invoice_no": "INV-ORD-1", "order_id": "ORD-1"}
    id_, en = _text(data), _text(data, "en")
    assert id_.title == "Invoice belum dapat dibatalkan"
    assert id_.body.startswith(
        "Invoice INV-ORD-1 untuk order ORD-1 tidak dapat dibatalkan oleh sistem pembayaran: "
        "tidak dapat dilakukan pada status saat ini."
    )
    assert PAID in id_.body and id_.body.endswith("Back office telah diberi tahu.")
    assert en.title == "Invoice could not be voided"
    assert "Invoice INV-ORD-1 of order ORD-1 could not be voided by the payment system" in en.body
    assert PAID in en.body and en.body.endswith("The back office has been told.")


def test_a_refused_release_names_the_payment() -> None:
    data = {**refused("payment.release", "PAY-ORD-1").data, "payment_no": "PAY-ORD-1"}
    assert _text(data).title == "Pembayaran belum dapat dilepas"
    assert "Pembayaran PAY-ORD-1 tidak dapat dilepas oleh sistem pembayaran" in _text(data).body
    assert "Payment PAY-ORD-1 could not be released" in _text(data, "en").body


def test_only_a_void_or_release_can_be_told_this_way() -> None:
    assert not isinstance(
        render(Kind.BILLING_UNDO_REJECTED, {**refused().data, "command_type": "payment.cancel"}),
        Rendered,
    )


def test_the_refusal_goes_to_the_back_office_and_every_payment_admin_at_once() -> None:
    made = _derive(refused())
    assert [n.recipient for n in made] == [tenant_feed(T), "admin:ani", "admin:siti"]
    assert {n.kind for n in made} == {"billing_undo_rejected"}
    assert all(n.data["invoice_no"] == "INV-ORD-1" for n in made)  # from the envelope's subject
    assert len({n.notification_id for n in made}) == 3


def test_a_persons_own_refused_void_stays_a_plain_refusal_to_them() -> None:
    made = _derive(refused(actor="admin:budi"))
    assert [(n.recipient, n.kind) for n in made] == [
        ("admin:budi", "command_rejected"),
        (tenant_feed(T), "command_rejected"),
    ]


@pytest.mark.parametrize("refusal_first", [False, True], ids=["approval-first", "refusal-first"])
def test_the_seller_who_asked_hears_of_the_refusal_whichever_arrives_first(
    refusal_first: bool,
) -> None:
    events = [decided(billing=BILLING), refused()]
    seller = feed_of(memory_ports(PAYMENT_ADMINS), events[::-1] if refusal_first else events)
    (told,) = [n for n in seller if n.kind == "billing_undo_rejected"]
    assert told.data["order_id"] == "ORD-1" and told.data["request_id"] == "CR-ORD-1"
    assert "Invoice INV-ORD-1 untuk order ORD-1 tidak dapat dibatalkan" in told.body
    assert PAID in told.body


def test_ids_are_the_same_whichever_order_and_however_often_it_is_read() -> None:
    first = feed_of(memory_ports(), [decided(billing=BILLING), refused(), refused()])
    second = feed_of(memory_ports(), [refused(), decided(billing=BILLING), decided()])
    assert {n.notification_id for n in first} == {n.notification_id for n in second}
    assert len({n.notification_id for n in first}) == 2  # the approval, the refusal


def test_two_approvals_under_one_correlation_the_refusal_finds_the_order_it_billed() -> None:
    two = {"invoice_no": "INV-ORD-2", "payment_nos": ["PAY-ORD-2"]}
    events = [
        decided("ORD-1", billing=BILLING),
        decided("ORD-2", billing=two),
        refused("payment.release", "PAY-ORD-2"),
    ]
    seller = feed_of(memory_ports(), events)
    (told,) = [n for n in seller if n.kind == "billing_undo_rejected"]
    assert told.data["order_id"] == "ORD-2" and told.data["payment_no"] == "PAY-ORD-2"
    assert told.title == "Pembayaran belum dapat dilepas"


def test_a_refusal_of_another_decision_or_sender_never_reaches_this_seller() -> None:
    events = [
        decided(billing=BILLING),
        refused(correlation="someone-else"),
        refused("payment.release", "PAY-ORD-1", actor="admin:budi"),
    ]
    seller = feed_of(memory_ports(), events)
    assert [n.kind for n in seller] == ["pickup_cancel_approved"]


def test_a_void_and_a_refused_release_of_one_approval_each_reach_the_seller() -> None:
    events = [decided(billing=BILLING), voided(), refused("payment.release", "PAY-ORD-1")]
    seller = feed_of(memory_ports(), events)
    assert [n.kind for n in seller] == [
        "pickup_cancel_approved",
        "invoice_voided",
        "billing_undo_rejected",
    ]


def test_the_seller_reads_the_refusal_in_their_own_locale() -> None:
    ports = memory_ports()
    ports.locales.chosen[(T, SELLER)] = "en"  # type: ignore[attr-defined]
    seller = feed_of(ports, [refused(), decided(billing=BILLING)])
    assert seller[-1].title == "Invoice could not be voided"
    assert seller[-1].body.endswith("The back office has been told.")
