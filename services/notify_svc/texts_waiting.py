"""Wording of a command that still waits half-way to its deadline for what it names (a payment
for an invoice billing has not sent), Indonesian and English.

Only the half-way `command.waiting` becomes a notification: at parking nobody must act yet;
half-way, someone should find out why the invoice (or order) has not come.
"""

from __future__ import annotations

from services.notify_svc.formatting import BadData, Fields, Rendered, listing, pick
from services.notify_svc.model import Locale
from services.notify_svc.texts_payment import COMMAND_NAMES

# How the awaited aggregate is named in a sentence.
_AWAITED: dict[str, tuple[str, str]] = {
    "invoice": ("invoice", "invoice"),
    "payment": ("pembayaran", "payment"),
    "order": ("order", "order"),
}


def _waiting_thing(command_type: str, subject: str, loc: Locale) -> str:
    """`Pembayaran PAY-1` for a payment's own commands, else the command named with its subject."""
    if command_type.startswith("payment."):
        return f"{pick(('Pembayaran', 'Payment'), loc)} {subject}"
    name = pick(COMMAND_NAMES.get(command_type, (command_type, command_type)), loc)
    if loc == "id":
        return f"Perintah {name} untuk {subject}"
    return f"The {name} command for {subject}"


def command_waiting(f: Fields, loc: Locale) -> Rendered:
    command_type, subject = f.req("command_type"), f.req("subject")
    awaited = f.parts("awaiting")
    if not awaited:
        raise BadData("a waiting command awaits something")
    until = f.moment("until", loc)
    names = [f"{pick(_AWAITED.get(a.req('kind'), (a.req('kind'),) * 2), loc)} {a.req('id')}"
             for a in awaited]  # fmt: skip
    thing = _waiting_thing(command_type, subject, loc)
    if loc == "id":
        body = f"{thing} menunggu {listing(names, loc)} (belum diterima)."
        body += f" Jika belum diterima sampai {until}, perintah ini ditolak."
        return Rendered("Menunggu data yang belum diterima", body)
    body = f"{thing} is waiting for {listing(names, loc)} (not received yet)."
    body += f" If it has not arrived by {until}, the command will be rejected."
    return Rendered("Waiting for data not received yet", body)
