"""One pure function per pickup command: the current order in, a `Decision` or `Rejected` out.

The caller loads the order, supplies time, ids and new airway bill numbers (who may send each
command is its policy, ``domain.policy``, checked first), and
stores the decided order with its events and derived payment commands in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.common.domain import Meta
from services.pickup_svc.domain.commands import (
    ArrangePickup,
    DecideCancel,
    RequestCancel,
    UpdateStatus,
)
from services.pickup_svc.domain.decision import Decision
from services.pickup_svc.domain.events import (
    CancelDecided,
    CancelPending,
    PickupArranged,
    PickupEvent,
    StatusUpdated,
)
from services.pickup_svc.domain.model import (
    CANCEL_DECISIONS,
    CANCEL_ORIGINS,
    COURIER_STATUSES,
    PAYMENT_TYPES,
    AirwayBill,
    BillStatus,
    CancelOrigin,
    CancelRequest,
    Order,
    OrderState,
    PaymentType,
    new_order,
)
from services.pickup_svc.domain.rules import (
    MAX_REASON_CHARS,
    MAX_REASON_CODE_CHARS,
    RejectCode,
    Rejected,
    cannot_arrange,
    cannot_decide,
    cannot_move,
    cannot_request_cancel,
    check_id,
    clean_text,
    find_order,
    one_of,
    required_reason,
)
from services.pickup_svc.domain.voiding import VoidBill, approve

__all__ = [
    "COURIER_ACTOR",
    "COURIER_PICKED_UP_REASON",
    "Decision",
    "RejectCode",
    "Rejected",
    "arrange_pickup",
    "check_arrange",
    "decide_cancel",
    "reject",
    "request_cancel",
    "update_status",
]

# Who closes a pending cancellation when the courier picks the parcel up first, and why.
COURIER_ACTOR = "system:courier"
COURIER_PICKED_UP_REASON = "picked up by courier"

ARRANGEABLE = frozenset({OrderState.READY_TO_SHIP, OrderState.PICKUP_CANCELLED})

# States a courier status may follow. A repeat of the current status is ignored before this.
COURIER_STEPS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PICKED_UP: frozenset({OrderState.PICKUP_REQUESTED, OrderState.CANCEL_PENDING}),
    OrderState.IN_TRANSIT: frozenset({OrderState.PICKED_UP}),
    OrderState.DELIVERED: frozenset({OrderState.PICKED_UP, OrderState.IN_TRANSIT}),
}


def check_arrange(order: Order | None, cmd: ArrangePickup, meta: Meta) -> Rejected | None:
    """Every refusal `arrange_pickup` can give except about the bill itself.

    Call it before asking the courier gateway for a bill so a refused command wastes none.
    """
    if order is not None:
        found = find_order(order, cmd.order_id, meta.tenant_id)
        if isinstance(found, Rejected):
            return found
    for value, field in [(cmd.order_id, "order_id"), (cmd.courier, "courier")]:
        if refused := check_id(value, field):
            return refused
    if refused := one_of(cmd.payment_type, PAYMENT_TYPES, "payment_type"):
        return refused
    if refused := _check_payments(cmd):
        return refused
    if order is not None and order.state not in ARRANGEABLE:
        return cannot_arrange(order)
    return None


def arrange_pickup(
    order: Order | None, cmd: ArrangePickup, meta: Meta, *, awb: str
) -> Decision | Rejected:
    """Assign the new airway bill `awb` (from the courier gateway) and request the pickup."""
    if refused := check_arrange(order, cmd, meta):
        return refused
    if refused := check_id(awb, "airway bill"):
        return refused
    current = order if order is not None else new_order(meta.tenant_id, cmd.order_id)
    if current.knows_awb(awb):
        return Rejected("conflict", f"airway bill {awb} was already used for order {cmd.order_id}")
    previous = current.last_voided_bill
    payment_type: PaymentType = "cod" if cmd.payment_type == "cod" else "prepaid"
    bill = AirwayBill(awb=awb, courier=cmd.courier, status=BillStatus.ASSIGNED, assigned_at=meta.at)
    arranged = replace(
        current,
        state=OrderState.PICKUP_REQUESTED,
        courier=cmd.courier,
        payment_type=payment_type,
        invoice_no=cmd.invoice_no,
        payment_nos=tuple(cmd.payment_nos),
        pickup_at=cmd.pickup_at,
        airway_bills=(*current.airway_bills, bill),
    )
    event = PickupArranged(
        order_id=arranged.order_id,
        awb=awb,
        previous_awb=previous.awb if previous is not None else None,
        courier=cmd.courier,
        payment_type=payment_type,
    )
    return Decision(arranged, (event,))


def request_cancel(
    order: Order | None, cmd: RequestCancel, meta: Meta, *, request_id: str
) -> Decision | Rejected:
    """Record the seller's cancellation request; the order waits for an admin decision."""
    found = find_order(order, cmd.order_id, meta.tenant_id)
    if isinstance(found, Rejected):
        return found
    reason = required_reason(cmd.reason, "to cancel a pickup request")
    if isinstance(reason, Rejected):
        return reason
    reason_code = clean_text(cmd.reason_code, "reason_code", max_chars=MAX_REASON_CODE_CHARS)
    if isinstance(reason_code, Rejected):
        return reason_code
    if refused := one_of(cmd.origin, CANCEL_ORIGINS, "origin"):
        return refused
    if refused := check_id(request_id, "request_id"):
        return refused
    if found.knows_request(request_id):
        return Rejected(
            "conflict", f"cancellation request {request_id} already exists for {found.order_id}"
        )
    if found.state is not OrderState.PICKUP_REQUESTED:
        return cannot_request_cancel(found)
    origin: CancelOrigin = "invoice" if cmd.origin == "invoice" else "order"
    request = CancelRequest(
        request_id=request_id,
        reason=reason,
        reason_code=reason_code,
        origin=origin,
        requested_by=meta.actor,
        requested_at=meta.at,
    )
    pending = replace(
        found,
        state=OrderState.CANCEL_PENDING,
        cancel_requests=(*found.cancel_requests, request),
    )
    event = CancelPending(
        request_id=request_id,
        order_id=found.order_id,
        reason=reason,
        reason_code=reason_code,
        origin=origin,
        requested_by=meta.actor,
    )
    return Decision(pending, (event,))


