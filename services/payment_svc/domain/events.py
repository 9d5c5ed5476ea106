"""Events of ``payment.events``: one per effect, past tense, with new status and changed amounts.

A later layer turns ``dataclasses.asdict(event)`` into the wire ``data`` (Decimal → string, date →
``YYYY-MM-DD``), so field names here are the contract's. ``type`` is a class attribute, not data;
so is ``domain_only``, the fields the domain keeps that are not on the wire (``wire.event_data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypedDict

from services.payment_svc.domain.commands import AllocationLine
from services.payment_svc.domain.model import (
    CancelReasonCode,
    Channel,
    Giro,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Usage,
)


@dataclass(frozen=True)
class InvoiceBalance:
    """An invoice's balance after the event: what a collector or the billing side needs to see."""

    invoice_no: str
    outstanding: Decimal
    status: InvoiceStatus


class PaymentFigures(TypedDict):
    """The fields every payment event carries (``figures`` fills them in)."""

    payment_no: str
    customer_id: str
    status: PaymentStatus
    amount: Decimal
    allocated: Decimal
    usage: Usage


def figures(payment: Payment) -> PaymentFigures:
    """``payment``'s figures as they stand after the event, for ``Event(**figures(new), ...)``."""
    return PaymentFigures(
        payment_no=payment.payment_no,
        customer_id=payment.customer_id,
        status=payment.status,
        amount=payment.amount,
        allocated=payment.allocated,
        usage=payment.usage,
    )


@dataclass(frozen=True)
class PaymentEvent:
    """The figures every payment event carries, as they stand after it (``figures``)."""

    payment_no: str
    customer_id: str
    status: PaymentStatus
    amount: Decimal
    allocated: Decimal
    usage: Usage


@dataclass(frozen=True)
class StatusChanged(PaymentEvent):
    """A payment event that moved the payment from ``previous_status`` (kept by the domain)."""

    previous_status: PaymentStatus


@dataclass(frozen=True)
class InvoiceIssued:
    type = "invoice.issued"

    invoice_no: str
    customer_id: str
    amount: Decimal
    currency: str
    outstanding: Decimal
    status: InvoiceStatus
    issue_date: date
    due_date: date | None
    order_id: str | None


@dataclass(frozen=True)
class InvoiceVoided:
    type = "invoice.voided"
    domain_only = frozenset({"previous_status", "released_payments"})

    invoice_no: str
    customer_id: str
    amount: Decimal
    outstanding: Decimal
    status: InvoiceStatus
    previous_status: InvoiceStatus
    order_id: str | None
    reason: str | None
    # Payments whose allocation to this invoice was released; each also gets payment.released.
    released_payments: tuple[str, ...]


@dataclass(frozen=True)
class PaymentRecorded(PaymentEvent):
    type = "payment.recorded"
    domain_only = frozenset({"bank_account", "collector_id", "invoices"})

    method: PaymentMethod
    channel: Channel
    currency: str
    payment_date: date
    giro: Giro | None
    bank_account: str | None
    collector_id: str | None
    allocations: tuple[AllocationLine, ...]
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class PaymentConfirmed(StatusChanged):
    type = "payment.confirmed"
    domain_only = frozenset({"invoices", "previous_status"})

    method: PaymentMethod
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class PaymentResolved(StatusChanged):
    type = "payment.resolved"
    domain_only = frozenset({"invoices", "previous_status"})

    method: PaymentMethod
    payment_date: date
    resolved_date: date
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class PaymentCancelled(StatusChanged):
    type = "payment.cancelled"
    domain_only = frozenset({"invoices", "previous_status"})

    reason_code: CancelReasonCode | None
    reason: str | None
    released: tuple[AllocationLine, ...]
    invoices: tuple[InvoiceBalance, ...]
    # Four eyes: who asked for it (the approver is the event's actor) and why they approved.
    requested_by: str | None = None
    approval_reason: str | None = None


@dataclass(frozen=True)
class PaymentCancelRequested(StatusChanged):
    type = "payment.cancel.requested"
    domain_only = frozenset({"previous_status"})

    reason_code: CancelReasonCode | None
    reason: str | None
    requested_by: str
    approval_amount: Decimal


@dataclass(frozen=True)
class PaymentCancelRejected(StatusChanged):
    type = "payment.cancel.rejected"
    domain_only = frozenset({"previous_status"})

    reason: str
    requested_by: str
    requested_reason: str | None


@dataclass(frozen=True)
class PaymentBounced(StatusChanged):
    type = "payment.bounced"
    domain_only = frozenset({"invoices", "previous_status"})

    reason: str
    bank_charge: Decimal | None
    bounced_date: date | None
    released: tuple[AllocationLine, ...]
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class GiroOverdue(PaymentEvent):
    type = "payment.giro.overdue"

    reminder_date: date
    days_overdue: int


@dataclass(frozen=True)
class PaymentAllocated(PaymentEvent):
    type = "payment.allocated"
    domain_only = frozenset({"invoices"})

    # What this command allocated (not the payment's whole allocation list).
    allocations: tuple[AllocationLine, ...]
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class PaymentReleased(PaymentEvent):
    type = "payment.released"
    domain_only = frozenset({"invoices"})

    reason: str | None
    released: tuple[AllocationLine, ...]
    invoices: tuple[InvoiceBalance, ...]


@dataclass(frozen=True)
class PaymentNoted(PaymentEvent):
    type = "payment.noted"

    note: str
    noted_by: str


Event = (
    InvoiceIssued
    | InvoiceVoided
    | PaymentRecorded
    | PaymentConfirmed
    | PaymentResolved
    | PaymentCancelled
    | PaymentCancelRequested
    | PaymentCancelRejected
    | PaymentBounced
    | GiroOverdue
    | PaymentAllocated
    | PaymentReleased
    | PaymentNoted
)
