"""Payment lifecycle commands: record, confirm (Pending), resolve (Active giro).

Cancelling is in ``cancelling``, a bounced giro in ``bouncing``.

Loading rules are in ``services``' docstring; import the functions from there.
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
    StatusChange,
    initial_status,
)
from services.payment_svc.domain.outcomes import Decision, Outcome, Rejected
from services.payment_svc.domain.rules import (
    add_allocations,
    already_exists,
    balances,
    blank,
    changed_invoices,
    check_lines,
    check_money,
    invoice_history,
    lines_of,
    move_payment_status,
    payment_not_found,
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
    history = [status_change(payment, None, status, meta), *invoice_history(before, after, meta)]
    return Decision(
        payments=(payment,),
        invoices=changed_invoices(before, after),
        events=(event,),
        history=tuple(history),
        allocation_changes=tuple(changes),
    )


def confirm_payment(
    payment: Payment | None, invoices: Mapping[str, Invoice], cmd: ConfirmPayment, meta: Meta
) -> Outcome:
    current = visible(payment, meta)
    if current is None:
        return payment_not_found(cmd.payment_no)
    if current.status != "pending":
        return wrong_status(current, "pending", "confirmed")
    target: PaymentStatus = "active" if current.method in CLEARING_METHODS else "completed"
    new, before, after, history = _transition(current, target, invoices, meta)
    event = PaymentConfirmed(
        **figures(new),
        method=new.method,
        previous_status=current.status,
        invoices=balances(after.values()),
    )
    return Decision(
        payments=(new,),
        invoices=changed_invoices(before, after),
        events=(event,),
        history=history,
    )


def resolve_payment(
    payment: Payment | None, invoices: Mapping[str, Invoice], cmd: ResolvePayment, meta: Meta
) -> Outcome:
    current = visible(payment, meta)
    if current is None:
        return payment_not_found(cmd.payment_no)
    if current.status != "active":
        return wrong_status(current, "active", "resolved")
    if cmd.resolved_date < current.payment_date:
        return Rejected(
            "invalid",
            f"resolved date {cmd.resolved_date} is before the payment date "
            f"{current.payment_date} of payment {current.payment_no}",
        )
    resolved = replace(current, resolved_date=cmd.resolved_date)
    new, before, after, history = _transition(resolved, "completed", invoices, meta)
    event = PaymentResolved(
        **figures(new),
        method=new.method,
        previous_status=current.status,
        payment_date=new.payment_date,
        resolved_date=cmd.resolved_date,
        invoices=balances(after.values()),
    )
    return Decision(
        payments=(new,),
        invoices=changed_invoices(before, after),
        events=(event,),
        history=history,
    )


def _transition(
    payment: Payment, target: PaymentStatus, invoices: Mapping[str, Invoice], meta: Meta
) -> tuple[Payment, dict[str, Invoice], dict[str, Invoice], tuple[StatusChange, ...]]:
    """Move a payment's status, re-deriving the invoices its allocations cover."""
    invoice_nos = [a.invoice_no for a in payment.allocations]
    before = require_invoices(payment.payment_no, invoice_nos, invoices, meta)
    after = dict(before)
    new = move_payment_status(payment, target, after)
    history = (
        status_change(new, payment.status, new.status, meta),
        *invoice_history(before, after, meta),
    )
    return new, before, after, history


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
