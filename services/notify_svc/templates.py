"""Wording of every notification, in Indonesian (default) and English, rendered from kind + data.

Pure: the feed API re-renders a stored notification in another locale from the same `data`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from services.notify_svc.model import Locale

CENT = Decimal("0.01")
# Indonesian swaps the English separators: "." groups thousands, "," marks the decimals.
_ID_SEPARATORS = str.maketrans(",.", ".,")


class Kind(StrEnum):
    """What a notification tells; stable strings, part of the `notifications` contract."""

    PICKUP_CANCEL_REQUESTED = "pickup_cancel_requested"
    PICKUP_CANCEL_APPROVED = "pickup_cancel_approved"
    PICKUP_CANCEL_REJECTED = "pickup_cancel_rejected"
    PICKUP_ARRANGED = "pickup_arranged"
    PAYMENT_CANCELLED = "payment_cancelled"
    PAYMENT_RESOLVED = "payment_resolved"
    COMMAND_REJECTED = "command_rejected"


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Unrenderable:
    """The data cannot produce this kind of message (a required field is missing or malformed)."""

    reason: str


class _BadData(Exception):
    """Internal short-cut out of a template; `render` turns it into an `Unrenderable` value."""


_MONTHS_ID = (
    *("Januari", "Februari", "Maret", "April", "Mei", "Juni"),
    *("Juli", "Agustus", "September", "Oktober", "November", "Desember"),
)
_MONTHS_EN = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)

_COMMAND_NAMES: dict[str, tuple[str, str]] = {
    "invoice.issue": ("penerbitan invoice", "issue invoice"),
    "invoice.void": ("pembatalan invoice", "void invoice"),
    "payment.record": ("pencatatan pembayaran", "record payment"),
    "payment.confirm": ("konfirmasi pembayaran", "confirm payment"),
    "payment.resolve": ("penyelesaian pembayaran", "resolve payment"),
    "payment.cancel": ("pembatalan pembayaran", "cancel payment"),
    "payment.allocate": ("alokasi pembayaran", "allocate payment"),
    "payment.release": ("pelepasan pembayaran", "release payment"),
    "pickup.arrange": ("Atur Pengiriman", "arrange shipping"),
    "pickup.cancel.requested": ("permintaan pembatalan pickup", "pickup cancellation request"),
    "pickup.cancel.decide": ("keputusan pembatalan pickup", "pickup cancellation decision"),
    "pickup.status": ("status pengiriman", "shipping status"),
}

_REJECTION_CODES: dict[str, tuple[str, str]] = {
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

_CANCEL_REASON_CODES: dict[str, tuple[str, str]] = {
    "customer_request": ("permintaan pelanggan", "customer request"),
    "input_error": ("kesalahan input", "input error"),
    "giro_bounced": ("Giro ditolak bank", "Giro bounced"),
    "order_cancelled": ("order dibatalkan", "order cancelled"),
    "other": ("lainnya", "other"),
}

_METHODS: dict[str, tuple[str, str]] = {
    "giro": ("Giro", "Giro"),
    "cheque": ("Cek", "Cheque"),
    "transfer": ("Transfer", "Transfer"),
    "cash": ("Tunai", "Cash"),
}


def _sentence(text: str) -> str:
    """Free text (a reason) closed with exactly one full stop, whatever the user typed."""
    return text if text[-1] in ".!?" else f"{text}."


def _pick(pair: tuple[str, str], locale: Locale) -> str:
    return pair[0] if locale == "id" else pair[1]


def format_money(amount: Decimal, locale: Locale, currency: str = "IDR") -> str:
    """`Rp30.878.568,81` in Indonesian, `IDR 30,878,568.81` in English; always two decimals."""
    value = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if value < 0 else ""
    grouped = f"{abs(value):,.2f}"
    if locale == "en":
        return f"{sign}{currency} {grouped}"
    swapped = grouped.translate(_ID_SEPARATORS)
    prefix = "Rp" if currency == "IDR" else f"{currency} "
    return f"{sign}{prefix}{swapped}"


def format_date(day: date, locale: Locale) -> str:
    """`22 Agustus 2023` / `22 August 2023`."""
    months = _MONTHS_ID if locale == "id" else _MONTHS_EN
    return f"{day.day} {months[day.month - 1]} {day.year}"


def parse_money(raw: object) -> Decimal:
    """Money from the wire (a string or an integer, never a float) as a 2-place Decimal."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _BadData(f"amount must be a decimal string, got {type(raw).__name__}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise _BadData(f"amount {raw!r} is not a number") from exc
    if not value.is_finite() or value != value.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise _BadData(f"amount {raw!r} has more than 2 decimals")
    return value.quantize(CENT)


