"""Payloads of pickup_svc: seller and admin commands, and the pickup events it emits."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from schemas.errors import FieldProblem
from schemas.fields import (
    Actor,
    Command,
    Event,
    EventPart,
    Id,
    OptionalReason,
    Reason,
    Timestamp,
    UniqueIds,
)

PaymentType = Literal["cod", "prepaid"]
Origin = Literal["order", "invoice"]
Decision = Literal["approve", "reject"]
CourierStatus = Literal["picked_up", "in_transit", "delivered"]


class OrderCommand(Command):
    """A command on one order's pickup: its subject is the order id."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id


class PickupArrange(OrderCommand):
    """ "Atur Pengiriman": ask a courier for a pickup and a (new) airway bill."""

    courier: Id
    payment_type: PaymentType
    invoice_no: Id | None = None
    payment_nos: UniqueIds = Field(default_factory=list, max_length=100)
    pickup_at: Timestamp | None = None


class PickupCancelRequested(OrderCommand):
    """The seller asks to cancel the pickup of an order; the reason is mandatory."""

    reason: Reason
    reason_code: Id | None = None
    origin: Origin = "order"


class PickupCancelDecide(OrderCommand):
    """An admin approves or rejects an open cancel request; a rejection needs a reason."""

    decision: Decision
    reason: OptionalReason = None

    @model_validator(mode="after")
    def _reason_for_reject(self) -> Self:
        if self.decision == "reject" and self.reason is None:
            raise FieldProblem(("reason",), "required when the decision is reject")
        return self


class PickupStatus(OrderCommand):
    """A courier status for an airway bill."""

    awb: Id
    status: CourierStatus


class OrderEvent(Event):
    """A fact about one order's pickup: its subject is the order id."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id


class CancelRequestEvent(Event):
    """A fact about one cancellation request of an order: which request, which order."""

    aggregate_field: ClassVar[str | None] = "order_id"
    request_id: Id
    order_id: Id


class OpenRequestEvent(CancelRequestEvent):
    """A cancellation request still undecided: what was asked, by whom, since when, and the
    deadline of its decision."""

    requested_reason: Reason
    requested_by: Actor
    requested_at: Timestamp
    deadline: Timestamp


class PickupArranged(OrderEvent):
    awb: Id
    previous_awb: Id | None = None
    courier: Id
    payment_type: PaymentType
    pickup_at: Timestamp | None = None


class PickupCancelPending(CancelRequestEvent):
    reason: Reason
    reason_code: Id | None = None
    origin: Origin
    requested_by: Actor


class OrderBilling(EventPart):
    """What an approval asked payment_svc to undo for the order: void its invoice, release the
    payments it used. Both empty: the order had nothing to void."""

    invoice_no: Id | None = None
    payment_nos: list[Id] = Field(default_factory=list)


class PickupCancelDecided(CancelRequestEvent):
    """`billing` is set on an approval (absent on a rejection, and on approvals emitted before it
    existed: then nothing is known about the order's invoice)."""

    decision: Decision
    reason: OptionalReason = None
    requested_reason: Reason
    decided_by: Actor
    decided_at: Timestamp
    voided_awb: Id | None = None
    requested_by: Actor
    billing: OrderBilling | None = None
    # Set when the first void failed and the bill was voided later: the admin who retried it
    # or marked it voided by hand (`void_note`: their note, for a void by hand).
    voided_by: Actor | None = None
    void_note: OptionalReason = None


class PickupStatusUpdated(OrderEvent):
    awb: Id
    status: CourierStatus


class PickupVoidRetry(OrderCommand):
    """An admin asks the courier again to void the bill of an approved cancellation whose void
    failed."""


class PickupVoidMark(OrderCommand):
    """An admin records that the bill was voided outside lunas (by phone, the courier's portal);
    the note says how."""

    reason: Reason


class PickupCancelReminder(OpenRequestEvent):
    """Half the decision time of a cancellation request has passed without a decision."""


class PickupCancelEscalated(OpenRequestEvent):
    """The decision deadline passed: the request goes to the supervisors (who may decide it)."""

    supervisors: list[Id] = Field(default_factory=list, max_length=100)


class PickupVoidFailed(CancelRequestEvent):
    """The courier did not void the bill of an approved cancellation: the order stays
    `void_failed` (no re-arranging, nothing undone in payment_svc) until an admin retries the void
    or marks the bill voided by hand."""

    awb: Id
    courier: Id
    answer: Reason
    attempts: int = Field(ge=1, strict=True)
    approved_by: Actor
    requested_by: Actor


COMMANDS: dict[str, type[Command]] = {
    "pickup.arrange": PickupArrange,
    "pickup.cancel.requested": PickupCancelRequested,
    "pickup.cancel.decide": PickupCancelDecide,
    "pickup.status": PickupStatus,
    "pickup.void.retry": PickupVoidRetry,
    "pickup.void.mark": PickupVoidMark,
}

EVENTS: dict[str, type[Event]] = {
    "pickup.arranged": PickupArranged,
    "pickup.cancel.pending": PickupCancelPending,
    "pickup.cancel.decided": PickupCancelDecided,
    "pickup.status.updated": PickupStatusUpdated,
    "pickup.cancel.reminder": PickupCancelReminder,
    "pickup.cancel.escalated": PickupCancelEscalated,
    "pickup.void.failed": PickupVoidFailed,
}
