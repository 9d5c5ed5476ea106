"""The help-centre workflows (seeds 000 and 001) played through the pure payment domain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.payment_svc.domain.commands import (
    AllocationLine,
    CancelPayment,
    ConfirmPayment,
    IssueInvoice,
    RecordPayment,
    ResolvePayment,
)
from services.payment_svc.domain.events import PaymentCancelled, PaymentResolved
from services.payment_svc.domain.model import Giro
from services.payment_svc.domain.outcomes import Decision, Rejected
from tests.unit.payment.fakes import Store, event_types, meta

MINI_MARKET = "1188-MINI-MARKET"
GIRO_AMOUNT = Decimal("30878568.81")


def test_completed_payment_cp_250100041_is_cancelled_and_invoice_outstanding_restored() -> None:
    store = Store()
    store.handle(
        IssueInvoice("INV-2501-0007", "CUST-77", Decimal("1500000.00"), date(2025, 1, 10)),
        meta("c1"),
    )
    store.handle(
        RecordPayment(
            "CP-250100041",
            "CUST-77",
            "transfer",
            Decimal("1500000.00"),
            date(2025, 1, 15),
            allocations=(AllocationLine("INV-2501-0007", Decimal("1500000.00")),),
        ),
        meta("c2"),
    )
    assert store.payment("CP-250100041").status == "completed"
    assert store.invoice("INV-2501-0007").status == "paid"
    assert store.invoice("INV-2501-0007").outstanding == Decimal("0.00")

    outcome = store.handle(
        CancelPayment("CP-250100041", "customer_request", "Pelanggan minta batal"),
        meta("c3", actor="admin:siti", minute=5),
    )

    assert event_types(outcome) == ("payment.cancelled",)
    assert isinstance(outcome, Decision)
    event = outcome.events[0]
    assert isinstance(event, PaymentCancelled)
    assert (event.previous_status, event.status, event.usage) == (
        "completed",
        "cancelled",
        "unused",
    )
    assert [(r.invoice_no, r.amount) for r in event.released] == [
        ("INV-2501-0007", Decimal("1500000.00"))
    ]
    invoice = store.invoice("INV-2501-0007")
    assert invoice.outstanding == Decimal("1500000.00")
    assert invoice.status == "unpaid"
    assert store.payment("CP-250100041").allocations == ()
    change = next(
        h for h in store.history if h.entity_id == "CP-250100041" and h.command_id == "c3"
    )
    assert (change.from_status, change.to_status) == ("completed", "cancelled")
    assert (change.actor, change.reason_code, change.reason) == (
        "admin:siti",
        "customer_request",
        "Pelanggan minta batal",
    )


def _giro_store() -> Store:
    store = Store()
    store.handle(
        IssueInvoice("INV-230800455", MINI_MARKET, GIRO_AMOUNT, date(2023, 8, 1)), meta("g1")
    )
    recorded = store.handle(
        RecordPayment(
            "PR-230800811",
            MINI_MARKET,
            "giro",
            GIRO_AMOUNT,
            date(2023, 8, 21),
            giro=Giro("GR-0091", "BRI", date(2023, 8, 21)),
            bank_account="BRI 0123-01-000111-30-1",
            allocations=(AllocationLine("INV-230800455", GIRO_AMOUNT),),
        ),
        meta("g2"),
    )
    assert event_types(recorded) == ("payment.recorded",)
    return store


def test_giro_pr_230800811_is_active_until_resolved_then_completed() -> None:
    store = _giro_store()
    assert store.payment("PR-230800811").status == "active"
    # Covered, but by a giro that has not cleared yet.
    assert store.invoice("INV-230800455").status == "in_payment"

    outcome = store.handle(
        ResolvePayment("PR-230800811", date(2023, 8, 22)), meta("g3", minute=60 * 24)
    )

    assert isinstance(outcome, Decision)
    event = outcome.events[0]
    assert isinstance(event, PaymentResolved)
    assert (event.previous_status, event.status) == ("active", "completed")
    assert event.resolved_date == date(2023, 8, 22)
    assert event.amount == GIRO_AMOUNT
    payment = store.payment("PR-230800811")
    assert (payment.status, payment.resolved_date) == ("completed", date(2023, 8, 22))
    assert store.invoice("INV-230800455").status == "paid"
    assert [b.status for b in event.invoices] == ["paid"]


def test_giro_cannot_be_resolved_before_its_payment_date_or_twice() -> None:
    store = _giro_store()
    early = store.handle(ResolvePayment("PR-230800811", date(2023, 8, 20)), meta("g3"))
    assert isinstance(early, Rejected)
    assert early.code == "invalid"
    assert store.payment("PR-230800811").status == "active"

    store.handle(ResolvePayment("PR-230800811", date(2023, 8, 22)), meta("g4"))
    again = store.handle(ResolvePayment("PR-230800811", date(2023, 8, 23)), meta("g5"))
    assert again == Rejected(
        "invalid_state", "payment PR-230800811 is Completed; only Active payments can be resolved"
    )


def test_sfa_cash_collection_is_pending_until_an_admin_confirms_it() -> None:
    store = Store()
    store.handle(
        IssueInvoice("INV-9", "CUST-9", Decimal("250000.00"), date(2023, 8, 1)), meta("s1")
    )
    store.handle(
        RecordPayment(
            "PR-SFA-1",
            "CUST-9",
            "cash",
            Decimal("250000.00"),
            date(2023, 8, 21),
            channel="sfa",
            collector_id="sales-17",
            allocations=(AllocationLine("INV-9", Decimal("250000.00")),),
        ),
        meta("s2", actor="user:sales-17"),
    )
    assert store.payment("PR-SFA-1").status == "pending"
    assert store.invoice("INV-9").status == "in_payment"

    outcome = store.handle(ConfirmPayment("PR-SFA-1"), meta("s3", actor="admin:ops-1"))

    assert event_types(outcome) == ("payment.confirmed",)
    assert store.payment("PR-SFA-1").status == "completed"
    assert store.invoice("INV-9").status == "paid"


def test_sfa_giro_is_confirmed_to_active_and_still_needs_resolving() -> None:
    store = Store()
    store.handle(
        RecordPayment(
            "PR-SFA-2",
            "CUST-9",
            "giro",
            Decimal("10.00"),
            date(2023, 8, 21),
            channel="sfa",
            giro=Giro("GR-1", "BCA", date(2023, 8, 25)),
        ),
        meta("s1", actor="user:sales-17"),  # the SFA app's collector; an admin confirms
    )
    assert store.payment("PR-SFA-2").status == "pending"
    store.handle(ConfirmPayment("PR-SFA-2"), meta("s2"))
    assert store.payment("PR-SFA-2").status == "active"
    store.handle(ResolvePayment("PR-SFA-2", date(2023, 8, 25)), meta("s3"))
    assert store.payment("PR-SFA-2").status == "completed"
    assert [(h.from_status, h.to_status) for h in store.history] == [
        (None, "pending"),
        ("pending", "active"),
        ("active", "completed"),
    ]
