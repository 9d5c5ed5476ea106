"""An admin's note on a payment: kept in its history, the payment otherwise as it was."""

from __future__ import annotations

from collections.abc import Mapping

from services.common.domain import Meta
from services.payment_svc.domain.commands import NotePayment
from services.payment_svc.domain.events import PaymentNoted, figures
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Moved, Outcome, Rejected
from services.payment_svc.domain.rules import status_change

NOTE = "note"  # the history entry's reason_code: a note, not a status change
MAX_NOTE_CHARS = 500  # as the wire's Reason


def note_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: NotePayment, meta: Meta
) -> Outcome:
    """Any status takes a note (a cancelled payment's story goes on being told); a blank one
    says nothing and is refused."""
    note = cmd.note.strip()
    if not note:
        return Rejected("invalid", "a note must say something")
    if len(note) > MAX_NOTE_CHARS:
        return Rejected("invalid", f"a note holds at most {MAX_NOTE_CHARS} characters")
    entry = status_change(
        current, current.status, current.status, meta, reason=note, reason_code=NOTE
    )
    event = PaymentNoted(**figures(current), note=note, noted_by=meta.actor)
    return Moved(current, (entry,)).decision(event)
