"""Notifications of four eyes on cancellations and of bounced Giros: who hears, what it says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import Malformed, Routing, derive_notifications
from services.notify_svc.templates import render

AT = datetime(2023, 8, 22, 9, 30, tzinfo=UTC)
ROUTING = Routing(payment_admins=frozenset({"ani", "budi", "siti"}))
PAYMENT = {
    "payment_no": "PR-230800811",
    "customer_id": "CUST-1188",
    "customer_name": "1188 MINI MARKET",
    "amount": "30878568.81",
    "allocated": "30878568.81",
    "usage": "used",
    "method": "giro",
    "payment_date": "2023-08-21",
    "giro": {"number": "BG-0045521", "bank": "BRI", "due_date": "2023-08-21"},
}


def _derive(type_: str, data: dict[str, Any], actor: str) -> tuple[Notification, ...]:
    event = SourceEvent(type_, "dist-1", "evt-1", AT, data, actor=actor)
    out = derive_notifications(event, routing=ROUTING)
    assert not isinstance(out, Malformed), out
    return out


def test_a_cancellation_waiting_for_approval_reaches_the_asker_the_office_and_every_admin() -> None:
    data = {
        **PAYMENT,
        "status": "cancel_requested",
        "reason_code": "input_error",
        "reason": "salah nominal",
        "requested_by": "admin:ani",
        "approval_amount": "5000000.00",
    }
    out = _derive("payment.cancel.requested", data, "admin:ani")
    assert [n.recipient for n in out] == [
        "admin:ani",
        "tenant:dist-1",
        "admin:budi",
        "admin:siti",
    ]
    assert out[0].title == "Pembatalan pembayaran menunggu persetujuan"
    assert "admin:ani meminta pembatalan" in out[0].body
    assert "Rp5.000.000,00" in out[0].body and "salah nominal" in out[0].body


def test_an_approved_cancellation_tells_the_admin_who_asked_and_the_one_who_approved() -> None:
    data = {
        **PAYMENT,
        "status": "cancelled",
        "allocated": "0.00",
        "usage": "unused",
        "reason": "salah nominal",
        "requested_by": "admin:ani",
        "approval_reason": "sudah dicek",
        "released": [{"invoice_no": "INV-230800511", "amount": "30878568.81"}],
    }
    out = _derive("payment.cancelled", data, "admin:budi")
    assert [n.recipient for n in out] == ["admin:budi", "admin:ani", "tenant:dist-1"]
    assert "Pembayaran pelanggan berhasil dibatalkan" in out[0].body
    assert "diminta oleh admin:ani dan disetujui admin pembayaran lain" in out[0].body
    english = render("payment_cancelled", out[0].data, "en")
    assert not isinstance(english, Exception)
    assert "asked for by admin:ani" in english.body


def test_a_rejected_cancellation_reaches_both_admins_and_says_the_payment_stands() -> None:
    data = {
        **PAYMENT,
        "status": "completed",
        "reason": "bukti transfer valid",
        "requested_by": "admin:ani",
        "requested_reason": "salah nominal",
    }
    out = _derive("payment.cancel.rejected", data, "admin:budi")
    assert [n.recipient for n in out] == ["admin:budi", "admin:ani", "tenant:dist-1"]
    assert out[0].title == "Pembatalan pembayaran ditolak"
    assert "bukti transfer valid" in out[0].body and "tetap berstatus Completed" in out[0].body


def test_a_bounced_giro_is_named_by_its_number_with_its_charge_and_invoices_owed_again() -> None:
    data = {
        **PAYMENT,
        "status": "bounced",
        "allocated": "0.00",
        "usage": "unused",
        "reason": "dana tidak cukup",
        "bank_charge": "25000.00",
        "bounced_date": "2023-08-22",
        "released": [{"invoice_no": "INV-230800511", "amount": "30878568.81"}],
    }
    out = _derive("payment.bounced", data, "admin:ani")
    assert [n.recipient for n in out] == ["admin:ani", "tenant:dist-1"]
    assert out[0].title == "Giro BG-0045521 ditolak bank"
    body = out[0].body
    assert "22 Agustus 2023" in body and "Rp25.000,00" in body and "INV-230800511" in body
    english = render("payment_bounced", out[0].data, "en")
    assert not isinstance(english, Exception)
    assert english.title == "Giro BG-0045521 bounced" and "owed again" in english.body


def test_the_daily_giro_reminder_goes_to_the_back_office_only() -> None:
    data = {**PAYMENT, "status": "active", "reminder_date": "2023-08-24", "days_overdue": 3}
    out = _derive("payment.giro.overdue", data, "system:payment")
    assert [n.recipient for n in out] == ["tenant:dist-1"]
    assert out[0].title == "Giro BG-0045521 belum cair"
    assert "21 Agustus 2023" in out[0].body and "3 hari lewat jatuh tempo" in out[0].body
    english = render("giro_overdue", out[0].data, "en")
    assert not isinstance(english, Exception)
    assert "3 days past due" in english.body and "Giro BRI BG-0045521" in english.body
