"""The pickup aggregate: an order with its airway bills and cancellation requests, kept as history.

Values are immutable; the service functions return a new `Order` instead of mutating one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

PaymentType = Literal["cod", "prepaid"]
CancelOrigin = Literal["order", "invoice"]
CancelDecision = Literal["approve", "reject"]
CourierStatus = Literal["picked_up", "in_transit", "delivered"]

PAYMENT_TYPES: frozenset[str] = frozenset({"cod", "prepaid"})
CANCEL_ORIGINS: frozenset[str] = frozenset({"order", "invoice"})
CANCEL_DECISIONS: frozenset[str] = frozenset({"approve", "reject"})
COURIER_STATUSES: frozenset[str] = frozenset({"picked_up", "in_transit", "delivered"})


class OrderState(StrEnum):
    """Where an order is in its shipping life; values are the wire/database spelling."""

    READY_TO_SHIP = "ready_to_ship"
    PICKUP_REQUESTED = "pickup_requested"
    CANCEL_PENDING = "cancel_pending"
    # Approved, but the courier did not void the bill: nothing moves until an admin retries the
    # void or marks the bill voided by hand.
    VOID_FAILED = "void_failed"
    PICKUP_CANCELLED = "pickup_cancelled"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"


# Once the courier holds the parcel the seller can no longer cancel the pickup.
WITH_COURIER: frozenset[OrderState] = frozenset(
    {OrderState.PICKED_UP, OrderState.IN_TRANSIT, OrderState.DELIVERED}
)


class BillStatus(StrEnum):
    """Status of one airway bill (resi); `voided` is final."""

    ASSIGNED = "assigned"
    VOIDED = "voided"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"


@dataclass(frozen=True, slots=True)
class AirwayBill:
    """One airway bill the courier issued for the order; a voided bill stays in the history."""

    awb: str
    courier: str
    status: BillStatus
    assigned_at: datetime
    voided_at: datetime | None = None

    @property
    def is_void(self) -> bool:
        return self.status is BillStatus.VOIDED


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """A seller's request to cancel the pickup, and the decision on it once taken."""

    request_id: str
    reason: str
    reason_code: str | None
    origin: CancelOrigin
    requested_by: str
    requested_at: datetime
    decision: CancelDecision | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    voided_awb: str | None = None
    # The decision deadline's steps, once taken (services/pickup_svc/domain/deadline.py).
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    # The courier's last answer to a void that failed, how many failed, and who got the bill
    # voided afterwards (a retry, or by hand with a note).
    void_error: str | None = None
    void_attempts: int = 0
    voided_by: str | None = None
    void_note: str | None = None

    @property
    def is_open(self) -> bool:
        return self.decision is None


@dataclass(frozen=True, slots=True)
class Order:
    """An order as pickup_svc sees it. `airway_bills` and `cancel_requests` are oldest first."""

    tenant_id: str
    order_id: str
    state: OrderState
    courier: str | None = None
    payment_type: PaymentType | None = None
    invoice_no: str | None = None
    payment_nos: tuple[str, ...] = ()
    pickup_at: datetime | None = None
    airway_bills: tuple[AirwayBill, ...] = ()
    cancel_requests: tuple[CancelRequest, ...] = ()

    @property
    def active_bill(self) -> AirwayBill | None:
        """The bill the courier works with now; None before arranging and after a cancellation."""
        if not self.airway_bills or self.airway_bills[-1].is_void:
            return None
        return self.airway_bills[-1]

    @property
    def last_voided_bill(self) -> AirwayBill | None:
        voided = [bill for bill in self.airway_bills if bill.is_void]
        return voided[-1] if voided else None

    @property
    def open_request(self) -> CancelRequest | None:
        open_requests = [req for req in self.cancel_requests if req.is_open]
        return open_requests[-1] if open_requests else None

    @property
    def void_failed_request(self) -> CancelRequest | None:
        """The approved request whose bill the courier did not void (state `void_failed`)."""
        if self.state is not OrderState.VOID_FAILED or not self.cancel_requests:
            return None
        return self.cancel_requests[-1]

    def knows_awb(self, awb: str) -> bool:
        return any(bill.awb == awb for bill in self.airway_bills)

    def knows_request(self, request_id: str) -> bool:
        return any(req.request_id == request_id for req in self.cancel_requests)

    def with_active_bill(self, bill: AirwayBill) -> Order:
        """Replace the last (active) bill by an updated copy of it."""
        return replace(self, airway_bills=(*self.airway_bills[:-1], bill))

    def with_open_request(self, request: CancelRequest) -> Order:
        """Replace the request of the same id by ``request``; other requests are history."""
        requests = tuple(
            request if req.request_id == request.request_id else req for req in self.cancel_requests
        )
        return replace(self, cancel_requests=requests)


def new_order(tenant_id: str, order_id: str) -> Order:
    """An order that is ready to ship and has never had a pickup arranged."""
    return Order(tenant_id=tenant_id, order_id=order_id, state=OrderState.READY_TO_SHIP)
