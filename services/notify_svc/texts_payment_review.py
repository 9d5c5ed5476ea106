"""Wording of the payment notifications beyond the seeds, Indonesian and English: a large
cancellation waiting for a second admin (four eyes) and its rejection, a Giro the bank refused
(bounced), and the daily reminder of a Giro still Active past its due date."""

from __future__ import annotations

from services.notify_svc.formatting import Fields, Rendered, listing, method_label, pick, sentence
from services.notify_svc.model import Locale
from services.notify_svc.texts_payment import CANCEL_REASON_CODES, payment_phrase


def _instrument(f: Fields, loc: Locale) -> str:
    """`Giro BG-0045521` (or `Cek …`): what the bank refused or has not cleared."""
    giro = f.part("giro")
    kind = "Cek" if f.opt("method") == "cheque" and loc == "id" else None
    kind = kind or ("Cheque" if f.opt("method") == "cheque" else "Giro")
    number = giro.opt("number") if giro is not None else None
    return f"{kind} {number}" if number else f"{kind} {f.req('payment_no')}"


def cancel_requested(f: Fields, loc: Locale) -> Rendered:
    asked, limit = f.req("requested_by"), f.money(loc, "approval_amount")
    code, reason = f.opt("reason_code"), f.opt("reason")
    why = [pick(CANCEL_REASON_CODES[code], loc)] if code in CANCEL_REASON_CODES else []
    why += [reason] if reason else []
    if loc == "id":
        body = f"{asked} meminta pembatalan {payment_phrase(f, loc)}."
        body += f" Alasan: {sentence(' — '.join(why))}" if why else ""
        body += (
            f" Jumlahnya mencapai batas persetujuan {limit}, jadi admin pembayaran lain harus "
            "menyetujui atau menolaknya. Sampai saat itu pembayaran tetap berlaku."
        )
        return Rendered("Pembatalan pembayaran menunggu persetujuan", body)
    body = f"{asked} asked to cancel {payment_phrase(f, loc)}."
    body += f" Reason: {sentence(' — '.join(why))}" if why else ""
    body += (
        f" The amount reaches the approval limit of {limit}, so another payment admin must "
        "approve or reject it. Until then the payment stands."
    )
    return Rendered("Payment cancellation awaits approval", body)


def cancel_rejected(f: Fields, loc: Locale) -> Rendered:
    asked, reason, asked_why = f.req("requested_by"), f.req("reason"), f.opt("requested_reason")
    if loc == "id":
        body = f"Permintaan pembatalan {payment_phrase(f, loc)} oleh {asked} ditolak."
        body += f" Alasan penolakan: {sentence(reason)}"
        body += f" Alasan permintaan: {sentence(asked_why)}" if asked_why else ""
        body += " Pembayaran tetap berstatus Completed."
        return Rendered("Pembatalan pembayaran ditolak", body)
    body = f"The request by {asked} to cancel {payment_phrase(f, loc)} was rejected."
    body += f" Reason: {sentence(reason)}"
    body += f" It was asked for because: {sentence(asked_why)}" if asked_why else ""
    body += " The payment stays Completed."
    return Rendered("Payment cancellation rejected", body)


def bounced(f: Fields, loc: Locale) -> Rendered:
    what, reason = _instrument(f, loc), f.req("reason")
    on, charge = f.opt_day("bounced_date", loc), f.money(loc, "bank_charge")
    invoices = [line.req("invoice_no") for line in f.parts("released")]
    if loc == "id":
        body = f"{payment_phrase(f, loc)}, ditolak bank" + (f" pada {on}" if on else "") + "."
        body += f" Alasan: {sentence(reason)}"
        body += f" Biaya tolakan bank: {charge}." if charge else ""
        if invoices:
            body += (
                f" Alokasinya ke invoice {listing(invoices, loc)} dikembalikan, sehingga "
                "tagihan invoice tersebut kembali terbuka."
            )
        return Rendered(f"{what} ditolak bank", body)
    body = f"{payment_phrase(f, loc)}, was refused by the bank" + (f" on {on}" if on else "") + "."
    body += f" Reason: {sentence(reason)}"
    body += f" Bank charge: {charge}." if charge else ""
    if invoices:
        body += (
            f" Its allocations to invoice {listing(invoices, loc)} were reversed, so those "
            "invoices are owed again."
        )
    return Rendered(f"{what} bounced", body)


def giro_overdue(f: Fields, loc: Locale) -> Rendered:
    what, label = _instrument(f, loc), method_label(f, loc)
    giro = f.part("giro")
    due = giro.day("due_date", loc) if giro is not None else None
    days = f.req("days_overdue")
    amount = f.money(loc)
    if loc == "id":
        body = f"{label or what} untuk pembayaran {f.req('payment_no')}"
        body += f", pelanggan {f.opt('customer_name') or f.req('customer_id')}"
        body += (f", sejumlah {amount}" if amount else "") + ","
        body += f" jatuh tempo {due}" if due else ""
        body += f" dan masih berstatus Active ({days} hari lewat jatuh tempo)."
        body += " Periksa ke bank, lalu selesaikan pembayarannya atau catat bila ditolak bank."
        return Rendered(f"{what} belum cair", body)
    body = f"{label or what} of payment {f.req('payment_no')}"
    body += f", customer {f.opt('customer_name') or f.req('customer_id')}"
    body += (f", amount {amount}" if amount else "") + ","
    body += f" was due on {due}" if due else ""
    body += f" and is still Active ({days} days past due)."
    body += " Check with the bank, then resolve the payment or record the bounce."
    return Rendered(f"{what} not cleared yet", body)