class _Fields:
    """Typed reads of the template data; a missing required field aborts rendering."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def req(self, name: str) -> str:
        value = self.opt(name)
        if value is None:
            raise _BadData(f"missing field {name!r}")
        return value

    def opt(self, name: str) -> str | None:
        value = self._data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _BadData(f"field {name!r} must be a string")
        text = str(value).strip()
        return text or None

    def money(self, locale: Locale) -> str | None:
        raw = self._data.get("amount")
        if raw is None:
            return None
        currency = self.opt("currency") or "IDR"
        return format_money(parse_money(raw), locale, currency)

    def day(self, name: str, locale: Locale) -> str:
        raw = self.req(name)
        try:
            return format_date(date.fromisoformat(raw), locale)
        except ValueError as exc:
            raise _BadData(f"field {name!r} is not a YYYY-MM-DD date") from exc


def _cancel_requested(f: _Fields, loc: Locale) -> Rendered:
    order, reason = f.req("order_id"), f.opt("reason")
    if loc == "id":
        body = (
            f"Permintaan pembatalan pickup untuk order {order} telah diterima dan menunggu "
            "persetujuan admin."
        )
        body += f" Alasan pembatalan: {_sentence(reason)}" if reason else ""
        return Rendered("Pembatalan pickup menunggu persetujuan", body)
    body = f"The request to cancel the pickup of order {order} was received and awaits approval."
    body += f" Reason for cancelling: {_sentence(reason)}" if reason else ""
    return Rendered("Pickup cancellation awaiting approval", body)


def _cancel_approved(f: _Fields, loc: Locale) -> Rendered:
    order, reason, awb = f.req("order_id"), f.opt("reason"), f.opt("voided_awb")
    asked = f.opt("requested_reason")
    if loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} telah disetujui admin."]
        parts += [f"Alasan admin: {_sentence(reason)}"] if reason else []
        parts += [f"Alasan pengajuan: {_sentence(asked)}"] if asked else []
        parts += [f"Resi {awb} telah hangus."] if awb else []
        parts += [
            "Invoice order ini dibatalkan dan pembayaran terkait kembali berstatus "
            '"Belum digunakan".',
            'Gunakan "Atur Pengiriman" untuk mendapatkan resi baru.',
        ]
        return Rendered("Pembatalan pickup disetujui", " ".join(parts))
    parts = [f"The admin approved cancelling the pickup of order {order}."]
    parts += [f"Admin's reason: {_sentence(reason)}"] if reason else []
    parts += [f"Your reason: {_sentence(asked)}"] if asked else []
    parts += [f"Airway bill {awb} is void."] if awb else []
    parts += [
        'The order\'s invoice is void and its payments are back to "unused".',
        'Use "Arrange shipping" to get a new airway bill.',
    ]
    return Rendered("Pickup cancellation approved", " ".join(parts))


def _cancel_rejected(f: _Fields, loc: Locale) -> Rendered:
    order, reason = f.req("order_id"), f.req("reason")
    asked = f.opt("requested_reason")
    if loc == "id":
        parts = [f"Pembatalan pickup untuk order {order} ditolak admin."]
        parts += [f"Alasan: {_sentence(reason)}"]
        parts += [f"Alasan pengajuan: {_sentence(asked)}"] if asked else []
        parts += [
            "Order tetap dilanjutkan ke proses berikutnya.",
            "Anda dapat mengajukan pembatalan kembali.",
        ]
        return Rendered("Pembatalan pickup ditolak", " ".join(parts))
    parts = [f"The admin rejected cancelling the pickup of order {order}."]
    parts += [f"Reason: {_sentence(reason)}"]
    parts += [f"Your reason: {_sentence(asked)}"] if asked else []
    parts += ["The order continues as planned.", "You may request the cancellation again."]
    return Rendered("Pickup cancellation rejected", " ".join(parts))


def _arranged(f: _Fields, loc: Locale) -> Rendered:
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


def _customer_part(f: _Fields, loc: Locale) -> str:
    who = f.opt("customer_name") or f.opt("customer_id")
    if not who:
        return ""
    return f", pelanggan {who}" if loc == "id" else f", customer {who}"


def _payment_cancelled(f: _Fields, loc: Locale) -> Rendered:
    payment, reason, code = f.req("payment_no"), f.opt("reason"), f.opt("reason_code")
    amount = f.money(loc)
    why = [_pick(_CANCEL_REASON_CODES[code], loc)] if code in _CANCEL_REASON_CODES else []
    why += [reason] if reason else []
    if loc == "id":
        body = f"Pembayaran pelanggan berhasil dibatalkan. Pembayaran {payment}"
        body += _customer_part(f, loc) + (f", sejumlah {amount}" if amount else "") + "."
        body += f" Alasan: {_sentence(' — '.join(why))}" if why else ""
        body += " Alokasi ke invoice dikembalikan sehingga sisa tagihan kembali terbuka."
        return Rendered("Pembayaran dibatalkan", body)
    body = f"The customer payment was cancelled. Payment {payment}"
    body += _customer_part(f, loc) + (f", amount {amount}" if amount else "") + "."
    body += f" Reason: {_sentence(' — '.join(why))}" if why else ""
    body += " Its allocations were reversed, so the invoices are outstanding again."
    return Rendered("Payment cancelled", body)


def _payment_resolved(f: _Fields, loc: Locale) -> Rendered:
    payment, resolved = f.req("payment_no"), f.day("resolved_date", loc)
    amount, method = f.money(loc), f.opt("method")
    label = _pick(_METHODS[method], loc) if method in _METHODS else None
    if loc == "id":
        what = f"Pembayaran {label} {payment}" if label else f"Pembayaran {payment}"
        body = what + _customer_part(f, loc) + (f", sejumlah {amount}," if amount else "")
        body += f" telah cair dan berstatus Completed. Tanggal penyelesaian: {resolved}."
        return Rendered("Pembayaran selesai", body)
    what = f"{label} payment {payment}" if label else f"Payment {payment}"
    body = what + _customer_part(f, loc) + (f", amount {amount}," if amount else "")
    body += f" has cleared and is now Completed. Resolved date: {resolved}."
    return Rendered("Payment resolved", body)


def _command_rejected(f: _Fields, loc: Locale) -> Rendered:
    command_type, code = f.req("command_type"), f.req("code")
    command_id, message = f.opt("command_id"), f.opt("message")
    name = _pick(_COMMAND_NAMES[command_type], loc) if command_type in _COMMAND_NAMES else None
    why = _pick(_REJECTION_CODES[code], loc) if code in _REJECTION_CODES else code
    ref = f" ({command_id})" if command_id else ""
    if loc == "id":
        what = f"Perintah {name or command_type}{ref}"
        body = f"{what} ditolak: {why}." + (f" Keterangan: {_sentence(message)}" if message else "")
        return Rendered("Perintah ditolak", body)
    what = f"Your {name or command_type} command{ref}"
    body = f"{what} was rejected: {why}." + (f" Details: {_sentence(message)}" if message else "")
    return Rendered("Command rejected", body)


_TEMPLATES: dict[Kind, Callable[[_Fields, Locale], Rendered]] = {
    Kind.PICKUP_CANCEL_REQUESTED: _cancel_requested,
    Kind.PICKUP_CANCEL_APPROVED: _cancel_approved,
    Kind.PICKUP_CANCEL_REJECTED: _cancel_rejected,
    Kind.PICKUP_ARRANGED: _arranged,
    Kind.PAYMENT_CANCELLED: _payment_cancelled,
    Kind.PAYMENT_RESOLVED: _payment_resolved,
    Kind.COMMAND_REJECTED: _command_rejected,
}


def render(kind: str, data: Mapping[str, Any], locale: Locale = "id") -> Rendered | Unrenderable:
    """Title and body of a `kind` notification about `data`, in `locale`."""
    try:
        template = _TEMPLATES[Kind(kind)]
    except ValueError:
        return Unrenderable(f"unknown notification kind {kind!r}")
    try:
        return template(_Fields(data), locale)
    except _BadData as exc:
        return Unrenderable(str(exc))
