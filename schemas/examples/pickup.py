"""Example messages of seed 002: a seller cancels a courier pickup; an admin approves or rejects."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import Envelope
from schemas.examples.build import SELLER, WIB, _Script
from schemas.ids import derive_id

SELLER_USER = "user:seller-77"


class _Order:
    """One order's identities; each scenario has its own, so both can run on one system."""

    def __init__(self, number: str, payment: str) -> None:
        self.id = f"ORD-2024-{number}"
        self.invoice = f"INV-ORD-2024-{number}"
        self.payment = payment


APPROVED = _Order("000871", "PAY-2024-003310")
REJECTED = _Order("000872", "PAY-2024-003311")


def _billed(s: _Script, o: _Order) -> None:
    """Billing issues the order's invoice; the seller's prepayment is recorded against it."""
    s.add(
        "invoice.issue",
        {
            "invoice_no": o.invoice,
            "customer_id": "CUST-SELLER-77-BUYER",
            "amount": "185000.00",
            "issue_date": "2024-05-06",
            "order_id": o.id,
        },
        source="/billing",
        id_=f"billing-issue-{o.invoice}",
        actor="system:billing",
    )
    s.add(
        "payment.record",
        {
            "payment_no": o.payment,
            "customer_id": "CUST-SELLER-77-BUYER",
            "method": "transfer",
            "amount": "185000.00",
            "payment_date": "2024-05-06",
            "allocations": [{"invoice_no": o.invoice, "amount": "185000.00"}],
        },
        source="/billing",
        id_=f"billing-record-{o.payment}",
        actor="system:billing",
    )


def _arranged(
    s: _Script, o: _Order, awb: str, previous: str | None, user: str = SELLER_USER
) -> Envelope:
    order = o.id
    arrange = s.add(
        "pickup.arrange",
        {
            "order_id": order,
            "courier": "jne",
            "payment_type": "cod",
            "invoice_no": o.invoice,
            "payment_nos": [o.payment],
            "pickup_at": "2024-05-06T13:00:00+07:00",
        },
        source="/seller-app",
        id_=f"seller-arrange-{order}-{awb}",
        actor=user,
    )
    data = {"order_id": order, "awb": awb, "courier": "jne", "payment_type": "cod"}
    if previous:
        data["previous_awb"] = previous
    return s.add("pickup.arranged", data, source="/svc/pickup", cause=arrange)


def _requested(
    s: _Script, o: _Order, attempt: int, user: str = SELLER_USER
) -> tuple[Envelope, Envelope]:
    reason = "Pembeli minta ganti alamat pengiriman ke gudang baru di Bekasi."
    request = s.add(
        "pickup.cancel.requested",
        {"order_id": o.id, "reason": reason, "reason_code": "address_change", "origin": "order"},
        source="/seller-app",
        id_=f"seller-cancel-{o.id}-{attempt}",
        actor=user,
        minutes=30,
    )
    pending = s.add(
        "pickup.cancel.pending",
        {
            "request_id": f"CR-{o.id}-{attempt}",
            "order_id": o.id,
            "reason": reason,
            "reason_code": "address_change",
            "origin": "order",
            "requested_by": user,
        },
        source="/svc/pickup",
        cause=request,
    )
    return request, pending


