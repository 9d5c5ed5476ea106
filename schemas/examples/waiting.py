"""Example of a command that waits (`command.waiting`): a payment recorded against an invoice
billing has not sent yet. It parks (`stage` "parked": nobody is told), is still waiting half-way
to its deadline (`stage` "halfway": the admin and the back office are told what is missing),
and is applied when the invoice comes. The sender set a W3C `traceparent`; everything the
command caused carries the same trace.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.envelope import Envelope
from schemas.examples.build import DISTRIBUTOR, WIB, _Script
from schemas.ids import derive_id

SENDER_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TIMEOUT = timedelta(seconds=600)


def payment_waiting() -> list[Envelope]:
    s = _Script(DISTRIBUTOR, datetime(2023, 11, 6, 9, 0, tzinfo=WIB))
    customer = {"customer_id": "CUST-3307", "customer_name": "TOKO BAROKAH JAYA"}
    invoice_no, payment_no = "INV-231100042", "PR-231100077"
    record = s.add(
        "payment.record",
        {
            "payment_no": payment_no,
            **customer,
            "method": "transfer",
            "amount": "2750000.00",
            "payment_date": "2023-11-06",
            "bank_account": "BCA 0183331127",
            "allocations": [{"invoice_no": invoice_no, "amount": "2750000.00"}],
        },
        source="/backoffice",
        id_=f"bo-record-{payment_no}",
        actor="admin:ani",
        traceparent=SENDER_TRACE,
    )
    waiting = {
        "command_id": record.id,
        "command_type": record.type,
        "awaiting": [{"kind": "invoice", "id": invoice_no}],
        "until": (record.time + TIMEOUT).isoformat(),
    }
    s.add(
        "command.waiting",
        {**waiting, "stage": "parked"},
        subject=payment_no,
        source="/svc/payment",
        cause=record,
        minutes=0,
    )
    s.add(
        "command.waiting",
        {**waiting, "stage": "halfway"},
        subject=payment_no,
        source="/svc/payment",
        id_=derive_id(record.id, "command.waiting/halfway"),
        cause=record,
        minutes=5,
    )
    issue = s.add(
        "invoice.issue",
        {
            "invoice_no": invoice_no,
            **customer,
            "amount": "2750000.00",
            "issue_date": "2023-11-06",
            "due_date": "2023-12-06",
        },
        source="/billing",
        id_=f"billing-{invoice_no}",
        actor="system:billing",
        minutes=2,
    )
    s.add(
        "invoice.issued",
        {
            "invoice_no": invoice_no,
            **customer,
            "amount": "2750000.00",
            "currency": "IDR",
            "outstanding": "2750000.00",
            "status": "unpaid",
            "issue_date": "2023-11-06",
            "due_date": "2023-12-06",
        },
        source="/svc/payment",
        cause=issue,
        minutes=0,
    )
    s.add(
        "payment.recorded",
        {
            "payment_no": payment_no,
            **customer,
            "amount": "2750000.00",
            "currency": "IDR",
            "method": "transfer",
            "payment_date": "2023-11-06",
            "status": "completed",
            "allocated": "2750000.00",
            "usage": "used",
            "channel": "web",
            "allocations": [{"invoice_no": invoice_no, "amount": "2750000.00"}],
        },
        source="/svc/payment",
        cause=record,
        minutes=0,
    )
    return s.messages
