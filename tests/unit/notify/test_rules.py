"""Which facts reach which feed: the seller who asked, the tenant feed, never another tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify_svc.model import Locale, Notification, SourceEvent
from services.notify_svc.rules import Malformed, Routing, derive_notifications, tenant_feed

AT = datetime(2023, 8, 22, 9, 30, tzinfo=UTC)


def _event(type_: str, data: dict[str, Any], actor: str | None = None, **kw: Any) -> SourceEvent:
    return SourceEvent(
        type=type_,
        tenantid=kw.get("tenantid", "dist-1"),
        event_id=kw.get("event_id", "evt-1"),
        time=AT,
        data=data,
        actor=actor,
    )


def _derive(event: SourceEvent, routing: Routing | None = None) -> tuple[Notification, ...]:
    result = derive_notifications(event, routing=routing)
    assert not isinstance(result, Malformed), result
    return result


DECIDED_REJECT = {
    "request_id": "req-1",
    "order_id": "SO-88",
    "decision": "reject",
    "reason": "Paket sudah di kurir",
    "requested_reason": "Alamat salah",
    "decided_by": "admin:ops-1",
    "requested_by": "user:seller-17",
}


def test_rejected_cancellation_goes_to_the_seller_who_asked_not_the_deciding_admin() -> None:
    out = _derive(_event("pickup.cancel.decided", DECIDED_REJECT, actor="admin:ops-1"))
    assert [n.recipient for n in out] == ["user:seller-17", tenant_feed("dist-1")]
    seller = out[0]
    assert seller.kind == "pickup_cancel_rejected" and seller.locale == "id"
    assert "Paket sudah di kurir" in seller.body
    assert seller.data["order_id"] == "SO-88" and seller.source_event_id == "evt-1"
    assert seller.created_at == AT and seller.tenantid == "dist-1"


def test_same_event_twice_gives_the_same_ids_and_each_recipient_its_own_id() -> None:
    first = _derive(_event("pickup.cancel.decided", DECIDED_REJECT))
    again = _derive(_event("pickup.cancel.decided", DECIDED_REJECT))
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    assert len({n.notification_id for n in first}) == 2
    other = _derive(_event("pickup.cancel.decided", DECIDED_REJECT, event_id="evt-2"))
    assert not {n.notification_id for n in first} & {n.notification_id for n in other}


def test_same_event_id_in_another_tenant_is_another_notification() -> None:
    a = _derive(_event("pickup.cancel.decided", DECIDED_REJECT, tenantid="dist-1"))
    b = _derive(_event("pickup.cancel.decided", DECIDED_REJECT, tenantid="dist-2"))
    assert not {n.notification_id for n in a} & {n.notification_id for n in b}
    assert {n.tenantid for n in b} == {"dist-2"} and b[1].recipient == "tenant:dist-2"


def test_approval_and_rejection_are_different_kinds() -> None:
    approve = {**DECIDED_REJECT, "decision": "approve", "voided_awb": "JNE1"}
    out = _derive(_event("pickup.cancel.decided", approve))
    assert out[0].kind == "pickup_cancel_approved" and "JNE1" in out[0].body


def test_unknown_decision_is_malformed() -> None:
    result = derive_notifications(
        _event("pickup.cancel.decided", {**DECIDED_REJECT, "decision": "maybe"})
    )
    assert isinstance(result, Malformed)


def test_a_payment_fact_goes_to_the_actor_of_the_command_that_caused_it() -> None:
    data = {"payment_no": "PR-1", "amount": "1000.00", "status": "cancelled"}
    out = _derive(_event("payment.cancelled", data, actor="admin:budi"))
    assert [n.recipient for n in out] == ["admin:budi", "tenant:dist-1"]
    assert out[0].title == "Pembayaran dibatalkan"


def test_a_system_actor_gets_no_personal_notification() -> None:
    data = {"payment_no": "PR-1", "resolved_date": "2023-08-22"}
    out = _derive(_event("payment.resolved", data, actor="system:payment"))
    assert [n.recipient for n in out] == ["tenant:dist-1"]


def test_data_cannot_redirect_a_notification() -> None:
    data = {"payment_no": "PR-1", "resolved_date": "2023-08-22", "actor": "user:mallory"}
    out = _derive(_event("payment.resolved", data, actor="tenant:dist-9"))
    assert [n.recipient for n in out] == ["tenant:dist-1"]


def test_a_refused_command_reaches_the_seller_who_sent_it_with_the_reason() -> None:
    data = {
        "command_id": "seller-arrange-9",
        "command_type": "pickup.arrange",
        "code": "invalid_state",
        "message": "order ORD-9 has an open cancellation request",
    }
    out = _derive(_event("command.rejected", data, actor="user:seller-1"))
    assert [n.recipient for n in out] == ["user:seller-1", "tenant:dist-1"]
    assert "order ORD-9 has an open cancellation request" in out[0].body
    assert out[0].title == "Perintah ditolak"


def test_a_rearranged_pickup_gives_the_seller_a_new_airway_bill() -> None:
    data = {"order_id": "SO-1", "awb": "JNE-2", "previous_awb": "JNE-1", "courier": "jne"}
    (seller, office) = _derive(_event("pickup.arranged", data, actor="user:seller-1"))
    assert seller.recipient == "user:seller-1" and office.recipient == "tenant:dist-1"
    assert seller.title == "Resi baru diterbitkan" and "JNE-2" in seller.body
    assert "JNE-1" in seller.body


def test_a_cancellation_waiting_for_a_decision_also_reaches_every_pickup_admin() -> None:
    data = {"order_id": "SO-1", "reason": "alamat", "requested_by": "user:seller-1"}
    routing = Routing(pickup_admins=frozenset({"rina", "ani"}))
    out = _derive(_event("pickup.cancel.pending", data, actor="user:seller-1"), routing)
    assert [n.recipient for n in out] == [
        "user:seller-1",
        "tenant:dist-1",
        "admin:ani",
        "admin:rina",
    ]
    decided = _derive(_event("pickup.cancel.decided", DECIDED_REJECT, "admin:rina"), routing)
    assert [n.recipient for n in decided] == ["user:seller-17", "tenant:dist-1"]


def test_an_admin_who_asked_is_not_told_twice() -> None:
    data = {"order_id": "SO-1", "reason": "alamat", "requested_by": "admin:rina"}
    routing = Routing(pickup_admins=frozenset({"rina"}))
    out = _derive(_event("pickup.cancel.pending", data), routing)
    assert [n.recipient for n in out] == ["admin:rina", "tenant:dist-1"]


def test_an_admin_id_that_cannot_name_a_feed_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="admin"):
        Routing(pickup_admins=frozenset({"rina ani"}))


def test_facts_nobody_needs_to_see_yield_nothing() -> None:
    assert derive_notifications(_event("invoice.issued", {"invoice_no": "INV-1"})) == ()
    assert derive_notifications(_event("payment.allocated", {"payment_no": "PR-1"})) == ()


def test_known_event_with_missing_data_is_malformed_not_an_exception() -> None:
    result = derive_notifications(_event("pickup.arranged", {"order_id": "SO-1"}, "user:s"))
    assert isinstance(result, Malformed) and "awb" in result.reason


def test_recipient_locale_chooses_the_rendering() -> None:
    def locale_for(recipient: str) -> Locale:
        return "en" if recipient == "user:seller-17" else "id"

    event = _event("pickup.cancel.pending", {"order_id": "SO-1", "requested_by": "user:seller-17"})
    result = derive_notifications(event, locale_for=locale_for)
    assert not isinstance(result, Malformed)
    seller, feed = result
    assert seller.locale == "en" and "awaiting approval" in seller.title
    assert feed.locale == "id" and "menunggu persetujuan" in feed.title


def test_an_admins_refused_decision_reaches_that_admin() -> None:
    data = {
        "command_id": "cmd-9",
        "command_type": "pickup.cancel.decide",
        "code": "forbidden",
        "message": "actor admin:x is not a pickup admin",
    }
    out = _derive(_event("command.rejected", data, actor="admin:x"))
    assert out[0].recipient == "admin:x"
    assert "actor admin:x is not a pickup admin" in out[0].body


def test_wire_form_round_trips() -> None:
    (n, _) = _derive(_event("pickup.cancel.decided", DECIDED_REJECT))
    wire = n.to_wire()
    assert wire["created_at"] == "2023-08-22T09:30:00+00:00"
    assert Notification.from_wire(wire) == n


SLA = "system:pickup-sla"
ROUTING = Routing(pickup_admins=frozenset({"rina", "ani"}), pickup_supervisors=frozenset({"sari"}))
WAITING = {
    "request_id": "req-1",
    "order_id": "SO-1",
    "requested_reason": "Alamat salah",
    "requested_by": "user:seller-1",
    "requested_at": "2024-05-06T02:00:00+00:00",
    "deadline": "2024-05-07T02:00:00+00:00",
}


def test_a_reminder_asks_every_pickup_admin_not_the_seller_nor_the_sla_timer() -> None:
    out = _derive(_event("pickup.cancel.reminder", WAITING, actor=SLA), ROUTING)
    assert [n.recipient for n in out] == ["tenant:dist-1", "admin:ani", "admin:rina"]
    assert {n.kind for n in out} == {"pickup_cancel_reminder"}
    assert out[0].data["deadline"] == WAITING["deadline"]


def test_an_escalation_reaches_the_seller_and_every_supervisor_not_the_admins() -> None:
    data = {**WAITING, "supervisors": ["sari"]}
    out = _derive(_event("pickup.cancel.escalated", data, actor=SLA), ROUTING)
    assert [n.recipient for n in out] == ["user:seller-1", "tenant:dist-1", "admin:sari"]
    assert {n.kind for n in out} == {"pickup_cancel_escalated"}


VOID_FAILED = {
    "request_id": "req-1",
    "order_id": "SO-1",
    "awb": "JNE-1",
    "courier": "jne",
    "answer": "AWB already manifested",
    "attempts": 1,
    "approved_by": SLA,
    "requested_by": "user:seller-1",
}


def test_a_failed_void_reaches_the_seller_and_every_admin_never_a_system_approver() -> None:
    out = _derive(_event("pickup.void.failed", VOID_FAILED, actor=SLA), ROUTING)
    assert [n.recipient for n in out] == [
        "user:seller-1",
        "tenant:dist-1",
        "admin:ani",
        "admin:rina",
    ]
    assert out[0].kind == "pickup_void_failed" and out[0].data["answer"] == VOID_FAILED["answer"]


def test_an_automatic_decision_reaches_the_seller_and_names_no_admin() -> None:
    auto = {**DECIDED_REJECT, "decided_by": SLA, "reason": "no decision within 24 h"}
    out = _derive(_event("pickup.cancel.decided", auto, actor=SLA), ROUTING)
    assert [n.recipient for n in out] == ["user:seller-17", "tenant:dist-1"]
    assert "otomatis" in out[0].body and "admin" not in out[0].body


def test_an_approval_after_a_void_by_hand_reaches_neither_the_approver_nor_the_voider() -> None:
    approved = {
        **DECIDED_REJECT,
        "decision": "approve",
        "decided_by": "admin:ani",
        "voided_awb": "JNE-1",
        "voided_by": "admin:rina",
        "void_note": "Dibatalkan lewat telepon ke JNE",
    }
    out = _derive(_event("pickup.cancel.decided", approved, actor="admin:rina"), ROUTING)
    assert [n.recipient for n in out] == ["user:seller-17", "tenant:dist-1"]
    assert "Dibatalkan lewat telepon ke JNE" in out[0].body
    assert out[0].data["voided_by"] == "admin:rina"


def test_a_supervisor_id_that_cannot_name_a_feed_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="supervisor"):
        Routing(pickup_supervisors=frozenset({"sari/../x y"}))


def _waiting(stage: str, actor: str = "user:collector-17") -> SourceEvent:
    data = {
        "command_id": "sfa-rec-PAY-7",
        "command_type": "payment.record",
        "awaiting": [{"kind": "invoice", "id": "INV-7"}],
        "until": "2023-08-22T09:40:00+07:00",
        "stage": stage,
    }
    return SourceEvent(
        type="command.waiting",
        tenantid="dist-1",
        event_id=f"evt-{stage}",
        time=AT,
        data=data,
        actor=actor,
        subject="PAY-7",
    )


def test_a_parked_command_tells_nobody_but_half_way_its_sender_and_the_back_office_hear() -> None:
    assert _derive(_waiting("parked")) == ()
    out = _derive(_waiting("halfway"))
    assert [n.recipient for n in out] == ["user:collector-17", tenant_feed("dist-1")]
    assert out[0].kind == "command_waiting"
    assert out[0].body.startswith("Pembayaran PAY-7 menunggu invoice INV-7 (belum diterima).")
    english = derive_notifications(_waiting("halfway"), locale_for=lambda _r: "en")
    assert not isinstance(english, Malformed)
    assert english[0].body.startswith(
        "Payment PAY-7 is waiting for invoice INV-7 (not received yet)."
    )
    # pickup_svc's own commands to payment_svc are nobody's in person: the back office hears.
    system = _derive(_waiting("halfway", actor="system:pickup"))
    assert [n.recipient for n in system] == [tenant_feed("dist-1")]
