"""Example messages of seed 002: a seller cancels a courier pickup; an admin approves or rejects."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import Envelope
from schemas.examples.build import SELLER, WIB, _notify, _Script
from schemas.ids import derive_id

ORDER = "ORD-2024-000871"
INVOICE = "INV-ORD-2024-000871"
PAYMENT = "PAY-2024-003310"
SELLER_USER = "user:seller-77"


def _arranged(s: _Script, order: str, awb: str, previous: str | None) -> Envelope:
    arrange = s.add(
        "pickup.arrange",
        {
            "order_id": order,
            "courier": "jne",
            "payment_type": "cod",
            "invoice_no": INVOICE,
            "payment_nos": [PAYMENT],
            "pickup_at": "2024-05-06T13:00:00+07:00",
        },
        subject=order,
        source="/seller-app",
        id_=f"seller-arrange-{order}-{awb}",
        actor=SELLER_USER,
    )
    data = {"order_id": order, "awb": awb, "courier": "jne", "payment_type": "cod"}
    if previous:
        data["previous_awb"] = previous
    return s.add("pickup.arranged", data, subject=order, source="/svc/pickup", cause=arrange)


def _requested(s: _Script, attempt: int) -> tuple[Envelope, Envelope]:
    reason = "Pembeli minta ganti alamat pengiriman ke gudang baru di Bekasi."
    request = s.add(
        "pickup.cancel.requested",
        {"order_id": ORDER, "reason": reason, "reason_code": "address_change", "origin": "order"},
        subject=ORDER,
        source="/seller-app",
        id_=f"seller-cancel-{ORDER}-{attempt}",
        actor=SELLER_USER,
        minutes=30,
    )
    pending = s.add(
        "pickup.cancel.pending",
        {
            "request_id": f"CR-{ORDER}-{attempt}",
            "order_id": ORDER,
            "reason": reason,
            "reason_code": "address_change",
            "origin": "order",
            "requested_by": SELLER_USER,
        },
        subject=ORDER,
        source="/svc/pickup",
        cause=request,
    )
    _notify(
        s,
        pending,
        "pickup_cancel_requested",
        SELLER_USER,
        "Permintaan pembatalan pickup diterima",
        f"Pembatalan pickup untuk pesanan {ORDER} menunggu persetujuan admin.",
        {"order_id": ORDER, "reason": reason},
    )
    return request, pending


def pickup_cancel_approve() -> list[Envelope]:
    """Approved: the bill is voided, invoice voided, payment released, a new bill arranged."""
    s = _Script(SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    _arranged(s, ORDER, "JNE-0101-7781", None)
    _, pending = _requested(s, 1)
    decide = s.add(
        "pickup.cancel.decide",
        {"order_id": ORDER, "decision": "approve", "reason": "Alamat baru sudah diverifikasi."},
        subject=ORDER,
        source="/backoffice",
        id_=f"bo-decide-{ORDER}-1",
        actor="admin:rina",
        minutes=45,
    )
    decided = s.add(
        "pickup.cancel.decided",
        {
            "request_id": f"CR-{ORDER}-1",
            "order_id": ORDER,
            "decision": "approve",
            "reason": "Alamat baru sudah diverifikasi.",
            "requested_reason": pending.data_dict()["reason"],
            "decided_by": "admin:rina",
            "decided_at": s.clock,
            "voided_awb": "JNE-0101-7781",
            "requested_by": SELLER_USER,
        },
        subject=ORDER,
        source="/svc/pickup",
        cause=decide,
    )
    request_id = f"CR-{ORDER}-1"
    void = s.add(
        "invoice.void",
        {"invoice_no": INVOICE, "reason": f"pickup cancelled ({request_id})"},
        subject=INVOICE,
        source="/svc/pickup",
        id_=derive_id(request_id, f"invoice.void/{INVOICE}"),
        actor="system:pickup",
        cause=decide,
    )
    release = s.add(
        "payment.release",
        {
            "payment_no": PAYMENT,
            "invoice_no": INVOICE,
            "reason": f"pickup cancelled ({request_id})",
        },
        subject=PAYMENT,
        source="/svc/pickup",
        id_=derive_id(request_id, f"payment.release/{PAYMENT}/{INVOICE}"),
        actor="system:pickup",
        cause=decide,
    )
    s.add(
        "invoice.voided",
        {
            "invoice_no": INVOICE,
            "customer_id": "CUST-BUYER-5521",
            "amount": "185000.00",
            "outstanding": "185000.00",
            "status": "void",
            "order_id": ORDER,
            "reason": f"pickup cancelled ({request_id})",
            "released": [{"payment_no": PAYMENT, "amount": "185000.00"}],
        },
        subject=INVOICE,
        source="/svc/payment",
        cause=void,
    )
    s.add(
        "payment.released",
        {
            "payment_no": PAYMENT,
            "customer_id": "CUST-BUYER-5521",
            "status": "completed",
            "amount": "185000.00",
            "allocated": "0.00",
            "usage": "unused",
            "released": [{"invoice_no": INVOICE, "amount": "185000.00"}],
            "reason": f"pickup cancelled ({request_id})",
        },
        subject=PAYMENT,
        source="/svc/payment",
        cause=release,
    )
    _notify(
        s,
        decided,
        "pickup_cancel_approved",
        SELLER_USER,
        "Pembatalan pickup disetujui",
        f"Pembatalan pickup pesanan {ORDER} disetujui: Alamat baru sudah diverifikasi. "
        "Resi JNE-0101-7781 dibatalkan.",
        {"order_id": ORDER, "voided_awb": "JNE-0101-7781"},
    )
    s.clock = datetime(2024, 5, 7, 8, 0, tzinfo=WIB)
    _arranged(s, ORDER, "JNE-0101-9034", "JNE-0101-7781")
    return s.messages


def pickup_cancel_reject() -> list[Envelope]:
    """Rejected: the order goes on with the same bill; the seller may ask again."""
    s = _Script(SELLER, datetime(2024, 5, 6, 9, 0, tzinfo=WIB))
    _arranged(s, ORDER, "JNE-0101-7781", None)
    _, pending = _requested(s, 1)
    reason = "Kurir sudah dalam perjalanan ke lokasi penjemputan; pembatalan tidak dapat diproses."
    decide = s.add(
        "pickup.cancel.decide",
        {"order_id": ORDER, "decision": "reject", "reason": reason},
        subject=ORDER,
        source="/backoffice",
        id_=f"bo-decide-{ORDER}-1",
        actor="admin:rina",
        minutes=20,
    )
    decided = s.add(
        "pickup.cancel.decided",
        {
            "request_id": f"CR-{ORDER}-1",
            "order_id": ORDER,
            "decision": "reject",
            "reason": reason,
            "requested_reason": pending.data_dict()["reason"],
            "decided_by": "admin:rina",
            "decided_at": s.clock,
            "requested_by": SELLER_USER,
        },
        subject=ORDER,
        source="/svc/pickup",
        cause=decide,
    )
    _notify(
        s,
        decided,
        "pickup_cancel_rejected",
        SELLER_USER,
        "Pembatalan pickup ditolak",
        f"Pembatalan pickup pesanan {ORDER} ditolak: {reason} Anda dapat mengajukan kembali.",
        {"order_id": ORDER, "reason": reason},
    )
    return s.messages
