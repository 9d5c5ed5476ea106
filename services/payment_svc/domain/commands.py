"""Commands of ``payment.commands`` as plain values, filled by the handler layer from ``data``.

Field names are the wire contract's (``schemas.payment``; ``wire.translate_as`` relies on it);
money is ``Decimal``, dates ``date``.
Envelope facts every command carries (tenant, actor, id, time) travel separately as ``Meta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.payment_svc.domain.model import (
    DEFAULT_CURRENCY,
    CancelReasonCode,
    Channel,
    Giro,
    PaymentMethod,
)


@dataclass(frozen=True)
class AllocationLine:
    """``{invoice_no, amount}``: part of a payment put towards one invoice (or taken back)."""

    invoice_no: str
    amount: Decimal


@dataclass(frozen=True)
class IssueInvoice:
    type = "invoice.issue"

    invoice_no: str
    customer_id: str
    amount: Decimal
    issue_date: date
    due_date: date | None = None
    order_id: str | None = None
    currency: str = DEFAULT_CURRENCY
    customer_name: str | None = None


@dataclass(frozen=True)
class RecordPayment:
    type = "payment.record"

    payment_no: str
    customer_id: str
    method: PaymentMethod
    amount: Decimal
    payment_date: date
    channel: Channel = "web"
    giro: Giro | None = None
    bank_account: str | None = None
    collector_id: str | None = None
    allocations: tuple[AllocationLine, ...] = ()
    currency: str = DEFAULT_CURRENCY
    customer_name: str | None = None


@dataclass(frozen=True)
class ConfirmPayment:
    type = "payment.confirm"

    payment_no: str


@dataclass(frozen=True)
class ResolvePayment:
    type = "payment.resolve"

    payment_no: str
    resolved_date: date


@dataclass(frozen=True)
class CancelPayment:
    type = "payment.cancel"

    payment_no: str
    reason_code: CancelReasonCode | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ApproveCancel:
    type = "payment.cancel.approve"

    payment_no: str
    reason: str | None = None


@dataclass(frozen=True)
class RejectCancel:
    type = "payment.cancel.reject"

    payment_no: str
    reason: str


@dataclass(frozen=True)
class BouncePayment:
    type = "payment.bounce"

    payment_no: str
    reason: str
    bank_charge: Decimal | None = None
    bounced_date: date | None = None


@dataclass(frozen=True)
class NotePayment:
    type = "payment.note"

    payment_no: str
    note: str


@dataclass(frozen=True)
class AllocatePayment:
    type = "payment.allocate"

    payment_no: str
    allocations: tuple[AllocationLine, ...]


@dataclass(frozen=True)
class ReleasePayment:
    type = "payment.release"

    payment_no: str
    invoice_no: str
    reason: str | None = None
    order_id: str | None = None  # when given, the invoice must be this order's


@dataclass(frozen=True)
class VoidInvoice:
    type = "invoice.void"

    invoice_no: str
    reason: str | None = None
    order_id: str | None = None  # when given, the invoice must be this order's


Command = (
    IssueInvoice
    | RecordPayment
    | ConfirmPayment
    | ResolvePayment
    | CancelPayment
    | ApproveCancel
    | RejectCancel
    | BouncePayment
    | NotePayment
    | AllocatePayment
    | ReleasePayment
    | VoidInvoice
)
