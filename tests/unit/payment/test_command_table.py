"""Every command against every payment status and every invoice state: events or refusal code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from services.payment_svc.domain.commands import (
    AllocatePayment,
    AllocationLine,
    CancelPayment,
    Command,
    ConfirmPayment,
    IssueInvoice,
    RecordPayment,
    ReleasePayment,
    ResolvePayment,
    VoidInvoice,
)
from services.payment_svc.domain.model import Channel, Giro, PaymentMethod, PaymentStatus
from services.payment_svc.domain.outcomes import Decision, Outcome, Rejected
from tests.unit.payment.fakes import Store, meta

D = Decimal
GIRO = Giro("GR-1", "BRI", date(2023, 8, 25))
NO_CHANGE: tuple[str, ...] = ()


def summary(outcome: Outcome) -> str | tuple[str, ...]:
    """A rejection's code, or the event types of a decision (empty: accepted, no change)."""
    if isinstance(outcome, Rejected):
        return outcome.code
    return tuple(e.type for e in outcome.events)


# --- payment statuses -----------------------------------------------------------------------


def payment_in(status: PaymentStatus) -> Store:
    """Giro P-1 of 100.00 with 60.00 on INV-A (100.00); INV-B (50.00) open; all customer C."""
    store = Store()
    store.handle(IssueInvoice("INV-A", "C", D("100.00"), date(2023, 8, 1)), meta("i-a"))
    store.handle(IssueInvoice("INV-B", "C", D("50.00"), date(2023, 8, 1)), meta("i-b"))
    channel: Channel = "sfa" if status == "pending" else "web"
    store.handle(
        RecordPayment(
            "P-1",
            "C",
            "giro",
            D("100.00"),
            date(2023, 8, 21),
            channel=channel,
            giro=GIRO,
            allocations=(AllocationLine("INV-A", D("60.00")),),
        ),
        # A collector records it: the admin who confirms it must be someone else (four eyes).
        meta("rec", actor="user:collector-7"),
    )
    if status == "completed":
        store.handle(ResolvePayment("P-1", date(2023, 8, 22)), meta("res"))
    if status == "cancelled":
        store.handle(CancelPayment("P-1", "input_error"), meta("can"))
    assert store.payment("P-1").status == status
    return store


PAYMENT_COMMANDS: dict[str, Command] = {
    "confirm": ConfirmPayment("P-1"),
    "resolve": ResolvePayment("P-1", date(2023, 8, 22)),
    "cancel": CancelPayment("P-1", "giro_bounced", "Giro ditolak bank"),
    "allocate": AllocatePayment("P-1", (AllocationLine("INV-B", D("40.00")),)),
    "release": ReleasePayment("P-1", "INV-A", "pickup cancelled"),
    "void": VoidInvoice("INV-A", "order cancelled"),
    "re-record": RecordPayment("P-1", "C", "cash", D("5.00"), date(2023, 8, 21)),
    "re-issue": IssueInvoice("INV-A", "C", D("100.00"), date(2023, 8, 1)),
}

RELEASED_VOID = ("invoice.voided", "payment.released")
PAYMENT_TABLE: dict[str, dict[PaymentStatus, str | tuple[str, ...]]] = {
    "confirm": {
        "pending": ("payment.confirmed",),
        "active": "invalid_state",
        "completed": "invalid_state",
        "cancelled": "invalid_state",
    },
    "resolve": {
        "pending": "invalid_state",
        "active": ("payment.resolved",),
        "completed": "invalid_state",
        "cancelled": "invalid_state",
    },
    "cancel": {
        "pending": ("payment.cancelled",),
        "active": ("payment.cancelled",),
        "completed": ("payment.cancelled",),
        "cancelled": "invalid_state",
    },
    "allocate": {
        "pending": ("payment.allocated",),
        "active": ("payment.allocated",),
        "completed": ("payment.allocated",),
        "cancelled": "invalid_state",
    },
    "release": {
        "pending": ("payment.released",),
        "active": ("payment.released",),
        "completed": ("payment.released",),
        "cancelled": NO_CHANGE,
    },
    "void": {
        "pending": RELEASED_VOID,
        "active": RELEASED_VOID,
        "completed": RELEASED_VOID,
        "cancelled": ("invoice.voided",),
    },
    "re-record": dict.fromkeys(("pending", "active", "completed", "cancelled"), "conflict"),
    "re-issue": dict.fromkeys(("pending", "active", "completed", "cancelled"), "conflict"),
}
PAYMENT_CASES = [
    (command, status, expected)
    for command, row in PAYMENT_TABLE.items()
    for status, expected in row.items()
]


@pytest.mark.parametrize(("command", "status", "expected"), PAYMENT_CASES)
def test_command_against_payment_status(
    command: str, status: PaymentStatus, expected: str | tuple[str, ...]
) -> None:
    store = payment_in(status)
    before = store.state()

    outcome = store.handle(PAYMENT_COMMANDS[command], meta("cmd-under-test", minute=30))

    assert summary(outcome) == expected
    if not isinstance(outcome, Decision) or not outcome.events:
        assert store.state() == before, "a refusal or no-op must change nothing"


