"""Wording of the payment notifications (seeds 000 and 001, and the undoing of an order's billing,
or payment_svc's refusal to undo it), and of refused commands, Indonesian and English.

Texts name what a person recognises: the customer's name (else id), the method (`Giro BRI
BG-778812`), the amount, the dates paid and cleared. Every sentence states what the event says
happened, nothing payment_svc did not report.
"""

from __future__ import annotations

from services.notify_svc.formatting import (
    BadData,
    Fields,
    Rendered,
    customer,
    listing,
    method_label,
    pick,
    sentence,
)
from services.notify_svc.model import Locale

COMMAND_NAMES: dict[str, tuple[str, str]] = {
    "invoice.issue": ("penerbitan invoice", "issue invoice"),
    "invoice.void": ("pembatalan invoice", "void invoice"),
    "payment.record": ("pencatatan pembayaran", "record payment"),
    "payment.confirm": ("konfirmasi pembayaran", "confirm payment"),
    "payment.resolve": ("penyelesaian pembayaran", "resolve payment"),
    "payment.cancel": ("pembatalan pembayaran", "cancel payment"),
    "payment.cancel.approve": ("persetujuan pembatalan pembayaran", "approve payment cancellation"),
    "payment.cancel.reject": ("penolakan pembatalan pembayaran", "reject payment cancellation"),
    "payment.bounce": ("pencatatan Giro ditolak bank", "record bounced Giro"),
    "payment.allocate": ("alokasi pembayaran", "allocate payment"),
    "payment.release": ("pelepasan pembayaran", "release payment"),
    "pickup.arrange": ("Atur Pengiriman", "arrange shipping"),
    "pickup.cancel.requested": ("permintaan pembatalan pickup", "pickup cancellation request"),
    "pickup.cancel.decide": ("keputusan pembatalan pickup", "pickup cancellation decision"),
    "pickup.status": ("status pengiriman", "shipping status"),
    "pickup.void.retry": ("percobaan ulang pembatalan resi", "retry airway bill void"),
    "pickup.void.mark": ("penandaan resi dibatalkan", "mark airway bill voided"),
}

REJECTION_CODES: dict[str, tuple[str, str]] = {
    "not_found": ("data tidak ditemukan", "not found"),
    "invalid_state": (
        "tidak dapat dilakukan pada status saat ini",
        "not allowed in the current status",
    ),
    "conflict": (
        "bertentangan dengan perintah sebelumnya dengan id yang sama",
        "conflicts with an earlier command with the same id",
    ),
    "tenant_mismatch": ("data milik akun lain", "belongs to another account"),
    "over_allocation": (
        "alokasi melebihi sisa tagihan",
        "allocation exceeds the outstanding amount",
    ),
    "invalid": ("data tidak valid", "invalid data"),
    "forbidden": ("Anda tidak berwenang", "not permitted"),
}

CANCEL_REASON_CODES: dict[str, tuple[str, str]] = {
    "customer_request": ("permintaan pelanggan", "customer request"),
    "input_error": ("kesalahan input", "input error"),
    "giro_bounced": ("Giro ditolak bank", "Giro bounced"),
    "order_cancelled": ("order dibatalkan", "order cancelled"),
    "other": ("lainnya", "other"),
}

# The seller app's words for a payment's usage (seed 002: "Telah digunakan" / "Belum digunakan").
_USAGE: dict[str, tuple[str, str]] = {
    "unused": ('Pembayaran ini kini berstatus "Belum digunakan".', 'The payment is now "unused".'),
    "partially_used": (
        'Pembayaran ini kini berstatus "Sebagian digunakan".',
        'The payment is now "partially used".',
    ),
}


def _named(f: Fields, loc: Locale, *, inner: bool = False) -> str:
    """`PR-230800811 (Giro BRI BG-778812), pelanggan 1188 MINI MARKET`: what people know; with
    `inner`, all in the parentheses: `PR-230800811 (Giro BRI BG-778812, pelanggan …)`."""
    label, number, who = method_label(f, loc), f.req("payment_no"), customer(f)
    whose = (f"pelanggan {who}" if loc == "id" else f"customer {who}") if who else None
    if inner:
        details = ", ".join(part for part in (label, whose) if part)
        return f"{number} ({details})" if details else number
    text = f"{number} ({label})" if label else number
    return f"{text}, {whose}" if whose else text


