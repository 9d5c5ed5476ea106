"""Four eyes on large cancellations and bounced giros, decided by the pure domain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.common.domain import Meta
from services.payment_svc.domain.bouncing import bounce_payment
from services.payment_svc.domain.cancelling import approve_cancel, cancel_payment, reject_cancel
from services.payment_svc.domain.commands import (
    AllocationLine,
    ApproveCancel,
    BouncePayment,
    CancelPayment,
    IssueInvoice,
    RecordPayment,
    RejectCancel,
)
from services.payment_svc.domain.model import Giro
from services.payment_svc.domain.outcomes import Decision, Rejected
from services.payment_svc.domain.policy import ApprovalAmounts
from services.payment_svc.handlers import authorize
from tests.unit.payment.fakes import Store, meta

D = Decimal
DAY = date(2023, 8, 21)
ADMINS = frozenset({"ani", "budi"})
LIMIT = D("1000.00")


def paid_store(method: str = "transfer") -> Store:
    store = Store()
    store.handle(IssueInvoice("INV-1", "C-1", D("1500.00"), DAY), meta("i1"))
    giro = Giro("BG-1", "BRI", DAY) if method == "giro" else None
    record = RecordPayment(
        "P-1",
        "C-1",
        method,
        D("1500.00"),
        DAY,
        giro=giro,  # type: ignore[arg-type]
        allocations=(AllocationLine("INV-1", D("1500.00")),),
    )
    store.handle(record, meta("p1"))
    return store


def applied(store: Store, outcome: object) -> Decision:
    assert isinstance(outcome, Decision), outcome
    store.apply(outcome)
    return outcome


def cancel(store: Store, m: Meta, limit: Decimal | None = LIMIT) -> object:
    invoices = {"INV-1": store.invoice("INV-1")}
    return cancel_payment(
        store.payment("P-1"), invoices, CancelPayment("P-1", reason="typo"), m, limit
    )


def test_a_large_cancellation_waits_for_a_second_admin_and_the_invoice_stays_paid() -> None:
    store = paid_store()
    decision = applied(store, cancel(store, meta("c1", actor="admin:ani")))
    assert [e.type for e in decision.events] == ["payment.cancel.requested"]
    payment = store.payment("P-1")
    assert (payment.status, payment.cancel_requested_by) == ("cancel_requested", "admin:ani")
    assert store.invoice("INV-1").status == "paid"


def test_below_the_amount_or_without_one_a_cancellation_is_immediate() -> None:
    for limit in (D("1500.01"), None):
        store = paid_store()
        decision = applied(store, cancel(store, meta("c1", actor="admin:ani"), limit))
        assert [e.type for e in decision.events] == ["payment.cancelled"]
        assert store.invoice("INV-1").outstanding == D("1500.00")


def test_the_asking_admin_may_not_decide_another_admin_approves_and_history_shows_both() -> None:
    store = paid_store()
    applied(store, cancel(store, meta("c1", actor="admin:ani")))
    own = authorize(
        "payment.cancel.approve",
        meta("a0", actor="admin:ani"),
        ADMINS,
        payment=store.payment("P-1"),
    )
    assert isinstance(own, Rejected) and own.code == "forbidden" and "four eyes" in own.message
    other = meta("a1", actor="admin:budi")
    assert authorize("payment.cancel.approve", other, ADMINS, payment=store.payment("P-1")) is None
    invoices = {"INV-1": store.invoice("INV-1")}
    decision = applied(
        store, approve_cancel(store.payment("P-1"), invoices, ApproveCancel("P-1"), other)
    )
    [event] = decision.events
    assert event.type == "payment.cancelled" and event.requested_by == "admin:ani"
    assert store.payment("P-1").status == "cancelled"
    assert store.invoice("INV-1").outstanding == D("1500.00")
    moves = [(h.from_status, h.to_status, h.actor) for h in store.history if h.entity == "payment"]
    assert moves[-2:] == [
        ("completed", "cancel_requested", "admin:ani"),
        ("cancel_requested", "cancelled", "admin:budi"),
    ]


def test_a_rejected_cancellation_leaves_the_payment_completed_and_can_be_asked_again() -> None:
    store = paid_store()
    applied(store, cancel(store, meta("c1", actor="admin:ani")))
    decision = applied(
        store,
        reject_cancel(
            store.payment("P-1"), {}, RejectCancel("P-1", "valid"), meta("r1", actor="admin:budi")
        ),
    )
    assert [e.type for e in decision.events] == ["payment.cancel.rejected"]
    assert store.payment("P-1").status == "completed"
    assert store.payment("P-1").cancel_requested_by is None
    assert store.invoice("INV-1").status == "paid"
    again = cancel(store, meta("c2", actor="admin:budi"))
    assert isinstance(again, Decision)


def test_a_second_cancel_while_one_waits_is_invalid_state() -> None:
    store = paid_store()
    applied(store, cancel(store, meta("c1", actor="admin:ani")))
    refusal = cancel(store, meta("c2", actor="admin:budi"))
    assert isinstance(refusal, Rejected) and refusal.code == "invalid_state"


def test_per_tenant_amounts_override_the_default_and_off_means_none() -> None:
    amounts = ApprovalAmounts(D("5000000.00"), {"t-big": D("9000000.00"), "t-none": None})
    assert amounts.for_tenant("t-other") == D("5000000.00")
    assert amounts.for_tenant("t-big") == D("9000000.00")
    assert amounts.for_tenant("t-none") is None


def test_a_bounced_giro_reverses_its_allocations_and_keeps_the_bank_charge() -> None:
    store = paid_store("giro")
    cmd = BouncePayment("P-1", "dana tidak cukup", D("25000.00"), date(2023, 8, 22))
    invoices = {"INV-1": store.invoice("INV-1")}
    decision = applied(store, bounce_payment(store.payment("P-1"), invoices, cmd, meta("b1")))
    assert [e.type for e in decision.events] == ["payment.bounced"]
    payment = store.payment("P-1")
    assert (payment.status, payment.bank_charge, payment.allocations) == (
        "bounced",
        D("25000.00"),
        (),
    )
    assert payment.cancel_reason_code == "giro_bounced"
    assert (store.invoice("INV-1").status, store.invoice("INV-1").outstanding) == (
        "unpaid",
        D("1500.00"),
    )


def test_only_an_active_giro_can_bounce() -> None:
    cash = paid_store()
    cmd = BouncePayment("P-1", "ditolak")
    refused = bounce_payment(cash.payment("P-1"), {}, cmd, meta("b1"))
    assert isinstance(refused, Rejected) and refused.code == "invalid"
    store = paid_store("giro")
    invoices = {"INV-1": store.invoice("INV-1")}
    applied(store, bounce_payment(store.payment("P-1"), invoices, cmd, meta("b1")))
    twice = bounce_payment(store.payment("P-1"), {}, cmd, meta("b2"))
    assert isinstance(twice, Rejected) and twice.code == "invalid_state"
