"""Commands that move money between payments and invoices: allocate, release, void invoice.

What each command loads, and the payment's lookup, are declared in ``handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.common.domain import Meta
from services.payment_svc.domain.commands import (
    AllocatePayment,
    AllocationLine,
    ReleasePayment,
    VoidInvoice,
)
from services.payment_svc.domain.events import (
    Event,
    InvoiceVoided,
    PaymentAllocated,
    PaymentReleased,
    figures,
)
from services.payment_svc.domain.model import (
    CLOSED_STATUSES,
    ZERO,
    AllocationChange,
    Invoice,
    Payment,
)
from services.payment_svc.domain.outcomes import NO_CHANGE, Decision, Moved, Outcome, Rejected
from services.payment_svc.domain.rules import (
    IncompleteLoad,
    add_allocations,
    balances,
    check_lines,
    invoice_history,
    label,
    release_allocations,
    require_invoices,
    status_change,
    visible,
)


def allocate_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: AllocatePayment, meta: Meta
) -> Outcome:
    if current.status in CLOSED_STATUSES:
        return Rejected(
            "invalid_state",
            f"payment {current.payment_no} is {label(current.status)}; it cannot be allocated",
        )
    if not cmd.allocations:
        return Rejected("invalid", "no allocations given")
    bad = check_lines(
        cmd.allocations,
        invoices,
        meta,
        payment_no=current.payment_no,
        customer_id=current.customer_id,
        currency=current.currency,
        credit=current.unallocated,
    )
    if bad is not None:
        return bad
    before = require_invoices(
        current.payment_no, [line.invoice_no for line in cmd.allocations], invoices, meta
    )
    after = dict(before)
    new, changes = add_allocations(current, after, cmd.allocations, meta)
    event = PaymentAllocated(
        **figures(new),
        allocations=tuple(AllocationLine(c.invoice_no, c.amount) for c in changes),
        invoices=balances(after.values()),
    )
    history = tuple(invoice_history(before, after, meta))
    return Moved(new, history, before, after, changes=tuple(changes)).decision(event)


def release_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: ReleasePayment, meta: Meta
) -> Outcome:
    """Release the payment's allocation to one invoice; none left is accepted with no change.

    "None left" covers an invoice voided first, a payment cancelled first, and duplicates: that
    is what makes release commute with ``invoice.void`` and with itself.
    """
    if current.allocation_to(cmd.invoice_no) is None:
        return NO_CHANGE
    before = require_invoices(current.payment_no, [cmd.invoice_no], invoices, meta)
    wrong_order = _not_of_order(before[cmd.invoice_no], cmd.order_id)
    if wrong_order is not None:
        return wrong_order
    after = dict(before)
    new, released, changes = release_allocations(current, [cmd.invoice_no], after, meta, cmd.reason)
    event = _released_event(new, released, cmd.reason, after[cmd.invoice_no])
    history = tuple(invoice_history(before, after, meta, cmd.reason))
    return Moved(new, history, before, after, changes=tuple(changes)).decision(event)


def _not_of_order(invoice: Invoice, order_id: str | None) -> Rejected | None:
    """A void or release on behalf of an order may touch only that order's invoice."""
    if order_id is None or invoice.order_id == order_id:
        return None
    linked = f"order {invoice.order_id}" if invoice.order_id else "no order"
    return Rejected(
        "invalid",
        f"invoice {invoice.invoice_no} belongs to {linked}, not to order {order_id}; "
        "it is not voided or released for that order",
    )


def void_invoice(
    invoice: Invoice | None, payments: Mapping[str, Payment], cmd: VoidInvoice, meta: Meta
) -> Outcome:
    """Void the invoice and release every allocation to it; voiding a void invoice is a no-op.

    The no-op (rather than ``invalid_state``) keeps void idempotent and commuting with
    ``payment.release`` whatever command ids the duplicates carry.
    """
    current = visible(invoice, meta)
    if current is None:
        return Rejected("not_found", f"invoice {cmd.invoice_no} not found")
    wrong_order = _not_of_order(current, cmd.order_id)
    if wrong_order is not None:
        return wrong_order
    if current.voided:
        return NO_CHANGE
    holders = _holders(current, payments, meta)
    work = {current.invoice_no: current}
    released_by: list[tuple[Payment, list[AllocationLine]]] = []
    changes: list[AllocationChange] = []
    for holder in holders:
        new, released, made = release_allocations(
            holder, [current.invoice_no], work, meta, cmd.reason
        )
        released_by.append((new, released))
        changes.extend(made)
    voided = replace(
        work[current.invoice_no], voided=True, voided_at=meta.at, void_reason=cmd.reason
    )
    events: list[Event] = [
        InvoiceVoided(
            invoice_no=voided.invoice_no,
            customer_id=voided.customer_id,
            amount=voided.amount,
            outstanding=voided.outstanding,
            status=voided.status,
            previous_status=current.status,
            order_id=voided.order_id,
            reason=cmd.reason,
            released_payments=tuple(p.payment_no for p in holders),
        ),
        *(_released_event(p, lines, cmd.reason, voided) for p, lines in released_by),
    ]
    history = status_change(voided, current.status, voided.status, meta, reason=cmd.reason)
    return Decision(
        payments=tuple(p for p, _ in released_by),
        invoices=(voided,),
        events=tuple(events),
        history=(history,),
        allocation_changes=tuple(changes),
    )


def _holders(invoice: Invoice, payments: Mapping[str, Payment], meta: Meta) -> list[Payment]:
    """Payments with a live allocation to ``invoice``; checks the caller loaded all of them."""
    holders = [
        p
        for p in (visible(p, meta) for p in payments.values())
        if p is not None and p.allocation_to(invoice.invoice_no) is not None
    ]
    holders.sort(key=lambda p: p.payment_no)
    found = sum((p.amount_to(invoice.invoice_no) for p in holders), ZERO)
    if found != invoice.allocated:
        raise IncompleteLoad(
            f"invoice {invoice.invoice_no} has {invoice.allocated} allocated but the payments "
            f"passed hold {found}: load every payment allocated to it"
        )
    return holders


def _released_event(
    payment: Payment, released: list[AllocationLine], reason: str | None, invoice: Invoice
) -> PaymentReleased:
    return PaymentReleased(
        **figures(payment),
        reason=reason,
        released=tuple(released),
        invoices=balances([invoice]),
    )
