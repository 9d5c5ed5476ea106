"""Payloads of payment_svc: commands on `payment.commands`, events on `payment.events`."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from schemas.errors import FieldProblem
from schemas.fields import (
    Actor,
    Command,
    Date,
    Event,
    EventPart,
    Id,
    Money,
    MoneyOrZero,
    OptionalReason,
    Part,
    Reason,
    ShortText,
)

PaymentMethod = Literal["cash", "transfer", "giro", "cheque"]
Channel = Literal["web", "sfa"]
PaymentStatus = Literal[
    "pending", "active", "completed", "cancel_requested", "cancelled", "bounced"
]
Usage = Literal["unused", "partially_used", "used"]
InvoiceStatus = Literal["void", "paid", "in_payment", "partially_paid", "unpaid"]
CancelReasonCode = Literal[
    "customer_request", "input_error", "giro_bounced", "order_cancelled", "other"
]
Currency = Literal["IDR"]
"""Only rupiah for now; the field exists so a second currency is an additive change."""

POSTDATED_METHODS = frozenset({"giro", "cheque"})
MAX_ALLOCATIONS = 500


class Giro(Part):
    """The post-dated instrument of a giro or cheque payment."""

    number: Id
    bank: ShortText
    due_date: Date


class Allocation(Part):
    """Part of a payment applied to one invoice."""

    invoice_no: Id
    amount: Money


def _check_allocations(allocations: list[Allocation], amount: Decimal | None) -> None:
    seen: set[str] = set()
    for index, allocation in enumerate(allocations):
        if allocation.invoice_no in seen:
            raise FieldProblem(
                ("allocations", index, "invoice_no"),
                f'invoice "{allocation.invoice_no}" is allocated twice',
            )
        seen.add(allocation.invoice_no)
    total = sum((a.amount for a in allocations), Decimal(0))
    if amount is not None and total > amount:
        raise FieldProblem(
            ("allocations",), f"allocations total {total:f} exceeds the payment amount {amount:f}"
        )


# --- commands -------------------------------------------------------------------------------


class PaymentCommand(Command):
    """A command on one payment: its subject is the payment number."""

    aggregate_field: ClassVar[str | None] = "payment_no"
    payment_no: Id


class InvoiceCommand(Command):
    """A command on one invoice: its subject is the invoice number."""

    aggregate_field: ClassVar[str | None] = "invoice_no"
    invoice_no: Id


class InvoiceIssue(InvoiceCommand):
    customer_id: Id
    # What people call the customer ("1188 MINI MARKET"), for texts; optional.
    customer_name: ShortText | None = None
    amount: Money
    currency: Currency = "IDR"
    issue_date: Date
    due_date: Date | None = None
    order_id: Id | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> Self:
        if self.due_date is not None and self.due_date < self.issue_date:
            raise FieldProblem(("due_date",), "must not be before issue_date")
        return self


class PaymentRecord(PaymentCommand):
    customer_id: Id
    customer_name: ShortText | None = None
    method: PaymentMethod
    amount: Money
    currency: Currency = "IDR"
    payment_date: Date
    channel: Channel = "web"
    giro: Giro | None = None
    bank_account: ShortText | None = None
    collector_id: Id | None = None
    allocations: list[Allocation] = Field(default_factory=list, max_length=MAX_ALLOCATIONS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.method in POSTDATED_METHODS and self.giro is None:
            raise FieldProblem(("giro",), f"required for method {self.method}")
        if self.method not in POSTDATED_METHODS and self.giro is not None:
            raise FieldProblem(("giro",), f"only for giro or cheque, not for method {self.method}")
        _check_allocations(self.allocations, self.amount)
        return self


class PaymentConfirm(PaymentCommand):
    pass


class PaymentResolve(PaymentCommand):
    resolved_date: Date


class PaymentCancel(PaymentCommand):
    reason_code: CancelReasonCode | None = None
    reason: OptionalReason = None


class PaymentCancelApprove(PaymentCommand):
    """A second payment admin approves a cancellation waiting for approval (four eyes)."""

    reason: OptionalReason = None


class PaymentCancelReject(PaymentCommand):
    """A second payment admin refuses a cancellation waiting for approval: Completed again."""

    reason: Reason


class PaymentNote(PaymentCommand):
    """A payment admin's note on a payment (what a phone call with the customer settled, why a
    giro is held): kept in the payment's history; it changes nothing else."""

    note: Reason


class PaymentBounce(PaymentCommand):
    """The bank refused an Active giro/cheque on clearing: the payment is Bounced, its
    allocations are reversed. `bank_charge` is what the bank charged for the refusal."""

    reason: Reason
    bank_charge: Money | None = None
    bounced_date: Date | None = None


class PaymentAllocate(PaymentCommand):
    allocations: list[Allocation] = Field(min_length=1, max_length=MAX_ALLOCATIONS)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        _check_allocations(self.allocations, None)
        return self


class PaymentRelease(PaymentCommand):
    """With `order_id`, only an allocation to that order's invoice may be released."""

    invoice_no: Id
    order_id: Id | None = None
    reason: OptionalReason = None


