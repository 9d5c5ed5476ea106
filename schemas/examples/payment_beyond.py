"""Example messages beyond the seeds: a Giro reminded past its due date that the bank refuses
(and the admin's note on it), and a large cancellation that a second admin approves (four eyes)."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import Envelope
from schemas.examples.build import DISTRIBUTOR, WIB, _Script

_GIRO = {"number": "BG-0045530", "bank": "BRI", "due_date": "2023-08-25"}
_BOUNCING = {
    "payment_no": "PR-230800840",
    "customer_id": "CUST-1188",
    "customer_name": "1188 MINI MARKET",
    "amount": "12500000.00",
    "method": "giro",
    "payment_date": "2023-08-21",
    "giro": _GIRO,
}


def giro_bounce() -> list[Envelope]:
    """A Giro still Active the day after its due date is reminded; then the bank refuses it."""
    s = _Script(DISTRIBUTOR, datetime(2023, 8, 21, 9, 0, tzinfo=WIB))
    line = {"invoice_no": "INV-230800530", "amount": "12500000.00"}
    s.add(
        "invoice.issue",
        {
            "invoice_no": "INV-230800530",
            "customer_id": "CUST-1188",
            "customer_name": "1188 MINI MARKET",
            "amount": "12500000.00",
            "issue_date": "2023-08-01",
        },
        source="/billing",
        id_="billing-INV-230800530",
        actor="system:billing",
    )
    record = s.add(
        "payment.record",
        {
            "payment_no": "PR-230800840",
            "customer_id": "CUST-1188",
            "customer_name": "1188 MINI MARKET",
            "method": "giro",
            "amount": "12500000.00",
            "payment_date": "2023-08-21",
            "giro": _GIRO,
            "allocations": [line],
        },
        source="/backoffice",
        id_="bo-record-PR-230800840",
        actor="admin:ani",
    )
    used = {**_BOUNCING, "status": "active", "allocated": "12500000.00", "usage": "used"}
    s.add(
        "payment.recorded",
        {**used, "channel": "web", "allocations": [line]},
        source="/svc/payment",
        cause=record,
    )
    s.clock = datetime(2023, 8, 26, 7, 0, tzinfo=WIB)
    s.add(
        "payment.giro.overdue",
        {**used, "reminder_date": "2023-08-26", "days_overdue": 1},
        source="/svc/payment",
        actor="system:payment",
    )
    bounce = s.add(
        "payment.bounce",
        {
            "payment_no": "PR-230800840",
            "reason": "Dana tidak cukup",
            "bank_charge": "25000.00",
            "bounced_date": "2023-08-26",
        },
        source="/backoffice",
        id_="bo-bounce-PR-230800840",
        actor="admin:ani",
        minutes=120,
    )
    s.add(
        "payment.bounced",
        {
            **_BOUNCING,
            "status": "bounced",
            "allocated": "0.00",
            "usage": "unused",
            "reason": "Dana tidak cukup",
            "bank_charge": "25000.00",
            "bounced_date": "2023-08-26",
            "released": [line],
        },
        source="/svc/payment",
        cause=bounce,
    )
    note = "Pelanggan akan transfer ulang 2023-08-30"
    noting = s.add(
        "payment.note",
        {"payment_no": "PR-230800840", "note": note},
        source="/backoffice",
        id_="bo-note-PR-230800840",
        actor="admin:ani",
        minutes=30,
    )
    s.add(
        "payment.noted",
        {
            **_BOUNCING,
            "status": "bounced",
            "allocated": "0.00",
            "usage": "unused",
            "note": note,
            "noted_by": "admin:ani",
        },
        source="/svc/payment",
        cause=noting,
    )
    return s.messages


def payment_cancel_approval() -> list[Envelope]:
    """A completed transfer above the approval amount: admin:budi asks, admin:ani approves."""
    s = _Script(DISTRIBUTOR, datetime(2025, 2, 3, 8, 0, tzinfo=WIB))
    payment = {
        "payment_no": "CP-250200007",
        "customer_id": "CUST-2040",
        "amount": "8000000.00",
        "method": "transfer",
        "payment_date": "2025-02-03",
    }
    _ask_to_cancel(s, payment, "customer_request", "Dobel")
    approve = s.add(
        "payment.cancel.approve",
        {"payment_no": "CP-250200007", "reason": "Mutasi rekening dicek"},
        source="/backoffice",
        id_="bo-approve-CP-250200007",
        actor="admin:ani",
        minutes=30,
    )
    s.add(
        "payment.cancelled",
        {
            **payment,
            "status": "cancelled",
            "allocated": "0.00",
            "usage": "unused",
            "reason_code": "customer_request",
            "reason": "Dobel",
            "requested_by": "admin:budi",
            "approval_reason": "Mutasi rekening dicek",
        },
        source="/svc/payment",
        cause=approve,
    )
    return s.messages


def payment_cancel_rejection() -> list[Envelope]:
    """A completed transfer above the approval amount: admin:budi asks, admin:ani refuses."""
    s = _Script(DISTRIBUTOR, datetime(2025, 2, 4, 9, 0, tzinfo=WIB))
    payment = {
        "payment_no": "CP-250200015",
        "customer_id": "CUST-2040",
        "amount": "6500000.00",
        "method": "transfer",
        "payment_date": "2025-02-04",
    }
    _ask_to_cancel(s, payment, "input_error", "Salah nominal")
    reject = s.add(
        "payment.cancel.reject",
        {"payment_no": "CP-250200015", "reason": "Nominal sesuai bukti transfer"},
        source="/backoffice",
        id_="bo-reject-CP-250200015",
        actor="admin:ani",
        minutes=20,
    )
    s.add(
        "payment.cancel.rejected",
        {
            **payment,
            "status": "completed",
            "allocated": "0.00",
            "usage": "unused",
            "reason": "Nominal sesuai bukti transfer",
            "requested_by": "admin:budi",
            "requested_reason": "Salah nominal",
        },
        source="/svc/payment",
        cause=reject,
    )
    return s.messages


def _ask_to_cancel(s: _Script, payment: dict[str, str], reason_code: str, reason: str) -> None:
    """admin:budi asks to cancel ``payment``, which is at or above the approval amount: it waits
    for a second admin."""
    no = payment["payment_no"]
    ask = s.add(
        "payment.cancel",
        {"payment_no": no, "reason_code": reason_code, "reason": reason},
        source="/backoffice",
        id_=f"bo-cancel-{no}",
        actor="admin:budi",
    )
    s.add(
        "payment.cancel.requested",
        {
            **payment,
            "status": "cancel_requested",
            "allocated": "0.00",
            "usage": "unused",
            "reason_code": reason_code,
            "reason": reason,
            "requested_by": "admin:budi",
            "approval_amount": "5000000.00",
        },
        source="/svc/payment",
        cause=ask,
    )
