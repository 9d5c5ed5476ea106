"""Aggregates of the payment domain (invoices, payments, allocations) and their derived views.

Everything here is an immutable value; commands in ``services`` return new versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

PaymentStatus = Literal[
    "pending", "active", "completed", "cancel_requested", "cancelled", "bounced"
]
PaymentMethod = Literal["cash", "transfer", "giro", "cheque"]
Channel = Literal["web", "sfa"]
Usage = Literal["unused", "partially_used", "used"]
InvoiceStatus = Literal["unpaid", "partially_paid", "in_payment", "paid", "void"]
CancelReasonCode = Literal[
    "customer_request", "input_error", "giro_bounced", "order_cancelled", "other"
]
Entity = Literal["payment", "invoice"]
AllocationChangeKind = Literal["allocated", "released"]

PAYMENT_STATUSES: tuple[PaymentStatus, ...] = (
    "pending",
    "active",
    "completed",
    "cancel_requested",
    "cancelled",
    "bounced",
)
# A cancellation waiting for a second admin leaves the payment's money where it was: until it is
# approved, its allocations still settle the invoices as a Completed payment's do.
SETTLING_STATUSES: frozenset[PaymentStatus] = frozenset({"completed", "cancel_requested"})
# Terminal: nothing is allocated from them any more.
CLOSED_STATUSES: frozenset[PaymentStatus] = frozenset({"cancelled", "bounced"})
PAYMENT_METHODS: tuple[PaymentMethod, ...] = ("cash", "transfer", "giro", "cheque")
CHANNELS: tuple[Channel, ...] = ("web", "sfa")
CANCEL_REASON_CODES: tuple[CancelReasonCode, ...] = (
    "customer_request",
    "input_error",
    "giro_bounced",
    "order_cancelled",
    "other",
)
# Methods whose funds clear later: recorded as Active until resolved.
CLEARING_METHODS: frozenset[PaymentMethod] = frozenset({"giro", "cheque"})

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_CURRENCY = "IDR"


def money(value: Decimal | int | str) -> Decimal:
    """Quantize to 2 places; callers validate the scale first where input may be finer."""
    return Decimal(value).quantize(CENT)


@dataclass(frozen=True)
class Giro:
    """A post-dated instrument (giro or cheque): it is Active until its funds clear."""

    number: str
    bank: str
    due_date: date


@dataclass(frozen=True)
class Allocation:
    """A live use of part of a payment to settle an invoice; one per (payment, invoice)."""

    payment_no: str
    invoice_no: str
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    """A customer's bill. ``allocated``/``settled`` total its live allocations.

    ``settled`` is the part allocated from Completed payments; it is what tells ``paid`` from
    ``in_payment``. Both are kept here (not recomputed from every payment) so that deciding an
    invoice's status needs only the invoice row, and any command changing them locks it.
    """

    tenant_id: str
    invoice_no: str
    customer_id: str
    amount: Decimal
    issue_date: date
    issued_by: str
    currency: str = DEFAULT_CURRENCY
    due_date: date | None = None
    order_id: str | None = None
    allocated: Decimal = ZERO
    settled: Decimal = ZERO
    voided: bool = False
    voided_at: datetime | None = None
    void_reason: str | None = None
    customer_name: str | None = None

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.allocated

    @property
    def status(self) -> InvoiceStatus:
        return invoice_status(self)


def invoice_status(invoice: Invoice) -> InvoiceStatus:
    """void, else paid / in_payment when fully covered, else partially_paid / unpaid."""
    if invoice.voided:
        return "void"
    if invoice.allocated == ZERO:
        return "unpaid"
    if invoice.allocated < invoice.amount:
        return "partially_paid"
    if invoice.settled == invoice.amount:
        return "paid"
    return "in_payment"


@dataclass(frozen=True)
class Payment:
    """A customer payment and its live allocations (sorted by invoice_no)."""

    tenant_id: str
    payment_no: str
    customer_id: str
    method: PaymentMethod
    channel: Channel
    amount: Decimal
    payment_date: date
    status: PaymentStatus
    recorded_by: str
    currency: str = DEFAULT_CURRENCY
    giro: Giro | None = None
    bank_account: str | None = None
    collector_id: str | None = None
    resolved_date: date | None = None
    cancel_reason_code: CancelReasonCode | None = None
    cancel_reason: str | None = None
    allocations: tuple[Allocation, ...] = ()
    customer_name: str | None = None
    # Who recorded it (the command's actor): a collector may not confirm their own collection.
    recorded_actor: str | None = None
    # Four eyes on large cancellations: the admin who asked, while it waits and after.
    cancel_requested_by: str | None = None
    # A bounced giro/cheque: what the bank charged for the refusal, and when it bounced. Its
    # reason is ``cancel_reason`` (code ``giro_bounced``).
    bank_charge: Decimal | None = None
    bounced_date: date | None = None

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated

    @property
    def usage(self) -> Usage:
        return payment_usage(self)

    def allocation_to(self, invoice_no: str) -> Allocation | None:
        return next((a for a in self.allocations if a.invoice_no == invoice_no), None)

    def amount_to(self, invoice_no: str) -> Decimal:
        allocation = self.allocation_to(invoice_no)
        return allocation.amount if allocation else ZERO


def initial_status(channel: Channel, method: PaymentMethod) -> PaymentStatus:
    """SFA collections wait for an admin; giro/cheque wait for clearing; the rest are done."""
    if channel == "sfa":
        return "pending"
    if method in CLEARING_METHODS:
        return "active"
    return "completed"


def payment_usage(payment: Payment) -> Usage:
    """How much of the payment is used by live allocations ("Belum/Telah digunakan")."""
    allocated = payment.allocated
    if allocated == ZERO:
        return "unused"
    if allocated < payment.amount:
        return "partially_used"
    return "used"


@dataclass(frozen=True)
class StatusChange:
    """One append-only history entry: who moved which aggregate from what to what, and why."""

    tenant_id: str
    entity: Entity
    entity_id: str
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    command_id: str
    reason: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class AllocationChange:
    """Append-only record of an allocation made or released (the allocation's own history)."""

    tenant_id: str
    payment_no: str
    invoice_no: str
    kind: AllocationChangeKind
    amount: Decimal
    at: datetime
    actor: str
    command_id: str
    reason: str | None = None
