"""Cancelling a payment, with four eyes on large ones: cancel, approve, reject.

Cancelling a Completed payment at or above the tenant's approval amount (``ApprovalAmounts``)
does not cancel it: it becomes ``cancel_requested`` and waits for a second payment admin. While
it waits its money stays where it was (its allocations still settle the invoices); approval
cancels it as a direct cancel would (allocations reversed, invoices owed again), rejection makes
it Completed again. The policy refuses a decision by the admin who asked. What each loads is
declared in ``handlers`` (approve and reject load what cancel loads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from services.common.domain import Meta
from services.payment_svc.domain.commands import (
    ApproveCancel,
    CancelPayment,
    RejectCancel,
)
from services.payment_svc.domain.events import (
    PaymentCancelled,
    PaymentCancelRejected,
    PaymentCancelRequested,
    figures,
)
from services.payment_svc.domain.model import (
    CANCEL_REASON_CODES,
    CLOSED_STATUSES,
    CancelReasonCode,
    Invoice,
    Payment,
    PaymentStatus,
)
from services.payment_svc.domain.outcomes import Moved, Outcome, Rejected
from services.payment_svc.domain.rules import (
    balances,
    invoice_history,
    label,
    move_payment_status,
    release_allocations,
    require_invoices,
    status_change,
    wrong_status,
)


def close_payment(
    current: Payment,
    to: PaymentStatus,
    invoices: Mapping[str, Invoice],
    meta: Meta,
    *,
    reason: str | None,
    reason_code: CancelReasonCode | None,
    closed: Payment | None = None,
) -> Moved:
    """Reverse every allocation of ``current`` and move it to ``to``; ``closed`` is ``current``
    with the fields the closing sets (reason, bank charge …) already in place."""
    before = require_invoices(
        current.payment_no, [a.invoice_no for a in current.allocations], invoices, meta
    )
    after = dict(before)
    # Reverse allocations first, while the status still says whether they had settled invoices.
    emptied, released, changes = release_allocations(current, before, after, meta, reason)
    new = move_payment_status(
        replace(closed or current, allocations=emptied.allocations), to, after
    )
    history = (
        status_change(new, current.status, to, meta, reason=reason, reason_code=reason_code),
        *invoice_history(before, after, meta, reason),
    )
    return Moved(new, history, before, after, tuple(released), tuple(changes))


def cancel_payment(
    current: Payment,
    invoices: Mapping[str, Invoice],
    cmd: CancelPayment,
    meta: Meta,
    approval_amount: Decimal | None = None,
) -> Outcome:
    """Cancel, or (Completed, amount ≥ ``approval_amount``) ask a second admin to approve."""
    if current.status in CLOSED_STATUSES:
        return Rejected(
            "invalid_state", f"payment {current.payment_no} is already {label(current.status)}"
        )
    if current.status == "cancel_requested":
        return Rejected(
            "invalid_state",
            f"payment {current.payment_no} already waits for another admin to approve its "
            f"cancellation (asked by {current.cancel_requested_by})",
        )
    if cmd.reason_code is not None and cmd.reason_code not in CANCEL_REASON_CODES:
        return Rejected("invalid", f"unknown cancellation reason code {cmd.reason_code!r}")
    if (
        current.status == "completed"
        and approval_amount is not None
        and current.amount >= approval_amount
    ):
        return _request_cancel(current, cmd, meta, approval_amount)
    cancelled = replace(current, cancel_reason_code=cmd.reason_code, cancel_reason=cmd.reason)
    closing = close_payment(
        current,
        "cancelled",
        invoices,
        meta,
        reason=cmd.reason,
        reason_code=cmd.reason_code,
        closed=cancelled,
    )
    return closing.decision(_cancelled_event(current, closing, cmd.reason_code, cmd.reason))


def approve_cancel(
    current: Payment, invoices: Mapping[str, Invoice], cmd: ApproveCancel, meta: Meta
) -> Outcome:
    """The second admin approves: the payment is cancelled with the reason it was asked for."""
    if current.status != "cancel_requested":
        return _nothing_to_decide(current)
    closing = close_payment(
        current,
        "cancelled",
        invoices,
        meta,
        reason=cmd.reason or current.cancel_reason,
        reason_code=current.cancel_reason_code,
    )
    event = _cancelled_event(
        current,
        closing,
        current.cancel_reason_code,
        current.cancel_reason,
        requested_by=current.cancel_requested_by,
        approval_reason=cmd.reason,
    )
    return closing.decision(event)


def reject_cancel(
    current: Payment, invoices: Mapping[str, Invoice], cmd: RejectCancel, meta: Meta
) -> Outcome:
    """The second admin refuses: Completed again, nothing moved; the history keeps the request."""
    if current.status != "cancel_requested":
        return _nothing_to_decide(current)
    requested_by = current.cancel_requested_by or ""
    new = replace(
        current,
        status="completed",
        cancel_reason_code=None,
        cancel_reason=None,
        cancel_requested_by=None,
    )
    event = PaymentCancelRejected(
        **figures(new),
        previous_status=current.status,
        reason=cmd.reason,
        requested_by=requested_by,
        requested_reason=current.cancel_reason,
    )
    history = status_change(new, current.status, new.status, meta, reason=cmd.reason)
    return Moved(new, (history,)).decision(event)


def _request_cancel(
    current: Payment, cmd: CancelPayment, meta: Meta, approval_amount: Decimal
) -> Outcome:
    new = replace(
        current,
        status="cancel_requested",
        cancel_reason_code=cmd.reason_code,
        cancel_reason=cmd.reason,
        cancel_requested_by=meta.actor,
    )
    event = PaymentCancelRequested(
        **figures(new),
        previous_status=current.status,
        reason_code=cmd.reason_code,
        reason=cmd.reason,
        requested_by=meta.actor,
        approval_amount=approval_amount,
    )
    history = status_change(
        new, current.status, new.status, meta, reason=cmd.reason, reason_code=cmd.reason_code
    )
    return Moved(new, (history,)).decision(event)


def _cancelled_event(
    current: Payment,
    closing: Moved,
    reason_code: CancelReasonCode | None,
    reason: str | None,
    *,
    requested_by: str | None = None,
    approval_reason: str | None = None,
) -> PaymentCancelled:
    new = closing.payment
    return PaymentCancelled(
        **figures(new),
        previous_status=current.status,
        reason_code=reason_code,
        reason=reason,
        released=closing.released,
        invoices=balances(closing.after.values()),
        requested_by=requested_by,
        approval_reason=approval_reason,
    )


def _nothing_to_decide(current: Payment) -> Rejected:
    return wrong_status(current, "cancel_requested", "approved or rejected")
