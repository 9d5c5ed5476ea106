"""Payment lifecycle commands: record, confirm (Pending), resolve (Active giro).

Cancelling is in ``cancelling``, a bounced giro in ``bouncing``.

What each command loads, and the payment's lookup, are declared in ``handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.common.domain import Meta
from services.payment_svc.domain.commands import (
    ConfirmPayment,
    RecordPayment,
    ResolvePayment,
)
from services.payment_svc.domain.events import (
    PaymentConfirmed,
    PaymentRecorded,
    PaymentResolved,
    figures,
)
from services.payment_svc.domain.model import (
    CENT,
    CHANNELS,
    CLEARING_METHODS,
    PAYMENT_METHODS,
    Invoice,
    Payment,
    PaymentStatus,
    initial_status,
)
from services.payment_svc.domain.outcomes import Moved, Outcome, Rejected
from services.payment_svc.domain.rules import (
    add_allocations,
    already_exists,
    balances,
    blank,
    check_lines,
    check_money,
    invoice_history,
    lines_of,
    move_payment_status,
    require_invoices,
    status_change,
    visible,
    wrong_status,
)


def record_payment(
    existing: Payment | None, invoices: Mapping[str, Invoice], cmd: RecordPayment, meta: Meta
) -> Outcome:
    current = visible(existing, meta)
    if current is not None:
        return already_exists("payment", cmd.payment_no, current.recorded_by, meta)
    bad = _check_record(cmd) or check_lines(
        cmd.allocations,
        invoices,
        meta,
        payment_no=cmd.payment_no,
        customer_id=cmd.customer_id,
        currency=cmd.currency,
        credit=cmd.amount,
    )
    if bad is not None:
        return bad
    status = initial_status(cmd.channel, cmd.method)
    fresh = Payment(
        tenant_id=meta.tenant_id,
        payment_no=cmd.payment_no,
        customer_id=cmd.customer_id,
        method=cmd.method,
        channel=cmd.channel,
        amount=cmd.amount.quantize(CENT),
        currency=cmd.currency,
        payment_date=cmd.payment_date,
        status=status,
        giro=cmd.giro,
        bank_account=cmd.bank_account,
        collector_id=cmd.collector_id,
        recorded_by=meta.command_id,
        customer_name=cmd.customer_name,
        recorded_actor=meta.actor,
    )
    before = require_invoices(
        cmd.payment_no, [line.invoice_no for line in cmd.allocations], invoices, meta
    )
    after = dict(before)
    payment, changes = add_allocations(fresh, after, cmd.allocations, meta)
    event = PaymentRecorded(
        **figures(payment),
        method=payment.method,
        channel=payment.channel,
        currency=payment.currency,
        payment_date=payment.payment_date,
        giro=payment.giro,
        bank_account=payment.bank_account,
        collector_id=payment.collector_id,
        allocations=lines_of(payment),
        invoices=balances(after.values()),
    )
    history = (status_change(payment, None, status, meta), *invoice_history(before, after, meta))
    return Moved(payment, history, before, after, changes=tuple(changes)).decision(event)


def confirm_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: ConfirmPayment, meta: Meta
) -> Outcome:
    if current.status != "pending":
        return wrong_status(current, "pending", "confirmed")
    target: PaymentStatus = "active" if current.method in CLEARING_METHODS else "completed"
    moved = _transition(current, target, invoices, meta)
    event = PaymentConfirmed(
        **figures(moved.payment),
        method=current.method,
        previous_status=current.status,
        invoices=balances(moved.after.values()),
    )
    return moved.decision(event)


def resolve_payment(
    current: Payment, invoices: Mapping[str, Invoice], cmd: ResolvePayment, meta: Meta
) -> Outcome:
    if current.status != "active":
        return wrong_status(current, "active", "resolved")
    if cmd.resolved_date < current.payment_date:
        return Rejected(
            "invalid",
            f"resolved date {cmd.resolved_date} is before the payment date "
            f"{current.payment_date} of payment {current.payment_no}",
        )
    resolved = replace(current, resolved_date=cmd.resolved_date)
    moved = _transition(resolved, "completed", invoices, meta)
    event = PaymentResolved(
        **figures(moved.payment),
        method=current.method,
        previous_status=current.status,
        payment_date=current.payment_date,
        resolved_date=cmd.resolved_date,
        invoices=balances(moved.after.values()),
    )
    return moved.decision(event)


def _transition(
    payment: Payment, target: PaymentStatus, invoices: Mapping[str, Invoice], meta: Meta
) -> Moved:
    """Move a payment's status, re-deriving the invoices its allocations cover."""
    invoice_nos = [a.invoice_no for a in payment.allocations]
    before = require_invoices(payment.payment_no, invoice_nos, invoices, meta)
    after = dict(before)
    new = move_payment_status(payment, target, after)
    history = (
        status_change(new, payment.status, new.status, meta),
        *invoice_history(before, after, meta),
    )
    return Moved(new, history, before, after)


def _check_record(cmd: RecordPayment) -> Rejected | None:
    bad = blank(payment_no=cmd.payment_no, customer_id=cmd.customer_id)
    bad = bad or check_money(cmd.amount, "payment amount")
    if bad is not None:
        return bad
    if cmd.method not in PAYMENT_METHODS:
        return Rejected("invalid", f"unknown payment method {cmd.method!r}")
    if cmd.channel not in CHANNELS:
        return Rejected("invalid", f"unknown channel {cmd.channel!r}")
    if cmd.method in CLEARING_METHODS and cmd.giro is None:
        return Rejected(
            "invalid", f"a {cmd.method} payment needs the giro number, bank and due date"
        )
    if cmd.method not in CLEARING_METHODS and cmd.giro is not None:
        return Rejected("invalid", f"giro details do not apply to a {cmd.method} payment")
    return None
