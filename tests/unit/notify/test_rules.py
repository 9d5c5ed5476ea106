"""Which facts reach which feed: the seller who asked, the tenant feed, never another tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.notify_svc.model import Locale, Notification, SourceEvent
from services.notify_svc.rules import Malformed, derive_notifications, tenant_feed

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


def _derive(event: SourceEvent) -> tuple[Notification, ...]:
    result = derive_notifications(event)
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


def test_payment_fact_goes_to_the_envelope_actor_when_data_names_nobody() -> None:
    data = {"payment_no": "PR-1", "amount": "1000.00", "status": "cancelled"}
    out = _derive(_event("payment.cancelled", data, actor="user:admin-bo"))
    assert [n.recipient for n in out] == ["user:admin-bo", "tenant:dist-1"]
    assert out[0].title == "Pembayaran dibatalkan"


def test_a_system_actor_gets_no_personal_notification() -> None:
    data = {"payment_no": "PR-1", "resolved_date": "2023-08-22"}
    out = _derive(_event("payment.resolved", data, actor="system:payment"))
    assert [n.recipient for n in out] == ["tenant:dist-1"]


def test_data_cannot_redirect_a_notification_into_the_tenant_feed_twice() -> None:
    data = {"payment_no": "PR-1", "resolved_date": "2023-08-22", "actor": "tenant:dist-1"}
    out = _derive(_event("payment.resolved", data, actor="tenant:dist-9"))
    assert [n.recipient for n in out] == ["tenant:dist-1"]


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


def test_command_rejection_reaches_the_sender_with_the_reason() -> None:
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
