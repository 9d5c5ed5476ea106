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


class PickupArrange(Command):
    """ "Atur Pengiriman": ask a courier for a pickup and a (new) airway bill."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    courier: Id
    payment_type: PaymentType
    invoice_no: Id | None = None
    payment_nos: UniqueIds = Field(default_factory=list, max_length=100)
    pickup_at: Timestamp | None = None


class PickupCancelRequested(Command):
    """The seller asks to cancel the pickup of an order; the reason is mandatory."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    reason: Reason
    reason_code: Id | None = None
    origin: Origin = "order"


class PickupCancelDecide(Command):
    """An admin approves or rejects an open cancel request; a rejection needs a reason."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    decision: Decision
    reason: OptionalReason = None

    @model_validator(mode="after")
    def _reason_for_reject(self) -> Self:
        if self.decision == "reject" and self.reason is None:
            raise FieldProblem(("reason",), "required when the decision is reject")
        return self


class PickupStatus(Command):
    """A courier status for an airway bill."""

    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    awb: Id
    status: CourierStatus


class PickupArranged(Event):
    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    awb: Id
    previous_awb: Id | None = None
    courier: Id
    payment_type: PaymentType
    pickup_at: Timestamp | None = None


class PickupCancelPending(Event):
    aggregate_field: ClassVar[str | None] = "order_id"
    request_id: Id
    order_id: Id
    reason: Reason
    reason_code: Id | None = None
    origin: Origin
    requested_by: Actor


class OrderBilling(EventPart):
    """What an approval asked payment_svc to undo for the order: void its invoice, release the
    payments it used. Both empty: the order had nothing to void."""

    invoice_no: Id | None = None
    payment_nos: list[Id] = Field(default_factory=list)


class PickupCancelDecided(Event):
    """`billing` is set on an approval (absent on a rejection, and on approvals emitted before it
    existed: then nothing is known about the order's invoice)."""

    aggregate_field: ClassVar[str | None] = "order_id"
    request_id: Id
    order_id: Id
    decision: Decision
    reason: OptionalReason = None
    requested_reason: Reason
    decided_by: Actor
    decided_at: Timestamp
    voided_awb: Id | None = None
    requested_by: Actor
    billing: OrderBilling | None = None


class PickupStatusUpdated(Event):
    aggregate_field: ClassVar[str | None] = "order_id"
    order_id: Id
    awb: Id
    status: CourierStatus


COMMANDS: dict[str, type[Command]] = {
    "pickup.arrange": PickupArrange,
    "pickup.cancel.requested": PickupCancelRequested,
    "pickup.cancel.decide": PickupCancelDecide,
    "pickup.status": PickupStatus,
}

EVENTS: dict[str, type[Event]] = {
    "pickup.arranged": PickupArranged,
    "pickup.cancel.pending": PickupCancelPending,
    "pickup.cancel.decided": PickupCancelDecided,
    "pickup.status.updated": PickupStatusUpdated,
}