def decide_cancel(
    order: Order | None,
    cmd: DecideCancel,
    meta: Meta,
    *,
    void: VoidBill,
) -> Decision | Rejected:
    """An admin approves (bill voided at the courier, invoice voided, payments released; or
    `void_failed` when the courier does not void it) or rejects. Who may is the command's
    policy (``domain.policy``), checked before this."""
    found = find_order(order, cmd.order_id, meta.tenant_id)
    if isinstance(found, Rejected):
        return found
    if refused := one_of(cmd.decision, CANCEL_DECISIONS, "decision"):
        return refused
    reason: str | Rejected | None
    if cmd.decision == "reject":
        reason = required_reason(cmd.reason, "to reject a cancellation, so the seller knows why")
    else:
        reason = clean_text(cmd.reason, "reason", max_chars=MAX_REASON_CHARS)
    if isinstance(reason, Rejected):
        return reason
    request = found.open_request
    if found.state is not OrderState.CANCEL_PENDING or request is None:
        return cannot_decide(found)
    if cmd.decision == "approve":
        return approve(found, request, meta, reason, void)
    rejected, event = reject(found, request, meta.actor, reason or "", meta.at)
    return Decision(rejected, (event,))


def update_status(order: Order | None, cmd: UpdateStatus, meta: Meta) -> Decision | Rejected:
    """Apply the courier's progress; a status for a voided, old or unknown bill changes nothing."""
    found = find_order(order, cmd.order_id, meta.tenant_id)
    if isinstance(found, Rejected):
        return found
    if refused := one_of(cmd.status, COURIER_STATUSES, "status"):
        return refused
    if refused := check_id(cmd.awb, "airway bill"):
        return refused
    bill = found.active_bill
    target = OrderState(cmd.status)
    # Couriers resend and report on bills that were voided since: accept, change nothing.
    if bill is None or bill.awb != cmd.awb or found.state is target:
        return Decision(found)
    if found.state not in COURIER_STEPS[target]:
        return cannot_move(found, cmd.status)
    events: list[PickupEvent] = []
    current = found
    request = found.open_request
    if request is not None:
        # The parcel is with the courier: the cancellation can no longer happen, so the request
        # is closed as rejected and the seller is told why, like any other rejection.
        current, closed = reject(current, request, COURIER_ACTOR, COURIER_PICKED_UP_REASON, meta.at)
        events.append(closed)
    moved = replace(
        current.with_active_bill(replace(bill, status=BillStatus(cmd.status))), state=target
    )
    events.append(StatusUpdated(order_id=found.order_id, awb=bill.awb, status=cmd.status))
    return Decision(moved, tuple(events))


def reject(
    order: Order, request: CancelRequest, decided_by: str, reason: str, at: datetime
) -> tuple[Order, CancelDecided]:
    closed = replace(
        request, decision="reject", decided_by=decided_by, decision_reason=reason, decided_at=at
    )
    resumed = replace(order.with_open_request(closed), state=OrderState.PICKUP_REQUESTED)
    event = CancelDecided(
        request_id=request.request_id,
        order_id=order.order_id,
        decision="reject",
        reason=reason,
        requested_reason=request.reason,
        requested_by=request.requested_by,
        decided_by=decided_by,
        decided_at=at,
        voided_awb=None,
    )
    return resumed, event


def _check_payments(cmd: ArrangePickup) -> Rejected | None:
    if cmd.invoice_no is not None and (refused := check_id(cmd.invoice_no, "invoice_no")):
        return refused
    for payment_no in cmd.payment_nos:
        if refused := check_id(payment_no, "payment_no"):
            return refused
    if len(set(cmd.payment_nos)) != len(cmd.payment_nos):
        return Rejected("invalid", "payment_nos lists the same payment more than once")
    if cmd.payment_nos and cmd.invoice_no is None:
        # payment_svc releases a payment from an invoice; without one there is nothing to undo.
        return Rejected("invalid", "invoice_no is required when the order used payments")
    return None