def payment_phrase(f: Fields, loc: Locale) -> str:
    """`Pembayaran PR-230800811 (Giro BRI BG-778812), pelanggan …, sejumlah Rp…`."""
    amount = f.money(loc)
    if loc == "id":
        return f"Pembayaran {_named(f, loc)}" + (f", sejumlah {amount}" if amount else "")
    return f"Payment {_named(f, loc)}" + (f", amount {amount}" if amount else "")


def _lines(f: Fields, key: str, loc: Locale) -> list[str]:
    """Released allocation lines as `INV-1 (Rp185.000,00)` (`key` names the other side)."""
    return [
        f"{line.req(key)} ({line.money(loc)})" if line.has("amount") else line.req(key)
        for line in f.parts("released")
    ]


def _cancel_reason(f: Fields, loc: Locale) -> str | None:
    code, reason = f.opt("reason_code"), f.opt("reason")
    why = [pick(CANCEL_REASON_CODES[code], loc)] if code in CANCEL_REASON_CODES else []
    why += [reason] if reason else []
    return sentence(" — ".join(why)) if why else None


def payment_cancelled(f: Fields, loc: Locale) -> Rendered:
    why, paid = _cancel_reason(f, loc), f.opt_day("payment_date", loc)
    invoices = [line.req("invoice_no") for line in f.parts("released")]
    if loc == "id":
        body = f"Pembayaran pelanggan berhasil dibatalkan. {payment_phrase(f, loc)}"
        body += (f", tanggal bayar {paid}" if paid else "") + "."
        body += f" Alasan: {why}" if why else ""
        if invoices:
            body += (
                f" Alokasinya ke invoice {listing(invoices, loc)} dikembalikan, sehingga sisa "
                "tagihan invoice tersebut kembali terbuka."
            )
        body += _approved(f, loc)
        return Rendered("Pembayaran dibatalkan", body)
    body = f"The customer payment was cancelled. {payment_phrase(f, loc)}"
    body += (f", paid on {paid}" if paid else "") + "."
    body += f" Reason: {why}" if why else ""
    if invoices:
        body += (
            f" Its allocations to invoice {listing(invoices, loc)} were reversed, so those "
            "invoices are outstanding again."
        )
    body += _approved(f, loc)
    return Rendered("Payment cancelled", body)


def _approved(f: Fields, loc: Locale) -> str:
    """Four eyes: who asked for the cancellation that a second admin approved."""
    asked, note = f.opt("requested_by"), f.opt("approval_reason")
    if asked is None:
        return ""
    if loc == "id":
        text = f" Pembatalan diminta oleh {asked} dan disetujui admin pembayaran lain."
        return text + (f" Catatan persetujuan: {sentence(note)}" if note else "")
    text = f" The cancellation was asked for by {asked} and approved by another payment admin."
    return text + (f" Approval note: {sentence(note)}" if note else "")


def payment_resolved(f: Fields, loc: Locale) -> Rendered:
    cleared, paid = f.day("resolved_date", loc), f.opt_day("payment_date", loc)
    if loc == "id":
        body = f"{payment_phrase(f, loc)}, telah cair dan berstatus Completed."
        body += f" Tanggal bayar: {paid}; tanggal cair: {cleared}." if paid else ""
        body += "" if paid else f" Tanggal cair: {cleared}."
        return Rendered("Pembayaran selesai", body)
    body = f"{payment_phrase(f, loc)}, has cleared and is now Completed."
    body += f" Paid on {paid}; cleared on {cleared}." if paid else f" Cleared on {cleared}."
    return Rendered("Payment resolved", body)


