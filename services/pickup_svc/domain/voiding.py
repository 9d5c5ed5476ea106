"""Approving a cancellation voids its airway bill at the courier, and that can fail.

On success the order is `pickup_cancelled` and payment_svc is asked to void the invoice and
release the payments. On failure the approval is recorded, the order is `void_failed` with the
courier's answer, and nothing else moves (no re-arranging, nothing asked of payment_svc) until an
admin retries the void (`pickup.void.retry`) or marks the bill voided by hand (`pickup.void.mark`).
The courier is a port passed in (`VoidBill`); this module does no IO itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from services.common.domain import Meta
from services.pickup_svc.domain.commands import MarkVoided, RetryVoid
from services.pickup_svc.domain.decision import Decision
from services.pickup_svc.domain.events import (
    CancelDecided,
    PaymentCommand,
    ReleasePayment,
    VoidFailed,
    VoidInvoice,
)
from services.pickup_svc.domain.model import (
    AirwayBill,
    BillStatus,
    CancelRequest,
    Order,
    OrderState,
)
from services.pickup_svc.domain.rules import (
    MAX_REASON_CHARS,
    Rejected,
    cannot_decide,
    find_order,
    required_reason,
)


@dataclass(frozen=True, slots=True)
class VoidOutcome:
    """The courier's answer to a void: done, or not, with what it said."""

    voided: bool
    answer: str = ""


VoidBill = Callable[[Order, AirwayBill], VoidOutcome]


def approve(
    order: Order, request: CancelRequest, meta: Meta, reason: str | None, void: VoidBill
) -> Decision | Rejected:
    """Record the approval by ``meta.actor`` and void the bill at the courier."""
    bill = order.active_bill
    if bill is None:  # cancel_pending always has a bill; refuse rather than emit a half approval
        return cannot_decide(order)
    approved = replace(
        request,
        decision="approve",
        decided_by=meta.actor,
        decision_reason=reason,
        decided_at=meta.at,
    )
    outcome = void(order, bill)
    if not outcome.voided:
        return _void_failed(order, approved, bill, outcome.answer)
    return _voided(order, approved, bill, at=meta.at)


def retry_void(
    order: Order | None, cmd: RetryVoid, meta: Meta, *, void: VoidBill
) -> Decision | Rejected:
    """An admin asks the courier again; it fails again (one more attempt) or the bill is void."""
    found = _void_failed_order(order, cmd.order_id, meta)
    if isinstance(found, Rejected):
        return found
    order, request, bill = found
    outcome = void(order, bill)
    if not outcome.voided:
        return _void_failed(order, request, bill, outcome.answer)
    return _voided(order, request, bill, at=meta.at, voided_by=meta.actor)


def mark_voided(order: Order | None, cmd: MarkVoided, meta: Meta) -> Decision | Rejected:
    """An admin records that the bill was voided outside lunas; the note says how."""
    found = _void_failed_order(order, cmd.order_id, meta)
    if isinstance(found, Rejected):
        return found
    order, request, bill = found
    note = required_reason(cmd.reason, "to mark an airway bill voided by hand, saying how")
    if isinstance(note, Rejected):
        return note
    return _voided(order, request, bill, at=meta.at, voided_by=meta.actor, note=note)


def _void_failed_order(
    order: Order | None, order_id: str, meta: Meta
) -> tuple[Order, CancelRequest, AirwayBill] | Rejected:
    found = find_order(order, order_id, meta.tenant_id)
    if isinstance(found, Rejected):
        return found
    request, bill = found.void_failed_request, found.active_bill
    if request is None or bill is None:
        return Rejected(
            "invalid_state",
            f"order {found.order_id} has no airway bill waiting to be voided "
            f"(it is {found.state.value.replace('_', ' ')})",
        )
    return found, request, bill


def _void_failed(order: Order, request: CancelRequest, bill: AirwayBill, answer: str) -> Decision:
    answer = (answer.strip() or "no answer from the courier")[:MAX_REASON_CHARS]
    failed = replace(request, void_error=answer, void_attempts=request.void_attempts + 1)
    stuck = replace(order.with_open_request(failed), state=OrderState.VOID_FAILED)
    event = VoidFailed(
        request_id=request.request_id,
        order_id=order.order_id,
        awb=bill.awb,
        courier=bill.courier,
        answer=answer,
        attempts=failed.void_attempts,
        approved_by=request.decided_by or "",
        requested_by=request.requested_by,
    )
    return Decision(stuck, (event,))


def _voided(
    order: Order,
    request: CancelRequest,
    bill: AirwayBill,
    *,
    at: datetime,
    voided_by: str | None = None,
    note: str | None = None,
) -> Decision:
    voided = replace(bill, status=BillStatus.VOIDED, voided_at=at)
    done = replace(request, voided_awb=bill.awb, voided_by=voided_by, void_note=note)
    cancelled = replace(
        order.with_active_bill(voided).with_open_request(done), state=OrderState.PICKUP_CANCELLED
    )
    event = CancelDecided(
        request_id=request.request_id,
        order_id=order.order_id,
        decision="approve",
        reason=request.decision_reason,
        requested_reason=request.reason,
        requested_by=request.requested_by,
        decided_by=request.decided_by or "",
        decided_at=request.decided_at or at,
        voided_awb=bill.awb,
        voided_by=voided_by,
        void_note=note,
    )
    return Decision(cancelled, (event,), payment_commands(order, done))


def payment_commands(order: Order, request: CancelRequest) -> tuple[PaymentCommand, ...]:
    """Seed 002: approving voids the order's invoice and puts its payments back to "unused"."""
    if order.invoice_no is None:
        return ()
    why = f"pickup of order {order.order_id} cancelled: {request.decision_reason or request.reason}"
    why = why[:MAX_REASON_CHARS]
    void: PaymentCommand = VoidInvoice(
        invoice_no=order.invoice_no, order_id=order.order_id, reason=why
    )
    releases = tuple(
        ReleasePayment(
            payment_no=payment_no, invoice_no=order.invoice_no, order_id=order.order_id, reason=why
        )
        for payment_no in order.payment_nos
    )
    return (void, *releases)
