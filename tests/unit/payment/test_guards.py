"""Refusals a back-office user meets, tenant isolation, duplicates, and the adapter contract."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from services.payment_svc.adapters.memory import MemoryLedger
from services.payment_svc.adapters.unit_of_work import invoices_to_lock
from services.payment_svc.domain.allocating import allocate_payment, void_invoice
from services.payment_svc.domain.cancelling import cancel_payment
from services.payment_svc.domain.commands import (
    AllocatePayment,
    AllocationLine,
    CancelPayment,
    ConfirmPayment,
    IssueInvoice,
    RecordPayment,
    ReleasePayment,
    VoidInvoice,
)
from services.payment_svc.domain.model import Giro, Payment
from services.payment_svc.domain.outcomes import NO_CHANGE, Decision, Rejected
from services.payment_svc.domain.rules import IncompleteLoad
from services.payment_svc.handlers import TABLE
from tests.unit.payment.fakes import Store, meta

D = Decimal
DAY = date(2023, 8, 21)


def two_invoices() -> Store:
    store = Store()
    store.handle(IssueInvoice("INV-1", "C-1", D("100.00"), DAY), meta("i1"))
    store.handle(IssueInvoice("INV-2", "C-2", D("100.00"), DAY), meta("i2"))
    store.handle(RecordPayment("P-1", "C-1", "cash", D("150.00"), DAY), meta("p1"))
    return store


def rejected(outcome: object) -> Rejected:
    assert isinstance(outcome, Rejected), outcome
    return outcome


def test_allocating_beyond_the_payments_unallocated_credit_is_over_allocation() -> None:
    store = two_invoices()
    store.handle(IssueInvoice("INV-3", "C-1", D("100.00"), DAY), meta("i3"))
    store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("100.00")),)), meta("a1"))

    refusal = rejected(
        store.handle(AllocatePayment("P-1", (AllocationLine("INV-3", D("60.00")),)), meta("a2"))
    )

    assert refusal.code == "over_allocation"
    assert "50.00 unallocated" in refusal.message
    assert store.invoice("INV-3").outstanding == D("100.00")


def test_allocating_beyond_an_invoices_outstanding_is_over_allocation() -> None:
    store = two_invoices()
    refusal = rejected(
        store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("100.01")),)), meta("a"))
    )
    assert refusal.code == "over_allocation"
    assert "outstanding 100.00" in refusal.message


def test_a_payment_cannot_settle_another_customers_invoice() -> None:
    store = two_invoices()
    refusal = rejected(
        store.handle(AllocatePayment("P-1", (AllocationLine("INV-2", D("10.00")),)), meta("a"))
    )
    assert refusal.code == "invalid"
    assert "belongs to customer C-2" in refusal.message
    assert store.payment("P-1").allocations == ()


def test_a_second_allocation_to_the_same_invoice_tops_up_one_live_allocation() -> None:
    store = two_invoices()
    store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("30.00")),)), meta("a1"))
    store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("20.00")),)), meta("a2"))
    allocations = store.payment("P-1").allocations
    assert [(a.invoice_no, a.amount) for a in allocations] == [("INV-1", D("50.00"))]
    assert store.invoice("INV-1").outstanding == D("50.00")
    assert store.payment("P-1").usage == "partially_used"


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        (D("10.005"), "more than 2 decimals"),
        (D("0"), "positive"),
        (D("-5.00"), "positive"),
        (D("NaN"), "positive"),
        (D("1E+16"), "too large"),
    ],
)
def test_money_that_is_not_a_positive_2_decimal_amount_is_invalid(
    amount: Decimal, fragment: str
) -> None:
    refusal = rejected(Store().handle(RecordPayment("P-9", "C-1", "cash", amount, DAY), meta("r")))
    assert refusal.code == "invalid"
    assert fragment in refusal.message


def test_giro_details_are_required_for_giro_and_cheque_only() -> None:
    store = Store()
    no_giro = store.handle(RecordPayment("P-1", "C-1", "cheque", D("5.00"), DAY), meta("r1"))
    stray = store.handle(
        RecordPayment("P-2", "C-1", "cash", D("5.00"), DAY, giro=Giro("G", "BRI", DAY)), meta("r2")
    )
    assert rejected(no_giro).code == "invalid"
    assert rejected(stray).code == "invalid"
    assert store.payments == {}


def test_recording_an_existing_payment_with_another_command_is_a_conflict() -> None:
    store = two_invoices()
    again = RecordPayment("P-1", "C-1", "cash", D("150.00"), DAY)
    refusal = rejected(store.handle(again, meta("p1-again")))
    assert refusal.code == "conflict"
    # The same command id again (a redelivery the inbox missed) is harmless.
    assert store.handle(again, meta("p1")) == NO_CHANGE


class _CrossTenantLedger(MemoryLedger):
    """A ledger that hands back dist-1's payment whichever tenant asks: the dispatch must still
    report it as missing (``visible``), not decide on it."""

    def payment(self, tenant_id: str, payment_no: str) -> Payment | None:
        return self.payment_rows.get(("dist-1", payment_no))


def test_another_tenants_payment_is_reported_as_not_found() -> None:
    store = two_invoices()
    leaky = _CrossTenantLedger(store.admins, payment_rows=dict(store.payments))
    for cmd, m in (
        (ConfirmPayment("P-1"), meta("x", tenant="dist-2")),
        (CancelPayment("P-1"), meta("y", tenant="dist-2")),
        (AllocatePayment("P-1", (AllocationLine("INV-9", D("1.00")),)), meta("z", tenant="dist-2")),
    ):
        for ledger in (store.ledger, leaky):
            outcome = TABLE.decide(cmd, m, uow=ledger, may_wait=False)
            assert rejected(outcome) == Rejected("not_found", "payment P-1 not found")
    # Through the store (keyed by tenant) another tenant may use the same number freely.
    outcome = store.handle(
        RecordPayment("P-1", "C-1", "cash", D("1.00"), DAY), meta("t2", tenant="dist-2")
    )
    assert isinstance(outcome, Decision)
    assert store.payment("P-1").amount == D("150.00")


def test_an_invoice_of_another_tenant_cannot_be_allocated_to() -> None:
    store = two_invoices()
    store.handle(RecordPayment("P-1", "C-1", "cash", D("10.00"), DAY), meta("t2", tenant="dist-2"))
    theirs = {"INV-1": store.invoice("INV-1")}
    outcome = allocate_payment(
        store.payment("P-1", tenant="dist-2"),
        theirs,
        AllocatePayment("P-1", (AllocationLine("INV-1", D("5.00")),)),
        meta("a", tenant="dist-2"),
    )
    assert rejected(outcome).code == "not_found"


def test_releasing_what_is_no_longer_allocated_is_accepted_without_change() -> None:
    store = two_invoices()
    before = store.state()
    assert store.handle(ReleasePayment("P-1", "INV-1"), meta("rel")) == NO_CHANGE
    assert store.state() == before
    assert rejected(store.handle(ReleasePayment("P-404", "INV-1"), meta("r2"))).code == "not_found"


def test_a_void_invoice_reports_every_payment_it_released() -> None:
    store = two_invoices()
    store.handle(RecordPayment("P-2", "C-1", "cash", D("30.00"), DAY), meta("p2"))
    store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("40.00")),)), meta("a1"))
    store.handle(AllocatePayment("P-2", (AllocationLine("INV-1", D("30.00")),)), meta("a2"))

    outcome = store.handle(VoidInvoice("INV-1", "pickup cancelled"), meta("void"))

    assert isinstance(outcome, Decision)
    voided, *released = outcome.events
    assert dataclasses.asdict(voided)["released_payments"] == ("P-1", "P-2")
    assert [dataclasses.asdict(e)["usage"] for e in released] == ["unused", "unused"]
    assert store.invoice("INV-1").status == "void"
    assert [c.kind for c in store.allocation_log] == [
        "allocated",
        "allocated",
        "released",
        "released",
    ]


def test_the_adapter_must_load_what_the_docstring_says() -> None:
    store = two_invoices()
    store.handle(AllocatePayment("P-1", (AllocationLine("INV-1", D("40.00")),)), meta("a1"))
    payment = store.payment("P-1")
    assert invoices_to_lock(set(), [payment]) == {("dist-1", "INV-1")}
    with pytest.raises(IncompleteLoad):
        cancel_payment(payment, {}, CancelPayment("P-1"), meta("c"))
    with pytest.raises(IncompleteLoad):
        void_invoice(store.invoice("INV-1"), {}, VoidInvoice("INV-1"), meta("v"))


def test_event_data_uses_contract_field_names() -> None:
    store = two_invoices()
    outcome = store.handle(
        CancelPayment("P-1", "input_error", "salah input"), meta("c", actor="admin:siti")
    )
    assert isinstance(outcome, Decision)
    (event,) = outcome.events
    assert event.type == "payment.cancelled"
    data = dataclasses.asdict(event)
    assert {"payment_no", "customer_id", "status", "amount", "reason_code", "reason"} <= set(data)
    assert "type" not in data
    assert data["status"] == "cancelled"


def _order_sale() -> Store:
    store = Store()
    store.handle(IssueInvoice("INV-O1", "C-1", D("100.00"), DAY, order_id="ORD-1"), meta("io1"))
    store.handle(
        RecordPayment(
            "P-O1",
            "C-1",
            "transfer",
            D("100.00"),
            DAY,
            allocations=(AllocationLine("INV-O1", D("100.00")),),
        ),
        meta("po1"),
    )
    return store


def test_a_void_on_behalf_of_another_order_is_refused_and_changes_nothing() -> None:
    store = _order_sale()
    before = (store.invoices.copy(), store.payments.copy())

    refusal = rejected(store.handle(VoidInvoice("INV-O1", order_id="ORD-2"), meta("v1")))

    assert refusal.code == "invalid"
    assert "belongs to order ORD-1, not to order ORD-2" in refusal.message
    assert (store.invoices, store.payments) == before
    assert isinstance(store.handle(VoidInvoice("INV-O1", order_id="ORD-1"), meta("v2")), Decision)


def test_a_release_on_behalf_of_another_order_is_refused_and_changes_nothing() -> None:
    store = _order_sale()
    before = store.payment("P-O1")

    refusal = rejected(store.handle(ReleasePayment("P-O1", "INV-O1", order_id="ORD-2"), meta("r1")))

    assert refusal.code == "invalid"
    assert store.payment("P-O1") == before
    released = store.handle(ReleasePayment("P-O1", "INV-O1", order_id="ORD-1"), meta("r2"))
    assert isinstance(released, Decision)
    assert store.payment("P-O1").usage == "unused"
