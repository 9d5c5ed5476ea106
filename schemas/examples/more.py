"""Example messages for the types the seed pages do not walk through: crediting a payment to an
invoice later (`payment.allocate`) and a courier's status for an airway bill (`pickup.status`).

Every type of the contract has at least one example; the AsyncAPI document shows them.
"""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import Envelope
from schemas.examples.build import DISTRIBUTOR, SELLER, WIB, _Script

SELLER_USER = "user:seller-77"


def payment_allocate() -> list[Envelope]:
    """A transfer arrives before its invoice is known; an admin later credits it to the invoice."""
    s = _Script(DISTRIBUTOR, datetime(2023, 10, 2, 9, 0, tzinfo=WIB))
    customer = {"customer_id": "CUST-2041", "customer_name": "TOKO SUMBER REJEKI"}
    issue = s.add(
        "invoice.issue",
        {
            "invoice_no": "INV-231000118",
            **customer,
            "amount": "1250000.00",
            "issue_date": "2023-10-02",
            "due_date": "2023-11-01",
        },
        source="/billing",
        id_="billing-INV-231000118",
        actor="system:billing",
    )
    s.add(
        "invoice.issued",
        {
            "invoice_no": "INV-231000118",
            **customer,
            "amount": "1250000.00",
            "currency": "IDR",
            "outstanding": "1250000.00",
            "status": "unpaid",
            "issue_date": "2023-10-02",
            "due_date": "2023-11-01",
        },
        source="/svc/payment",
        cause=issue,
    )
    record = s.add(
        "payment.record",
        {
            "payment_no": "PR-231000214",
            **customer,
            "method": "transfer",
            "amount": "1250000.00",
            "payment_date": "2023-10-03",
            "bank_account": "BCA 0183331127",
        },
        source="/backoffice",
        id_="bo-record-PR-231000214",
        actor="admin:ani",
    )
    payment = {
        "payment_no": "PR-231000214",
        **customer,
        "amount": "1250000.00",
        "currency": "IDR",
        "method": "transfer",
        "payment_date": "2023-10-03",
    }
    s.add(
        "payment.recorded",
        {
            **payment,
            "status": "completed",
            "allocated": "0",
            "usage": "unused",
            "channel": "web",
        },
        source="/svc/payment",
        cause=record,
    )
    allocate = s.add(
        "payment.allocate",
        {
            "payment_no": "PR-231000214",
            "allocations": [{"invoice_no": "INV-231000118", "amount": "1250000.00"}],
        },
        source="/backoffice",
        id_="bo-allocate-PR-231000214-1",
        actor="admin:ani",
        minutes=30,
    )
    s.add(
        "payment.allocated",
        {
            **payment,
            "status": "completed",
            "allocated": "1250000.00",
            "usage": "used",
            "allocations": [{"invoice_no": "INV-231000118", "amount": "1250000.00"}],
        },
        source="/svc/payment",
        cause=allocate,
    )
    return s.messages


def pickup_picked_up() -> list[Envelope]:
    """A seller arranges a pickup; the courier reports the parcel picked up (no cancel after)."""
    s = _Script(SELLER, datetime(2024, 5, 7, 10, 0, tzinfo=WIB))
    order = "ORD-2024-000905"
    arrange = s.add(
        "pickup.arrange",
        {"order_id": order, "courier": "sicepat", "payment_type": "prepaid"},
        source="/seller-app",
        id_=f"seller-arrange-{order}-1",
        actor=SELLER_USER,
    )
    awb = "SCP-000905-01"
    s.add(
        "pickup.arranged",
        {"order_id": order, "awb": awb, "courier": "sicepat", "payment_type": "prepaid"},
        source="/svc/pickup",
        cause=arrange,
    )
    status = s.add(
        "pickup.status",
        {"order_id": order, "awb": awb, "status": "picked_up"},
        source="/courier/sicepat",
        id_=f"sicepat-{awb}-picked_up",
        actor="system:courier-sicepat",
        minutes=180,
    )
    s.add(
        "pickup.status.updated",
        {"order_id": order, "awb": awb, "status": "picked_up"},
        source="/svc/pickup",
        cause=status,
    )
    return s.messages