def test_every_command_and_status_is_in_the_table() -> None:
    assert set(PAYMENT_TABLE) == set(PAYMENT_COMMANDS)
    for row in PAYMENT_TABLE.values():
        assert set(row) == {"pending", "active", "completed", "cancelled"}


# --- invoice states -------------------------------------------------------------------------

InvoiceSetup = Callable[[Store], None]


def _held_by_x(method: PaymentMethod, amount: str) -> InvoiceSetup:
    def setup(store: Store) -> None:
        giro = GIRO if method == "giro" else None
        lines = (AllocationLine("INV-T", D(amount)),)
        store.handle(
            RecordPayment("X", "C", method, D("100.00"), date(2023, 8, 21), giro=giro), meta("x")
        )
        store.handle(AllocatePayment("X", lines), meta("x-alloc"))

    return setup


def _untouched(store: Store) -> None:
    del store


def _voided(store: Store) -> None:
    _held_by_x("cash", "40.00")(store)
    store.handle(VoidInvoice("INV-T"), meta("void-first"))


INVOICE_STATES: dict[str, InvoiceSetup] = {
    "unpaid": _untouched,
    "partially_paid": _held_by_x("cash", "40.00"),
    "in_payment": _held_by_x("giro", "100.00"),
    "paid": _held_by_x("cash", "100.00"),
    "void": _voided,
}


def invoice_in(state: str) -> Store:
    """INV-T of 100.00 for customer C in ``state``; Y is a completed 100.00 payment, unused."""
    store = Store()
    store.handle(IssueInvoice("INV-T", "C", D("100.00"), date(2023, 8, 1)), meta("i-t"))
    store.handle(RecordPayment("Y", "C", "transfer", D("100.00"), date(2023, 8, 21)), meta("y"))
    INVOICE_STATES[state](store)
    if ("dist-1", "X") not in store.payments:
        store.handle(RecordPayment("X", "C", "cash", D("100.00"), date(2023, 8, 21)), meta("x"))
    assert store.invoice("INV-T").status == state
    return store


INVOICE_COMMANDS: dict[str, Command] = {
    "allocate": AllocatePayment("Y", (AllocationLine("INV-T", D("10.00")),)),
    "record": RecordPayment(
        "Z",
        "C",
        "cash",
        D("10.00"),
        date(2023, 8, 22),
        allocations=(AllocationLine("INV-T", D("10.00")),),
    ),
    "release": ReleasePayment("X", "INV-T"),
    "void": VoidInvoice("INV-T", "order cancelled"),
}

# (outcome, invoice status afterwards)
INVOICE_TABLE: dict[str, dict[str, tuple[str | tuple[str, ...], str]]] = {
    "allocate": {
        "unpaid": (("payment.allocated",), "partially_paid"),
        "partially_paid": (("payment.allocated",), "partially_paid"),
        "in_payment": ("over_allocation", "in_payment"),
        "paid": ("over_allocation", "paid"),
        "void": ("invalid_state", "void"),
    },
    "record": {
        "unpaid": (("payment.recorded",), "partially_paid"),
        "partially_paid": (("payment.recorded",), "partially_paid"),
        "in_payment": ("over_allocation", "in_payment"),
        "paid": ("over_allocation", "paid"),
        "void": ("invalid_state", "void"),
    },
    "release": {
        "unpaid": (NO_CHANGE, "unpaid"),
        "partially_paid": (("payment.released",), "unpaid"),
        "in_payment": (("payment.released",), "unpaid"),
        "paid": (("payment.released",), "unpaid"),
        "void": (NO_CHANGE, "void"),
    },
    "void": {
        "unpaid": (("invoice.voided",), "void"),
        "partially_paid": (RELEASED_VOID, "void"),
        "in_payment": (RELEASED_VOID, "void"),
        "paid": (RELEASED_VOID, "void"),
        "void": (NO_CHANGE, "void"),
    },
}
INVOICE_CASES = [
    (command, state, expected, after)
    for command, row in INVOICE_TABLE.items()
    for state, (expected, after) in row.items()
]


@pytest.mark.parametrize(("command", "state", "expected", "after"), INVOICE_CASES)
def test_command_against_invoice_state(
    command: str, state: str, expected: str | tuple[str, ...], after: str
) -> None:
    store = invoice_in(state)

    outcome = store.handle(INVOICE_COMMANDS[command], meta("cmd-under-test", minute=30))

    assert summary(outcome) == expected
    invoice = store.invoice("INV-T")
    assert invoice.status == after
    live = sum(p.amount_to("INV-T") for p in store.payments.values())
    assert invoice.outstanding == invoice.amount - live