class InvoiceVoid(InvoiceCommand):
    """With `order_id`, the invoice is voided only if it is that order's invoice."""

    order_id: Id | None = None
    reason: OptionalReason = None


# --- events ---------------------------------------------------------------------------------


class GiroLine(EventPart):
    """Giro details as events report them."""

    number: Id
    bank: ShortText
    due_date: Date


class AllocationLine(EventPart):
    """An allocation as events report it: which invoice, how much."""

    invoice_no: Id
    amount: Money


class ReleasedFromInvoice(EventPart):
    """An allocation an invoice lost when it was voided: which payment, how much."""

    payment_no: Id
    amount: Money


class PaymentEvent(Event):
    """What every payment event carries: the payment's state after the effect, and what a person
    recognises it by (customer name, method, giro, the date it was paid). The identity fields are
    optional so that events written before they existed still read."""

    aggregate_field: ClassVar[str | None] = "payment_no"
    payment_no: Id
    customer_id: Id
    customer_name: ShortText | None = None
    status: PaymentStatus
    amount: Money
    currency: Currency = "IDR"
    allocated: MoneyOrZero
    usage: Usage
    method: PaymentMethod | None = None
    payment_date: Date | None = None
    giro: GiroLine | None = None


class PaymentRecorded(PaymentEvent):
    method: PaymentMethod
    channel: Channel
    payment_date: Date
    allocations: list[AllocationLine] = Field(default_factory=list)


class PaymentConfirmed(PaymentEvent):
    pass


class PaymentResolved(PaymentEvent):
    resolved_date: Date


class PaymentCancelled(PaymentEvent):
    reason_code: CancelReasonCode | None = None
    reason: OptionalReason = None
    released: list[AllocationLine] = Field(default_factory=list)
    # Four eyes: the admin who asked for it; the envelope actor is the one who approved it.
    requested_by: Actor | None = None
    approval_reason: OptionalReason = None


class PaymentCancelRequested(PaymentEvent):
    """A cancellation at or above the tenant's approval amount waits for a second admin."""

    reason_code: CancelReasonCode | None = None
    reason: OptionalReason = None
    requested_by: Actor
    approval_amount: Money


class PaymentCancelRejected(PaymentEvent):
    """The second admin refused the cancellation; the payment is Completed again."""

    reason: Reason
    requested_by: Actor
    requested_reason: OptionalReason = None


class PaymentBounced(PaymentEvent):
    reason: Reason
    bank_charge: Money | None = None
    bounced_date: Date | None = None
    released: list[AllocationLine] = Field(default_factory=list)


class PaymentNoted(PaymentEvent):
    """An admin noted something on the payment; its status and money are as they were."""

    note: Reason
    noted_by: Actor


class PaymentAllocated(PaymentEvent):
    allocations: list[AllocationLine]


class PaymentReleased(PaymentEvent):
    released: list[AllocationLine] = Field(default_factory=list)
    reason: OptionalReason = None


class GiroOverdue(PaymentEvent):
    """The daily reminder to the back office of a giro/cheque still Active past its due date;
    one per payment per day (`reminder_date`, the business day it was sent)."""

    reminder_date: Date
    days_overdue: int = Field(ge=1, le=100_000, strict=True)


class InvoiceEvent(Event):
    """What every invoice event carries: the invoice's state after the effect."""

    aggregate_field: ClassVar[str | None] = "invoice_no"
    invoice_no: Id
    customer_id: Id
    customer_name: ShortText | None = None
    amount: Money
    currency: Currency = "IDR"
    outstanding: MoneyOrZero
    status: InvoiceStatus
    order_id: Id | None = None


class InvoiceIssued(InvoiceEvent):
    issue_date: Date
    due_date: Date | None = None


class InvoiceVoided(InvoiceEvent):
    reason: OptionalReason = None
    released: list[ReleasedFromInvoice] = Field(default_factory=list)


COMMANDS: dict[str, type[Command]] = {
    "invoice.issue": InvoiceIssue,
    "payment.record": PaymentRecord,
    "payment.confirm": PaymentConfirm,
    "payment.resolve": PaymentResolve,
    "payment.cancel": PaymentCancel,
    "payment.cancel.approve": PaymentCancelApprove,
    "payment.cancel.reject": PaymentCancelReject,
    "payment.bounce": PaymentBounce,
    "payment.note": PaymentNote,
    "payment.allocate": PaymentAllocate,
    "payment.release": PaymentRelease,
    "invoice.void": InvoiceVoid,
}

EVENTS: dict[str, type[Event]] = {
    "invoice.issued": InvoiceIssued,
    "invoice.voided": InvoiceVoided,
    "payment.recorded": PaymentRecorded,
    "payment.confirmed": PaymentConfirmed,
    "payment.resolved": PaymentResolved,
    "payment.cancelled": PaymentCancelled,
    "payment.cancel.requested": PaymentCancelRequested,
    "payment.cancel.rejected": PaymentCancelRejected,
    "payment.bounced": PaymentBounced,
    "payment.giro.overdue": GiroOverdue,
    "payment.noted": PaymentNoted,
    "payment.allocated": PaymentAllocated,
    "payment.released": PaymentReleased,
}
