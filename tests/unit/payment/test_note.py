"""``payment.note``: a payment admin's note is kept in the payment's history, nothing else moves;
anyone else is refused before the ledger is looked at."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.payment_svc.domain.commands import (
    AllocationLine,
    CancelPayment,
    IssueInvoice,
    NotePayment,
    RecordPayment,
)
from services.payment_svc.domain.events import PaymentNoted
from services.payment_svc.domain.outcomes import Decision, Rejected
from tests.unit.payment.fakes import Store, meta

DAY = date(2023, 8, 21)


def recorded() -> Store:
    store = Store()
    store.handle(IssueInvoice("INV-1", "C-1", Decimal("100.00"), DAY), meta("i1"))
    line = AllocationLine("INV-1", Decimal("60.00"))
    store.handle(
        RecordPayment("P-1", "C-1", "cash", Decimal("60.00"), DAY, allocations=(line,)),
        meta("r1"),
    )
    return store


def test_an_admins_note_is_kept_in_the_history_and_changes_nothing_else() -> None:
    store = recorded()
    before = store.state()
    outcome = store.handle(
        NotePayment("P-1", "  customer called: keep it  "), meta("n1", actor="admin:siti")
    )
    assert isinstance(outcome, Decision), outcome
    assert store.state() == before
    (event,) = outcome.events
    assert isinstance(event, PaymentNoted)
    assert (event.note, event.noted_by, event.status) == (
        "customer called: keep it",
        "admin:siti",
        "completed",
    )
    entry = store.history[-1]
    assert (entry.from_status, entry.to_status, entry.reason_code, entry.reason) == (
        "completed",
        "completed",
        "note",
        "customer called: keep it",
    )
    assert (entry.actor, entry.command_id) == ("admin:siti", "n1")


def test_a_cancelled_payment_still_takes_a_note() -> None:
    store = recorded()
    store.handle(CancelPayment("P-1", "input_error"), meta("c1"))
    outcome = store.handle(NotePayment("P-1", "re-entered as P-2"), meta("n1"))
    assert isinstance(outcome, Decision)
    assert store.history[-1].to_status == "cancelled"


def test_only_a_payment_admin_may_note_and_a_stranger_learns_nothing() -> None:
    store = recorded()
    for actor in ("user:sales-17", "admin:stranger", "system:pickup"):
        for payment_no in ("P-1", "P-404"):
            refused = store.handle(NotePayment(payment_no, "hello"), meta("n", actor=actor))
            assert isinstance(refused, Rejected)
            assert refused.code == "forbidden" and "add notes to payments" in refused.message
    assert [h.reason_code for h in store.history if h.reason_code == "note"] == []


def test_a_note_on_no_payment_or_saying_nothing_is_refused() -> None:
    store = recorded()
    missing = store.handle(NotePayment("P-404", "hello"), meta("n1"))
    assert isinstance(missing, Rejected) and missing.code == "not_found"
    blank = store.handle(NotePayment("P-1", "   "), meta("n2"))
    assert isinstance(blank, Rejected) and blank.code == "invalid"
    other_tenant = store.handle(NotePayment("P-1", "hello"), meta("n3", tenant="dist-2"))
    assert isinstance(other_tenant, Rejected) and other_tenant.code == "not_found"
