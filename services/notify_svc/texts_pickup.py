"""Wording of the pickup notifications (seed 002), Indonesian and English.

An approval states only what has happened: the airway bill is void (pickup_svc did that itself).
The invoice and payments are payment_svc's to undo; the approval says whether there is anything to
undo (`billing` on `pickup.cancel.decided`), and the seller is told it is done by separate
notifications when payment_svc's `invoice.voided` / `payment.released` are seen (`settlement`).
"""

from __future__ import annotations

from services.notify_svc.formatting import Fields, Rendered, listing, sentence
from services.notify_svc.model import Locale

_REARRANGE = (
    'Gunakan "Atur Pengiriman" untuk mendapatkan resi baru.',
    'Use "Arrange shipping" to get a new airway bill.',
)


def cancel_requested(f: Fields, loc: Locale) -> Rendered:
    order, reason = f.req("order_id"), f.opt("reason")
    if loc == "id":
        body = (
            f"Permintaan pembatalan pickup untuk order {order} telah diterima dan menunggu "
            "persetujuan admin."
        )
        body += f" Alasan pembatalan: {sentence(reason)}" if reason else ""
        return Rendered("Pembatalan pickup menunggu persetujuan", body)
    body = f"The request to cancel the pickup of order {order} was received and awaits approval."
    body += f" Reason for cancelling: {sentence(reason)}" if reason else ""
    return Rendered("Pickup cancellation awaiting approval", body)


def _billing(f: Fields, loc: Locale) -> str:
    """What the approval means for the order's invoice and payments, as far as it is known."""
    billing = f.part("billing")
    if billing is None:  # an event from before pickup_svc said what it asked payment_svc to do
        if loc == "id":
            return (
                "Jika order ini memiliki invoice atau pembayaran, Anda akan menerima notifikasi "
                "terpisah setelah invoice dibatalkan dan pembayarannya dikembalikan."
            )
        return (
            "If this order has an invoice or payments, you will get a separate notification "
            "once the invoice is void and the payments are released."
        )
    invoice, payments = billing.opt("invoice_no"), billing.texts("payment_nos")
    if invoice is None and not payments:
        if loc == "id":
            return (
                "Order ini tidak memiliki invoice maupun pembayaran, jadi tidak ada yang perlu "
                "dibatalkan."
            )
        return "This order has no invoice and no payments, so there is nothing to void."
    if loc == "id":
        work = [f"membatalkan invoice {invoice}"] if invoice else []
        work += [f"melepas pembayaran {listing(payments, loc)}"] if payments else []
        return (
            f"Sistem pembayaran diminta {listing(work, loc)}; Anda akan menerima notifikasi "
            "terpisah setelah selesai."
        )
    work = [f"void invoice {invoice}"] if invoice else []
    work += [f"release payment {listing(payments, loc)}"] if payments else []
    return (
        f"The payment system was asked to {listing(work, loc)}; you will get a separate "
        "notification once it is done."
    )


def cancel_approved(f: Fields, loc: Locale) -> Rendered:
    order, reason, awb = f.req("order_id"), f.opt("reason"), f.opt("voided_awb")
    asked = f.opt("requested_reason")
    if loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} telah disetujui admin."]
        parts += [f"Alasan admin: {sentence(reason)}"] if reason else []
        parts += [f"Alasan pengajuan: {sentence(asked)}"] if asked else []
        parts += [f"Resi {awb} telah hangus."] if awb else []
        parts += [_billing(f, loc), _REARRANGE[0]]
        return Rendered("Pembatalan pickup disetujui", " ".join(parts))
    parts = [f"The admin approved cancelling the pickup of order {order}."]
    parts += [f"Admin's reason: {sentence(reason)}"] if reason else []
    parts += [f"Your reason: {sentence(asked)}"] if asked else []
    parts += [f"Airway bill {awb} is void."] if awb else []
    parts += [_billing(f, loc), _REARRANGE[1]]
    return Rendered("Pickup cancellation approved", " ".join(parts))


def cancel_rejected(f: Fields, loc: Locale) -> Rendered:
    order, reason = f.req("order_id"), f.req("reason")
    asked = f.opt("requested_reason")
    if loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} ditolak admin."]
        parts += [f"Alasan: {sentence(reason)}"]
        parts += [f"Alasan pengajuan: {sentence(asked)}"] if asked else []
        parts += [
            "Order tetap dilanjutkan ke proses berikutnya.",
            "Anda dapat mengajukan pembatalan kembali.",
        ]
        return Rendered("Pembatalan pickup ditolak", " ".join(parts))
    parts = [f"The admin rejected cancelling the pickup of order {order}."]
    parts += [f"Reason: {sentence(reason)}"]
    parts += [f"Your reason: {sentence(asked)}"] if asked else []
    parts += ["The order continues as planned.", "You may request the cancellation again."]
    return Rendered("Pickup cancellation rejected", " ".join(parts))


def arranged(f: Fields, loc: Locale) -> Rendered:
    order, awb, previous = f.req("order_id"), f.req("awb"), f.opt("previous_awb")
    courier = f.opt("courier")
    if loc == "id":
        via = f" melalui kurir {courier}" if courier else ""
        body = f"Pengiriman order {order} telah diatur{via}. Nomor resi: {awb}."
        body += f" Resi lama {previous} sudah tidak berlaku." if previous else ""
        return Rendered("Resi baru diterbitkan" if previous else "Pengiriman diatur", body)
    via = f" with courier {courier}" if courier else ""
    body = f"Shipping for order {order} is arranged{via}. Airway bill: {awb}."
    body += f" The previous airway bill {previous} is no longer valid." if previous else ""
    return Rendered("New airway bill issued" if previous else "Shipping arranged", body)