def _settled(s: _Script, o: _Order, request_id: str, cause: Envelope) -> None:
    """What an approval asks of payment_svc for the order (caused by ``cause``, the command that
    made the bill void), and what payment_svc reports back."""
    void = s.add(
        "invoice.void",
        {"invoice_no": o.invoice, "order_id": o.id, "reason": f"pickup cancelled ({request_id})"},
        source="/svc/pickup",
        id_=derive_id(request_id, f"invoice.void/{o.invoice}"),
        actor="system:pickup",
        cause=cause,
    )
    release = s.add(
        "payment.release",
        {
            "payment_no": o.payment,
            "invoice_no": o.invoice,
            "order_id": o.id,
            "reason": f"pickup cancelled ({request_id})",
        },
        source="/svc/pickup",
        id_=derive_id(request_id, f"payment.release/{o.payment}/{o.invoice}"),
        actor="system:pickup",
        cause=cause,
    )
    s.add(
        "invoice.voided",
        {
            "invoice_no": o.invoice,
            "customer_id": "CUST-BUYER-5521",
            "amount": "185000.00",
            "outstanding": "185000.00",
            "status": "void",
            "order_id": o.id,
            "reason": f"pickup cancelled ({request_id})",
            "released": [{"payment_no": o.payment, "amount": "185000.00"}],
        },
        source="/svc/payment",
        cause=void,
    )
    s.add(
        "payment.released",
        {
            "payment_no": o.payment,
            "customer_id": "CUST-BUYER-5521",
            "status": "completed",
            "amount": "185000.00",
            "allocated": "0.00",
            "usage": "unused",
            "method": "transfer",
            "payment_date": "2024-05-06",
            "released": [{"invoice_no": o.invoice, "amount": "185000.00"}],
            "reason": f"pickup cancelled ({request_id})",
        },
        source="/svc/payment",
        cause=release,
    )


def pickup_cancel_approve() -> list[Envelope]:
    """Approved: the bill is voided, invoice voided, payment released, a new bill arranged."""
    s = _Script(SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    o = APPROVED
    _billed(s, o)
    _arranged(s, o, "JNE-0101-7781", None)
    _, pending = _requested(s, o, 1)
    decide = s.add(
        "pickup.cancel.decide",
        {"order_id": o.id, "decision": "approve", "reason": "Alamat baru sudah diverifikasi."},
        source="/backoffice",
        id_=f"bo-decide-{o.id}-1",
        actor="admin:rina",
        minutes=45,
        # The back office's APM traces its decision: the trace comes back on all it causes.
        traceparent="00-a3ce929d0e0e47364bf92f3577b34da6-53995c3f42cd8ad8-01",
    )
    s.add(
        "pickup.cancel.decided",
        {
            "request_id": f"CR-{o.id}-1",
            "order_id": o.id,
            "decision": "approve",
            "reason": "Alamat baru sudah diverifikasi.",
            "requested_reason": pending.data_dict()["reason"],
            "decided_by": "admin:rina",
            "decided_at": s.clock,
            "voided_awb": "JNE-0101-7781",
            "requested_by": SELLER_USER,
            "billing": {"invoice_no": o.invoice, "payment_nos": [o.payment]},
        },
        source="/svc/pickup",
        cause=decide,
    )
    _settled(s, o, f"CR-{o.id}-1", decide)
    s.clock = datetime(2024, 5, 7, 8, 0, tzinfo=WIB)
    _arranged(s, o, "JNE-0101-9034", "JNE-0101-7781")
    return s.messages


def pickup_cancel_reject() -> list[Envelope]:
    """Rejected: the order goes on with the same bill; the seller may ask again."""
    s = _Script(SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    o = REJECTED
    _billed(s, o)
    _arranged(s, o, "JNE-0101-7781", None)
    _, pending = _requested(s, o, 1)
    reason = "Kurir sudah dalam perjalanan ke lokasi penjemputan; pembatalan tidak dapat diproses."
    decide = s.add(
        "pickup.cancel.decide",
        {"order_id": o.id, "decision": "reject", "reason": reason},
        source="/backoffice",
        id_=f"bo-decide-{o.id}-1",
        actor="admin:rina",
        minutes=20,
    )
    s.add(
        "pickup.cancel.decided",
        {
            "request_id": f"CR-{o.id}-1",
            "order_id": o.id,
            "decision": "reject",
            "reason": reason,
            "requested_reason": pending.data_dict()["reason"],
            "decided_by": "admin:rina",
            "decided_at": s.clock,
            "requested_by": SELLER_USER,
        },
        source="/svc/pickup",
        cause=decide,
    )
    return s.messages