def invoice_voided(f: Fields, loc: Locale) -> Rendered:
    number, order, who = f.req("invoice_no"), f.opt("order_id"), customer(f)
    amount, lines = f.money(loc), listing(_lines(f, "payment_no", loc), loc)
    if loc == "id":
        body = f"Invoice {number}" + (f" untuk order {order}" if order else "")
        body += (f", pelanggan {who}" if who else "") + (f", sejumlah {amount}" if amount else "")
        body += ("," if who or amount else "") + " telah dibatalkan (void)."
        body += f" Alokasi pembayaran {lines} ke invoice ini dilepas." if lines else ""
        return Rendered("Invoice dibatalkan", body)
    body = f"Invoice {number}" + (f" of order {order}" if order else "")
    body += (f", customer {who}" if who else "") + (f", amount {amount}" if amount else "")
    body += ("," if who or amount else "") + " is void."
    body += f" The allocation of payment {lines} to it was released." if lines else ""
    return Rendered("Invoice voided", body)


def payment_released(f: Fields, loc: Locale) -> Rendered:
    order, usage = f.opt("order_id"), f.opt("usage")
    invoices = listing(_lines(f, "invoice_no", loc), loc)
    after = [pick(_USAGE[usage], loc)] if usage in _USAGE else []
    if loc == "id":
        body = (
            f"Alokasi pembayaran {_named(f, loc, inner=True)} ke invoice {invoices} telah dilepas"
        )
        body += f" karena pembatalan pickup order {order}." if order else "."
        title = 'Pembayaran kembali "Belum digunakan"' if usage == "unused" else "Alokasi dilepas"
        return Rendered(title, " ".join([body, *after]))
    body = (
        f"The allocation of payment {_named(f, loc, inner=True)} to invoice {invoices} was released"
    )
    body += f" for the cancelled pickup of order {order}." if order else "."
    title = 'Payment back to "unused"' if usage == "unused" else "Payment allocation released"
    return Rendered(title, " ".join([body, *after]))


def command_rejected(f: Fields, loc: Locale) -> Rendered:
    command_type, code = f.req("command_type"), f.req("code")
    command_id, message = f.opt("command_id"), f.opt("message")
    name = pick(COMMAND_NAMES[command_type], loc) if command_type in COMMAND_NAMES else None
    why = pick(REJECTION_CODES[code], loc) if code in REJECTION_CODES else code
    ref = f" ({command_id})" if command_id else ""
    if loc == "id":
        what = f"Perintah {name or command_type}{ref}"
        body = f"{what} ditolak: {why}." + (f" Keterangan: {sentence(message)}" if message else "")
        return Rendered("Perintah ditolak", body)
    what = f"Your {name or command_type} command{ref}"
    body = f"{what} was rejected: {why}." + (f" Details: {sentence(message)}" if message else "")
    return Rendered("Command rejected", body)


# What payment_svc refused to undo of an approved cancellation, by the refused command's type:
# the thing (Indonesian, English), what could not be done to it (Indonesian, English), the field
# naming it.
_UNDO: dict[str, tuple[tuple[str, str], tuple[str, str], str]] = {
    "invoice.void": (("Invoice", "Invoice"), ("dibatalkan", "voided"), "invoice_no"),
    "payment.release": (("Pembayaran", "Payment"), ("dilepas", "released"), "payment_no"),
}


def billing_undo_rejected(f: Fields, loc: Locale) -> Rendered:
    """payment_svc refused the `invoice.void` / `payment.release` of an approved cancellation."""
    command_type, code, message = f.req("command_type"), f.req("code"), f.opt("message")
    if command_type not in _UNDO:
        raise BadData(f"{command_type!r} undoes nothing of a cancelled pickup")
    (thing, done, number_field), order = _UNDO[command_type], f.opt("order_id")
    number, why = f.opt(number_field), pick(REJECTION_CODES.get(code, (code, code)), loc)
    name = pick(thing, loc) + (f" {number}" if number else "")
    if loc == "id":
        body = name + (f" untuk order {order}" if order else "")
        body += f" tidak dapat {done[0]} oleh sistem pembayaran: {why}."
        body += (f" Keterangan: {sentence(message)}" if message else "") + " "
        body += "Back office telah diberi tahu."
        return Rendered(f"{pick(thing, loc)} belum dapat {done[0]}", body)
    body = name + (f" of order {order}" if order else "")
    body += f" could not be {done[1]} by the payment system: {why}."
    body += (f" Details: {sentence(message)}" if message else "") + " "
    body += "The back office has been told."
    return Rendered(f"{pick(thing, loc)} could not be {done[1]}", body)
