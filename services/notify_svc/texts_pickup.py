"""Wording of the pickup notifications (seed 002), Indonesian and English.

An approval states only what has happened: the airway bill is void (pickup_svc did that itself).
The invoice and payments are payment_svc's to undo; the approval says whether there is anything to
undo (`billing` on `pickup.cancel.decided`), and the seller is told it is done by separate
notifications when payment_svc's `invoice.voided` / `payment.released` are seen (`settlement`).
A decision `system:*` took (at the deadline, `system:pickup-sla`) is said to be automatic and why;
it never names an admin. The decision deadline's reminder and escalation, and a courier void that
failed, have texts of their own (a person must act on them).
"""

from __future__ import annotations

import re

from services.notify_svc.formatting import Fields, Rendered, listing, pick, sentence
from services.notify_svc.model import Locale

SYSTEM_PREFIX = "system:"
# The reason pickup_svc gives an automatic decision (domain/deadline.py `DeadlinePolicy.reason`).
_NO_DECISION = re.compile(r"^no decision within (\d+(?:\.\d+)?) h$")

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


def _automatic(f: Fields) -> bool:
    return (f.opt("decided_by") or "").startswith(SYSTEM_PREFIX)


def _why_automatic(f: Fields, loc: Locale) -> str:
    """Why nobody decided: "no decision within N h" in the reader's words, else the reason."""
    reason = f.opt("reason")
    matched = _NO_DECISION.match(reason or "")
    if matched:
        hours = matched.group(1)
        if loc == "id":
            return f"karena tidak ada keputusan dalam {hours.replace('.', ',')} jam."
        return f"because no decision came within {hours} h."
    if loc == "id":
        return f"oleh sistem. Alasan: {sentence(reason)}" if reason else "oleh sistem."
    return f"by the system. Reason: {sentence(reason)}" if reason else "by the system."


def _void_note(f: Fields, loc: Locale) -> list[str]:
    """The admin's note when the bill was marked voided by hand (the courier's void failed)."""
    note = f.opt("void_note")
    if note is None:
        return []
    return [f"{pick(('Catatan pembatalan resi', 'Note on the void'), loc)}: {sentence(note)}"]


def _automatically(f: Fields, loc: Locale, order: str, approved: bool) -> str:
    """The opening of a decision nobody took: automatic, and why; no admin is named."""
    why = _why_automatic(f, loc)
    if loc == "id":
        verb = "disetujui" if approved else "ditolak"
        return f"Pembatalan pickup untuk order {order} {verb} otomatis {why}"
    verb = "approved" if approved else "rejected"
    return f"Cancelling the pickup of order {order} was {verb} automatically {why}"


def cancel_approved(f: Fields, loc: Locale) -> Rendered:
    order, reason, awb = f.req("order_id"), f.opt("reason"), f.opt("voided_awb")
    asked = f.opt("requested_reason")
    if _automatic(f):
        parts = [_automatically(f, loc, order, approved=True)]
    elif loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} telah disetujui admin."]
        parts += [f"Alasan admin: {sentence(reason)}"] if reason else []
    else:
        parts = [f"The admin approved cancelling the pickup of order {order}."]
        parts += [f"Admin's reason: {sentence(reason)}"] if reason else []
    if loc == "id":
        parts += [f"Alasan pengajuan: {sentence(asked)}"] if asked else []
        parts += [f"Resi {awb} telah hangus."] if awb else []
        parts += [*_void_note(f, loc), _billing(f, loc), _REARRANGE[0]]
        return Rendered("Pembatalan pickup disetujui", " ".join(parts))
    parts += [f"Your reason: {sentence(asked)}"] if asked else []
    parts += [f"Airway bill {awb} is void."] if awb else []
    parts += [*_void_note(f, loc), _billing(f, loc), _REARRANGE[1]]
    return Rendered("Pickup cancellation approved", " ".join(parts))


def cancel_rejected(f: Fields, loc: Locale) -> Rendered:
    order, asked = f.req("order_id"), f.opt("requested_reason")
    if _automatic(f):
        parts = [_automatically(f, loc, order, approved=False)]
    elif loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} ditolak admin."]
        parts += [f"Alasan: {sentence(f.req('reason'))}"]
    else:
        parts = [f"The admin rejected cancelling the pickup of order {order}."]
        parts += [f"Reason: {sentence(f.req('reason'))}"]
    if loc == "id":
        parts += [f"Alasan pengajuan: {sentence(asked)}"] if asked else []
        parts += [
            "Order tetap dilanjutkan ke proses berikutnya.",
            "Anda dapat mengajukan pembatalan kembali.",
        ]
        return Rendered("Pembatalan pickup ditolak", " ".join(parts))
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


def cancel_reminder(f: Fields, loc: Locale) -> Rendered:
    """To the pickup admins, at half the decision time."""
    order, asked = f.req("order_id"), f.opt("requested_reason")
    since, due = f.moment("requested_at", loc), f.moment("deadline", loc)
    if loc == "id":
        body = (
            f"Permintaan pembatalan pickup untuk order {order} menunggu keputusan Anda sejak "
            f"{since}. Putuskan sebelum {due}."
        )
        body += f" Alasan pengajuan: {sentence(asked)}" if asked else ""
        return Rendered("Pembatalan pickup menunggu keputusan Anda", body)
    body = (
        f"The request to cancel the pickup of order {order} has been waiting for your decision "
        f"since {since}. Decide by {due}."
    )
    body += f" The seller's reason: {sentence(asked)}" if asked else ""
    return Rendered("Pickup cancellation awaits your decision", body)


def cancel_escalated(f: Fields, loc: Locale) -> Rendered:
    """To the supervisors and the seller who asked: the deadline passed undecided."""
    order, asked = f.req("order_id"), f.opt("requested_reason")
    since, due = f.moment("requested_at", loc), f.moment("deadline", loc)
    if loc == "id":
        body = (
            f"Permintaan pembatalan pickup untuk order {order} (diajukan {since}) belum "
            f"diputuskan hingga batas waktu {due} dan telah dieskalasi ke supervisor."
        )
        body += f" Alasan pengajuan: {sentence(asked)}" if asked else ""
        return Rendered("Pembatalan pickup dieskalasi", body)
    body = (
        f"The request to cancel the pickup of order {order} (asked {since}) was not decided by "
        f"its deadline, {due}, and has been escalated to the supervisors."
    )
    body += f" Reason given: {sentence(asked)}" if asked else ""
    return Rendered("Pickup cancellation escalated", body)


def void_failed(f: Fields, loc: Locale) -> Rendered:
    """To the seller and the admins: approved, but the courier did not void the bill."""
    order, awb, answer = f.req("order_id"), f.req("awb"), f.req("answer")
    courier, attempts = f.opt("courier"), f.opt("attempts")
    again = attempts is not None and attempts != "1"
    if loc == "id":
        at = f" di kurir {courier}" if courier else ""
        parts = [
            f"Pembatalan pickup untuk order {order} telah disetujui, tetapi resi {awb} belum "
            f"dapat dibatalkan{at}."
        ]
        parts += [f"Jawaban kurir: {sentence(answer)}"]
        parts += [f"Ini percobaan ke-{attempts}."] if again else []
        parts += [
            "Pengaturan pengiriman ulang menunggu hingga admin mencoba pembatalan lagi atau "
            "menandai resi sudah dibatalkan."
        ]
        return Rendered("Resi belum dapat dibatalkan", " ".join(parts))
    at = f" at courier {courier}" if courier else ""
    parts = [
        f"Cancelling the pickup of order {order} was approved, but airway bill {awb} could not "
        f"be voided{at} yet."
    ]
    parts += [f"The courier's answer: {sentence(answer)}"]
    parts += [f"This was attempt {attempts}."] if again else []
    parts += [
        "Arranging shipping again waits until an admin retries the void or marks the bill voided."
    ]
    return Rendered("Airway bill not voided yet", " ".join(parts))
